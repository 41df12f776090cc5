//! PostgreSQL clusters of the tests' own (never the shared server): `initdb` in a temporary
//! directory, password authentication, a free port; replicas by `pg_basebackup -R`.

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
        let port = testkit::free_port();
        let data = DataDir::new(dir.path(), "data", port).unwrap();
        Cluster {
            dir,
            data,
            port,
            child: None,
        }
    }

    /// A new primary with scram-sha-256 authentication, started.
    pub async fn primary() -> Cluster {
        let mut cluster = Cluster::empty();
        let pwfile = cluster.dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        cluster.data.give(&pwfile).unwrap();
        run(
            &mut cluster.data.initdb(
                "scram-sha-256",
                &[&format!("--pwfile={}", pwfile.display())],
            ),
            "initdb",
        );
        cluster.start().await;
        cluster
    }

    /// A streaming replica of this cluster, made by `pg_basebackup -R`, started.
    pub async fn replica(&self) -> Cluster {
        let basebackup = testkit::require_bin("pg_basebackup", "apt-get install -y postgresql");
        let mut replica = Cluster::empty();
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
        let child = self
            .data
            .server(&[
                ("max_connections", "20"),
                ("shared_buffers", "16MB"),
                ("max_wal_senders", "4"),
            ])
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
