//! Helpers for the workspace's tests.
//!
//! - [`TestDb`]: a fresh PostgreSQL database with a random name for one test, dropped afterwards,
//!   on the server of `DATABASE_URL` or the local one at 127.0.0.1:5432;
//! - [`free_port`]: a loopback port nobody listens on;
//! - [`require_bin`]: the path of a tool a test needs, or a failure that says how to install it.
//!   Tests never skip silently because a component is missing;
//! - [`discord`]: the strict local Discord API, the project's one test double;
//! - [`smtp`]: a real SMTP server (aiosmtpd) that keeps every mail it accepts for the test.

#![forbid(unsafe_code)]

pub mod discord;
pub mod pg;
pub mod smtp;

use std::net::TcpListener;
use std::path::PathBuf;

use rand::Rng as _;

/// The server tests use when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The admin URL of the test server: `DATABASE_URL` or [`DEFAULT_DATABASE_URL`].
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string())
}

/// A database made for one test and dropped (with its connections) when this value drops.
#[derive(Debug)]
pub struct TestDb {
    /// The database name (`test_` and 16 random hex digits).
    pub name: String,
    /// A URL that connects to it, with the admin URL's user and password.
    pub url: String,
    admin: String,
}

impl TestDb {
    /// Creates the database. Panics, saying how to start PostgreSQL, if the server is unreachable.
    pub async fn new() -> TestDb {
        let admin = admin_url();
        let name = format!("test_{:016x}", rand::thread_rng().r#gen::<u64>());
        let client = connect(&admin).await;
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let mut url = url::Url::parse(&admin).expect("DATABASE_URL must be a postgres:// URL");
        url.set_path(&format!("/{name}"));
        TestDb {
            name,
            url: url.to_string(),
            admin,
        }
    }

    /// A connected client (its connection task runs on the current runtime).
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee (maybe inside one): use a thread of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                    .await
                    .ok()?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Connects to `url`, panicking with instructions when the server cannot be reached.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    match tokio_postgres::connect(url, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(async move {
                let _ = conn.await;
            });
            client
        }
        Err(e) => panic!(
            "PostgreSQL is needed by this test and cannot be reached ({e}). Install and start it: \
             `apt-get install -y postgresql && pg_ctlcluster 15 main start`, or set DATABASE_URL. \
             scripts/test does both."
        ),
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; bind it soon).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// The path of `tool`, searched on `PATH` and in the Debian locations of PostgreSQL's binaries.
/// Panics with `install` (e.g. `apt-get install -y nginx`) when it is not there.
pub fn require_bin(tool: &str, install: &str) -> PathBuf {
    find_bin(tool).unwrap_or_else(|| {
        panic!("{tool} is needed by this test and was not found on PATH. Install it: `{install}` (scripts/test does).")
    })
}

/// The path of `tool` on `PATH` or in `/usr/lib/postgresql/*/bin` and `/usr/sbin`, if any.
pub fn find_bin(tool: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    dirs.push("/sbin".into());
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        versions.reverse();
        dirs.extend(versions);
    }
    dirs.into_iter().map(|d| d.join(tool)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_test_database_exists_while_held_and_is_gone_after() {
        let db = TestDb::new().await;
        let name = db.name.clone();
        let client = db.client().await;
        let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1);
        drop(client);
        drop(db);
        let admin = connect(&admin_url()).await;
        let rows = admin
            .query("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .unwrap();
        assert!(rows.is_empty(), "database {name} should have been dropped");
    }

    #[test]
    fn a_missing_tool_fails_with_the_install_command() {
        let err =
            std::panic::catch_unwind(|| require_bin("no-such-tool-xyz", "apt-get install -y xyz"))
                .unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("apt-get install -y xyz"), "{msg}");
    }

    #[test]
    fn free_ports_are_bindable() {
        let port = free_port();
        TcpListener::bind(("127.0.0.1", port)).unwrap();
    }
}
