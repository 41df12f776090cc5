//! A PostgreSQL cluster of the stack's own: `initdb` in the stack's directory, on its own port,
//! run by the supervisor, so a test can stop and start it without touching the machine's
//! shared server.
//!
//! Every role has a password, checked with scram-sha-256 (`initdb --auth=scram-sha-256`: no
//! `trust` line in pg_hba.conf, for TCP or the socket). The passwords are generated here and
//! kept in files only their owner reads: the superuser's in `pg-superuser-password` (initdb's
//! `--pwfile`), all of them in `pgpass` (libpq's format, for `psql`); every component gets its
//! role's password in its connection URL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use testkit::pg::DataDir;

use crate::secrets;
use crate::supervisor::Supervisor;

/// The supervisor name of the stack's PostgreSQL.
pub const NAME: &str = "postgres";

/// The superuser initdb creates.
const SUPERUSER: &str = "postgres";

/// An initialised cluster directory, the port it serves on and its roles' passwords.
#[derive(Clone)]
pub struct Cluster {
    data: DataDir,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// Role name to password (the superuser's included).
    passwords: BTreeMap<String, String>,
    /// The stack's directory, where `pgpass` is written.
    dir: PathBuf,
}

impl std::fmt::Debug for Cluster {
    // The passwords are secrets: never in Debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("data", &self.data.data)
            .field("port", &self.port)
            .field("roles", &self.passwords.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Cluster {
    /// Runs `initdb` into `dir/pgdata` with scram-sha-256 for every connection and a generated
    /// password for the superuser `postgres`.
    pub fn init(dir: &Path, port: u16, sup: &Supervisor) -> anyhow::Result<Cluster> {
        let data = DataDir::new(dir, "pgdata", port)
            .map_err(anyhow::Error::msg)
            .context("preparing the stack's PostgreSQL directory")?;
        let password = secrets::generate();
        let pwfile = dir.join("pg-superuser-password");
        secrets::write(&pwfile, &password)?;
        // initdb runs as the `postgres` user when we are root: it must read the file, which
        // stays 0600.
        if nix::unistd::geteuid().is_root()
            && let Some(user) = nix::unistd::User::from_name(SUPERUSER)?
        {
            nix::unistd::chown(&pwfile, Some(user.uid), Some(user.gid))
                .with_context(|| format!("chown {}", pwfile.display()))?;
        }
        let pwfile_arg = format!("--pwfile={}", pwfile.display());
        sup.run(
            "initdb",
            data.initdb("scram-sha-256", &["--locale=C.UTF-8", &pwfile_arg]),
        )?;
        let mut cluster = Cluster {
            data,
            port,
            passwords: BTreeMap::new(),
            dir: dir.to_path_buf(),
        };
        cluster.passwords.insert(SUPERUSER.into(), password);
        cluster.write_pgpass()?;
        Ok(cluster)
    }

    /// Starts the server under `sup` and waits until it accepts connections.
    pub async fn start(&self, sup: &mut Supervisor) -> anyhow::Result<()> {
        let cmd = self.data.server(&[
            ("max_connections", "100"),
            ("shared_buffers", "64MB"),
            ("track_io_timing", "on"),
            ("password_encryption", "scram-sha-256"),
        ]);
        sup.spawn(NAME, cmd)?;
        let alive = || sup.check_alive(NAME).map_err(|e| format!("{e:#}"));
        let started =
            testkit::pg::wait_accepting(&self.url("postgres"), Duration::from_secs(30), alive)
                .await;
        started.map_err(|e| anyhow::anyhow!("{e}\n{}", sup.log_tail(NAME, 3000)))
    }

    /// Creates the login role `role` with a generated password (plus `options`, e.g.
    /// `IN ROLE pg_monitor`), as the superuser, and adds it to `pgpass`.
    pub async fn create_role(&mut self, role: &str, options: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            role.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "role names here are lowercase letters and _"
        );
        let password = secrets::generate();
        let admin = testkit::connect(&self.url("postgres")).await;
        // The password is hexadecimal: nothing to quote. The statement is not logged.
        admin
            .batch_execute(&format!(
                "CREATE ROLE {role} LOGIN PASSWORD '{password}' {options}"
            ))
            .await
            .with_context(|| format!("PostgreSQL: CREATE ROLE {role}"))?;
        self.passwords.insert(role.into(), password);
        self.write_pgpass()
    }

    /// `pgpass`: a libpq password file (0600) with every role of the cluster, so that
    /// `PGPASSFILE=<dir>/pgpass psql -h 127.0.0.1 -p <port> -U <role> <db>` logs in.
    fn write_pgpass(&self) -> anyhow::Result<()> {
        let text: String = self
            .passwords
            .iter()
            .map(|(role, pw)| format!("127.0.0.1:{}:*:{role}:{pw}\n", self.port))
            .collect();
        secrets::write(&self.pgpass(), text)
    }

    /// Every role's password (for tests that look for them where they must not be).
    pub fn passwords(&self) -> Vec<&str> {
        self.passwords.values().map(String::as_str).collect()
    }

    /// The path of the cluster's libpq password file.
    pub fn pgpass(&self) -> PathBuf {
        self.dir.join("pgpass")
    }

    /// A URL for database `db` as the superuser, with its password.
    pub fn url(&self, db: &str) -> String {
        self.url_as(SUPERUSER, db)
    }

    /// A URL for database `db` as `role`, with its password when the role was created here
    /// (without one, the server refuses the connection).
    pub fn url_as(&self, role: &str, db: &str) -> String {
        match self.passwords.get(role) {
            Some(pw) => format!("postgres://{role}:{pw}@127.0.0.1:{}/{db}", self.port),
            None => self.url_without_password(role, db),
        }
    }

    /// A URL for database `db` as `role` without a password: for printing (libpq takes the
    /// password from `pgpass`).
    pub fn url_without_password(&self, role: &str, db: &str) -> String {
        format!("postgres://{role}@127.0.0.1:{}/{db}", self.port)
    }

    /// The cluster's pg_hba.conf (owned by the server's user).
    pub fn hba_file(&self) -> PathBuf {
        self.data.data.join("pg_hba.conf")
    }
}
