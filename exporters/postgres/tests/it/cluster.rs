//! PostgreSQL clusters of the tests' own (never the shared server): `initdb` in a temporary
//! directory, password authentication, a free port; replicas by `pg_basebackup -R`.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

/// The superuser password of every test cluster.
pub const PASSWORD: &str = "Cluster-Pw-42";

/// A running (or stopped) cluster.
pub struct Cluster {
    _dir: tempfile::TempDir,
    data: PathBuf,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    owner: Option<(u32, u32)>,
    child: Option<Child>,
}

fn id(args: &[&str]) -> u32 {
    let out = Command::new("id").args(args).output().expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("numeric id")
}

/// When running as root, PostgreSQL must run as `postgres`.
fn owner() -> Option<(u32, u32)> {
    (id(&["-u"]) == 0).then(|| (id(&["-u", "postgres"]), id(&["-g", "postgres"])))
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
    fn empty() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let owner = owner();
        let data = dir.path().join("data");
        if let Some((uid, gid)) = owner {
            run(
                Command::new("chown")
                    .arg(format!("{uid}:{gid}"))
                    .arg(dir.path()),
                "chown",
            );
        }
        Cluster {
            _dir: dir,
            data,
            port: testkit::free_port(),
            owner,
            child: None,
        }
    }

    fn command(&self, bin: PathBuf) -> Command {
        let mut cmd = Command::new(bin);
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// A new primary with scram-sha-256 authentication, started.
    pub async fn primary() -> Cluster {
        let initdb = testkit::require_bin("initdb", "apt-get install -y postgresql");
        let cluster = Cluster::empty();
        let pwfile = cluster._dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if let Some((uid, gid)) = cluster.owner {
            run(
                Command::new("chown")
                    .arg(format!("{uid}:{gid}"))
                    .arg(&pwfile),
                "chown",
            );
        }
        run(
            cluster
                .command(initdb)
                .arg("-D")
                .arg(&cluster.data)
                .args([
                    "-U",
                    "postgres",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-sync",
                ])
                .arg(format!("--pwfile={}", pwfile.display())),
            "initdb",
        );
        let mut cluster = cluster;
        cluster.start().await;
        cluster
    }

    /// A streaming replica of this cluster, made by `pg_basebackup -R`, started.
    pub async fn replica(&self) -> Cluster {
        let basebackup = testkit::require_bin("pg_basebackup", "apt-get install -y postgresql");
        let mut replica = Cluster::empty();
        run(
            replica
                .command(basebackup)
                .arg("-D")
                .arg(&replica.data)
                .args([
                    "-R",
                    "-X",
                    "stream",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                ])
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
        let postgres = testkit::require_bin("postgres", "apt-get install -y postgresql");
        let child = self
            .command(postgres)
            .arg("-D")
            .arg(&self.data)
            .args([
                "-p",
                &self.port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.data.display()))
            .args([
                "-c",
                "max_connections=20",
                "-c",
                "shared_buffers=16MB",
                "-c",
                "max_wal_senders=4",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
            .await
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the test cluster did not start in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
