//! PostgreSQL clusters of the tests' own (never the shared server): `initdb` in a temporary
//! directory, password authentication, a free port; replicas by `pg_basebackup -R`, or, for
//! the packaged versions that ship no `pg_basebackup`, from a copy of the stopped primary.
//! Debian's server by default; any version of `scripts/pg-versions` with [`Cluster::of`].

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use testkit::pg::DataDir;

/// The superuser password of every test cluster.
pub const PASSWORD: &str = "Cluster-Pw-42";

/// A running (or stopped) cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    data: DataDir,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    child: Option<Child>,
    /// `-c name=value` settings besides the defaults of [`Cluster::start`].
    settings: Vec<(String, String)>,
}

/// How to make a primary: which binaries, which `initdb` flags, which settings.
#[derive(Default)]
pub struct Spec {
    /// The server binaries (`None`: Debian's).
    pub bin: Option<PathBuf>,
    /// More `initdb` arguments (e.g. `--data-checksums`).
    pub initdb: Vec<String>,
    /// More server settings.
    pub settings: Vec<(String, String)>,
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    fn empty(bin: Option<PathBuf>, settings: Vec<(String, String)>) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let port = testkit::free_port();
        let mut data = DataDir::new(dir.path(), "data", port).unwrap();
        if let Some(bin) = bin {
            data = data.with_bin_dir(bin);
        }
        Cluster {
            dir,
            data,
            port,
            child: None,
            settings,
        }
    }

    /// A new primary of Debian's PostgreSQL with scram-sha-256 authentication, started.
    pub async fn primary() -> Cluster {
        Cluster::of(Spec::default()).await
    }

    /// A new primary as `spec` says, with scram-sha-256 authentication, started.
    pub async fn of(spec: Spec) -> Cluster {
        let mut cluster = Cluster::empty(spec.bin, spec.settings);
        let pwfile = cluster.dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        cluster.data.give(&pwfile).unwrap();
        let mut args = vec![format!("--pwfile={}", pwfile.display())];
        args.extend(spec.initdb);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&mut cluster.data.initdb("scram-sha-256", &args), "initdb");
        cluster.start().await;
        cluster
    }

    /// A file in the cluster's temporary directory (not the data directory), readable by
    /// the server: for certificates and keys.
    pub fn private_file(&self, name: &str, contents: &[u8]) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        self.data.give(&path).unwrap();
        path
    }

    /// Adds settings for the next [`Cluster::start`].
    pub fn set(&mut self, settings: &[(&str, &str)]) {
        self.settings
            .extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    }

    /// A streaming replica made from a copy of this cluster's data directory taken while it
    /// is stopped (a consistent base backup without `pg_basebackup`), both started.
    pub async fn replica_by_copy(&mut self) -> Cluster {
        let mut replica = Cluster::empty(self.data.bin().map(PathBuf::from), self.settings.clone());
        self.stop();
        run(
            replica
                .data
                .command("cp")
                .arg("-a")
                .arg(&self.data.data)
                .arg(&replica.data.data),
            "copying the data directory",
        );
        self.start().await;
        let signal = replica.data.data.join("standby.signal");
        std::fs::write(&signal, "").unwrap();
        replica.data.give(&signal).unwrap();
        use std::io::Write as _;
        let mut auto = std::fs::OpenOptions::new()
            .append(true)
            .open(replica.data.data.join("postgresql.auto.conf"))
            .unwrap();
        writeln!(
            auto,
            "primary_conninfo = 'host=127.0.0.1 port={} user=postgres password={PASSWORD} application_name=replica'",
            self.port
        )
        .unwrap();
        replica.start().await;
        replica
    }

    /// A streaming replica of this cluster, made by `pg_basebackup -R`, started.
    pub async fn replica(&self) -> Cluster {
        let basebackup = testkit::require_bin("pg_basebackup", "apt-get install -y postgresql");
        let mut replica = Cluster::empty(None, self.settings.clone());
        run(
            replica
                .data
                .command(basebackup)
                .arg("-D")
                .arg(&replica.data.data)
                .args(["-R", "-X", "stream", "-h", "127.0.0.1", "-U", "postgres"])
                .args(["-p", &self.port.to_string()])
                .env("PGPASSWORD", PASSWORD),
            "pg_basebackup",
        );
        replica.start().await;
        replica
    }

    /// A URL for `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgresql://postgres:{PASSWORD}@127.0.0.1:{}/{db}",
            self.port
        )
    }

    /// Starts the server and waits until it accepts connections.
    pub async fn start(&mut self) {
        let mut settings = vec![
            ("max_connections", "20"),
            ("shared_buffers", "16MB"),
            ("max_wal_senders", "4"),
        ];
        settings.extend(self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let child = self
            .data
            .server(&settings)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        testkit::pg::wait_accepting(&self.url("postgres"), Duration::from_secs(30), || Ok(()))
            .await
            .expect("the test cluster starts");
    }

    /// Fast shutdown (SIGINT), waiting for the server to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
