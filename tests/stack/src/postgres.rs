//! A PostgreSQL cluster of the stack's own: `initdb` in the stack's directory, on its own port,
//! run by the supervisor, so a test can stop and start it without touching the machine's
//! shared server.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use crate::supervisor::Supervisor;

/// The supervisor name of the stack's PostgreSQL.
pub const NAME: &str = "postgres";

/// An initialised cluster directory and the port it serves on.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The data directory.
    pub data: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// `(uid, gid)` of the `postgres` user when running as root (PostgreSQL refuses root).
    owner: Option<(u32, u32)>,
}

impl Cluster {
    /// Runs `initdb` into `dir/pgdata` (trust auth for local connections, superuser `postgres`).
    pub fn init(dir: &Path, port: u16, sup: &Supervisor) -> anyhow::Result<Cluster> {
        let data = dir.join("pgdata");
        let owner = if nix::unistd::geteuid().is_root() {
            let user = nix::unistd::User::from_name("postgres")?.context(
                "running as root needs the `postgres` user (apt-get install -y postgresql)",
            )?;
            Some((user.uid.as_raw(), user.gid.as_raw()))
        } else {
            None
        };
        std::fs::create_dir_all(&data)?;
        if let Some((uid, gid)) = owner {
            // The data directory and the parents PostgreSQL must traverse.
            for d in [dir, data.as_path()] {
                nix::unistd::chown(d, Some(uid.into()), Some(gid.into()))?;
            }
        }
        let initdb = testkit::require_bin("initdb", "apt-get install -y postgresql");
        let mut cmd = Command::new(initdb);
        cmd.args(["-D"]).arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]);
        let cluster = Cluster { data, port, owner };
        cluster.as_owner(&mut cmd);
        sup.run("initdb", cmd)?;
        Ok(cluster)
    }

    fn as_owner(&self, cmd: &mut Command) {
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
    }

    /// Starts the server under `sup` and waits until it accepts connections.
    pub async fn start(&self, sup: &mut Supervisor) -> anyhow::Result<()> {
        let postgres = testkit::require_bin("postgres", "apt-get install -y postgresql");
        let mut cmd = Command::new(postgres);
        cmd.arg("-D")
            .arg(&self.data)
            .args([
                "-p",
                &self.port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
            ])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.data.display()))
            .args([
                "-c",
                "fsync=off",
                "-c",
                "max_connections=100",
                "-c",
                "shared_buffers=64MB",
            ])
            .args(["-c", "track_io_timing=on"]);
        self.as_owner(&mut cmd);
        sup.spawn(NAME, cmd)?;
        let url = self.url("postgres");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            sup.check_alive(NAME)?;
            if tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .is_ok()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!(
                    "PostgreSQL did not accept connections within 30 s:\n{}",
                    sup.log_tail(NAME, 3000)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A URL for database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        self.url_as("postgres", db)
    }

    /// A URL for database `db` as `role` (local connections are trusted).
    pub fn url_as(&self, role: &str, db: &str) -> String {
        format!("postgres://{role}@127.0.0.1:{}/{db}", self.port)
    }
}
