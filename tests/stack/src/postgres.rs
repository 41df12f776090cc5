//! A PostgreSQL cluster of the stack's own: `initdb` in the stack's directory, on its own port,
//! run by the supervisor, so a test can stop and start it without touching the machine's
//! shared server.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use testkit::pg::DataDir;

use crate::supervisor::Supervisor;

/// The supervisor name of the stack's PostgreSQL.
pub const NAME: &str = "postgres";

/// An initialised cluster directory and the port it serves on.
#[derive(Debug, Clone)]
pub struct Cluster {
    data: DataDir,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
}

impl Cluster {
    /// Runs `initdb` into `dir/pgdata` (trust auth for local connections, superuser `postgres`).
    pub fn init(dir: &Path, port: u16, sup: &Supervisor) -> anyhow::Result<Cluster> {
        let data = DataDir::new(dir, "pgdata", port)
            .map_err(anyhow::Error::msg)
            .context("preparing the stack's PostgreSQL directory")?;
        sup.run("initdb", data.initdb("trust", &["--locale=C.UTF-8"]))?;
        Ok(Cluster { data, port })
    }

    /// Starts the server under `sup` and waits until it accepts connections.
    pub async fn start(&self, sup: &mut Supervisor) -> anyhow::Result<()> {
        let cmd = self.data.server(&[
            ("max_connections", "100"),
            ("shared_buffers", "64MB"),
            ("track_io_timing", "on"),
        ]);
        sup.spawn(NAME, cmd)?;
        let alive = || sup.check_alive(NAME).map_err(|e| format!("{e:#}"));
        let started =
            testkit::pg::wait_accepting(&self.url("postgres"), Duration::from_secs(30), alive)
                .await;
        started.map_err(|e| anyhow::anyhow!("{e}\n{}", sup.log_tail(NAME, 3000)))
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
