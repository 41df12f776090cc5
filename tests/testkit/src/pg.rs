//! PostgreSQL servers of a test's own (never the machine's shared one): the pieces every such
//! server needs, whoever runs the process — a data directory owned by the right user, `initdb`,
//! the `postgres` command line, and the wait until it accepts connections.
//!
//! PostgreSQL refuses to run as root; when the tests run as root (as CI does) every command is
//! run as the `postgres` user that Debian's package creates.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A data directory for a server of a test's own, on a port of its own.
#[derive(Debug, Clone)]
pub struct DataDir {
    /// The data directory (`initdb -D`).
    pub data: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// `(uid, gid)` of the `postgres` user when running as root.
    owner: Option<(u32, u32)>,
}

/// The `postgres` user's ids when this process runs as root, `None` otherwise.
fn server_owner() -> Result<Option<(u32, u32)>, String> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name("postgres")
        .map_err(|e| format!("looking up the `postgres` user: {e}"))?
        .ok_or("running as root needs the `postgres` user (apt-get install -y postgresql)")?;
    Ok(Some((user.uid.as_raw(), user.gid.as_raw())))
}

impl DataDir {
    /// Prepares `parent/name` as a data directory: creates `parent` and hands it (and so the
    /// data directory initdb creates in it) to the `postgres` user when running as root.
    pub fn new(parent: &Path, name: &str, port: u16) -> Result<DataDir, String> {
        let owner = server_owner()?;
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        if let Some((uid, gid)) = owner {
            nix::unistd::chown(parent, Some(uid.into()), Some(gid.into()))
                .map_err(|e| format!("chown {}: {e}", parent.display()))?;
        }
        Ok(DataDir {
            data: parent.join(name),
            port,
            owner,
        })
    }

    /// `bin` as a command that runs as the server's user.
    pub fn command(&self, bin: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(bin);
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// Hands a file the server's user must read (a password file, say) to that user.
    pub fn give(&self, path: &Path) -> Result<(), String> {
        match self.owner {
            Some((uid, gid)) => nix::unistd::chown(path, Some(uid.into()), Some(gid.into()))
                .map_err(|e| format!("chown {}: {e}", path.display())),
            None => Ok(()),
        }
    }

    /// `initdb` of this directory with superuser `postgres`, UTF-8, no fsync, and `auth`
    /// (`trust`, or `scram-sha-256` with `--pwfile=...` among `extra`).
    pub fn initdb(&self, auth: &str, extra: &[&str]) -> Command {
        let initdb = crate::require_bin("initdb", "apt-get install -y postgresql");
        let mut cmd = self.command(initdb);
        cmd.arg("-D")
            .arg(&self.data)
            .args(["-U", "postgres", "--encoding=UTF8", "--no-sync"])
            .arg(format!("--auth={auth}"))
            .args(extra);
        cmd
    }

    /// The `postgres` server on 127.0.0.1 at this port, its socket in the data directory,
    /// fsync off (test data), plus `settings` as `-c name=value`.
    pub fn server(&self, settings: &[(&str, &str)]) -> Command {
        let postgres = crate::require_bin("postgres", "apt-get install -y postgresql");
        let mut cmd = self.command(postgres);
        cmd.arg("-D")
            .arg(&self.data)
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c"])
            .arg(format!("unix_socket_directories={}", self.data.display()));
        for (name, value) in settings {
            cmd.arg("-c").arg(format!("{name}={value}"));
        }
        cmd
    }
}

/// Waits until `url` accepts a connection, for at most `timeout`. `alive` is asked between
/// tries and ends the wait with its error (the server exited, say, with its log).
pub async fn wait_accepting(
    url: &str,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        alive()?;
        let error = match tokio_postgres::connect(url, tokio_postgres::NoTls).await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "PostgreSQL did not accept connections within {timeout:?}: {error}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
