//! `/probe` auth modules, as postgres_exporter has them: a config file names modules, each
//! with the credentials it may use and the hosts it may be sent to.
//!
//! ```yaml
//! auth_modules:
//!   fleet:
//!     type: userpass
//!     userpass: {username: pg_exporter, password_file: /run/secrets/fleet}
//!     options: {sslmode: verify-full, sslrootcert: /etc/pg/ca.pem, dbname: postgres}
//!     targets: ["db-*.example.com:5432", "10.1.2.*"]
//! ```
//!
//! A probe names a module (`auth_module=`) and a target `host[:port][/dbname]`; the target may
//! carry no user, password or options, and its host and port must match one of the module's
//! `targets` patterns (`*` matches any run of characters; a pattern without a port allows
//! any port). The connection is built from the target and the module alone: the exporter's
//! own `DATA_SOURCE_NAME` credentials are never sent to a probed server. Without a config
//! file naming modules, `/probe` is off.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pg_tls::{Connector, TlsOptions};
use serde::Deserialize;
use tokio_postgres::Config;

use crate::dsn::Dsn;

/// How long a probe may take to connect unless the module's `connect_timeout` says otherwise:
/// short, so a probe of a silent port costs little.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A config file that cannot be used. Never contains a password.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not valid YAML of the expected shape.
    #[error("{path}: {reason}")]
    Syntax {
        /// The file.
        path: String,
        /// Why (serde names the line).
        reason: String,
    },
    /// A module is unusable.
    #[error("{path}: auth module {module:?}: {reason}")]
    Module {
        /// The file.
        path: String,
        /// The module.
        module: String,
        /// Why.
        reason: String,
    },
}

/// Why a probe was refused before any connection was tried.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProbeError {
    /// No config file names auth modules.
    #[error("/probe is off: no auth modules are configured (--config.file)")]
    Off,
    /// The request names no `auth_module`.
    #[error("the auth_module parameter is missing")]
    NoModule,
    /// The request names a module the file does not have.
    #[error("unknown auth_module {0:?}")]
    UnknownModule(String),
    /// The target is not `host[:port][/dbname]`.
    #[error("invalid target: {0}")]
    BadTarget(String),
    /// The target's host and port match none of the module's patterns.
    #[error("target {0} is not allowed for this auth module")]
    NotAllowed(String),
    /// The metrics could not be encoded.
    #[error("encoding the metrics: {0}")]
    Encode(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    auth_modules: BTreeMap<String, ModuleSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModuleSpec {
    #[serde(rename = "type")]
    kind: String,
    userpass: UserPass,
    #[serde(default)]
    options: BTreeMap<String, String>,
    targets: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPass {
    username: String,
    password: Option<String>,
    password_file: Option<PathBuf>,
}

/// One module: credentials, connection options and the targets they may go to.
struct Module {
    user: String,
    password: Option<String>,
    dbname: String,
    connect_timeout: Duration,
    tls: TlsOptions,
    /// Built once from `tls` (its certificate files read at startup), shared by every probe.
    connector: Connector,
    targets: Vec<Pattern>,
}

/// The modules of a config file.
pub struct AuthModules {
    modules: BTreeMap<String, Module>,
}

impl std::fmt::Debug for AuthModules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.modules.keys()).finish()
    }
}

impl AuthModules {
    /// Reads and checks a config file; `None` when it names no module (probing stays off).
    pub fn load(path: &Path) -> Result<Option<AuthModules>, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let file: File = serde_yaml::from_str(&text).map_err(|e| ConfigError::Syntax {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let mut modules = BTreeMap::new();
        for (name, spec) in file.auth_modules {
            let module = Module::build(spec).map_err(|reason| ConfigError::Module {
                path: shown.clone(),
                module: name.clone(),
                reason,
            })?;
            modules.insert(name, module);
        }
        Ok((!modules.is_empty()).then_some(AuthModules { modules }))
    }

    /// The DSN of a probe of `target` with module `module`, if the module allows it.
    pub fn target(&self, module: &str, target: &str) -> Result<Dsn, ProbeError> {
        let m = self
            .modules
            .get(module)
            .ok_or_else(|| ProbeError::UnknownModule(module.to_string()))?;
        let t = Target::parse(target)?;
        if !m.targets.iter().any(|p| p.matches(&t.host, t.port)) {
            return Err(ProbeError::NotAllowed(format!("{}:{}", t.host, t.port)));
        }
        let mut config = Config::new();
        config
            .host(&t.host)
            .port(t.port)
            .user(&m.user)
            .dbname(t.dbname.as_deref().unwrap_or(&m.dbname))
            .application_name("pg-exporter")
            .connect_timeout(m.connect_timeout);
        if let Some(password) = &m.password {
            config.password(password);
        }
        Ok(Dsn::with_connector(
            config,
            m.tls.clone(),
            m.connector.clone(),
        ))
    }
}

impl Module {
    fn build(spec: ModuleSpec) -> Result<Module, String> {
        if spec.kind != "userpass" {
            return Err(format!(
                "type {:?} is not supported (only userpass)",
                spec.kind
            ));
        }
        let password = match (spec.userpass.password, spec.userpass.password_file) {
            (Some(_), Some(_)) => return Err("give password or password_file, not both".into()),
            (Some(p), None) => Some(p),
            (None, Some(file)) => Some(
                std::fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read password_file {}: {e}", file.display()))?
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
            ),
            (None, None) => None,
        };
        let mut tls = TlsOptions::default();
        let mut dbname = "postgres".to_string();
        let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
        for (key, value) in &spec.options {
            if tls.set(key, value).map_err(|e| e.to_string())? {
                continue;
            }
            match key.as_str() {
                "dbname" => dbname = value.clone(),
                "connect_timeout" => {
                    let seconds: f64 = value
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s > 0.0)
                        .ok_or_else(|| {
                            format!("connect_timeout {value:?} is not a number of seconds")
                        })?;
                    connect_timeout = Duration::from_secs_f64(seconds);
                }
                other => {
                    return Err(format!(
                        "option {other:?} is not one of sslmode, sslrootcert, sslcert, sslkey, dbname, connect_timeout"
                    ));
                }
            }
        }
        tls.check().map_err(|e| e.to_string())?;
        // Read the certificate files now: a bad path is a startup error, not a failed probe.
        let connector = tls.connector().map_err(|e| e.to_string())?;
        if spec.targets.is_empty() {
            return Err("targets is empty: name the hosts this module may be sent to".into());
        }
        let targets = spec
            .targets
            .iter()
            .map(|t| Pattern::parse(t))
            .collect::<Result<_, _>>()?;
        Ok(Module {
            user: spec.userpass.username,
            password,
            dbname,
            connect_timeout,
            tls,
            connector,
            targets,
        })
    }
}

/// A probe target: `host[:port][/dbname]`, optionally as a `postgresql://` URL, and nothing
/// else.
struct Target {
    host: String,
    port: u16,
    dbname: Option<String>,
}

impl Target {
    fn parse(text: &str) -> Result<Target, ProbeError> {
        let bad = |why: &str| ProbeError::BadTarget(why.to_string());
        let text = text.trim();
        let text = text
            .strip_prefix("postgresql://")
            .or_else(|| text.strip_prefix("postgres://"))
            .unwrap_or(text);
        if text.contains(['@', '?', '=', ',', ' ', '\t', '\n']) {
            return Err(bad(
                "give host[:port][/dbname]; user, password and options come from the auth module",
            ));
        }
        let (address, dbname) = match text.split_once('/') {
            Some((a, db)) if !db.is_empty() => (a, Some(db.to_string())),
            Some((a, _)) => (a, None),
            None => (text, None),
        };
        let (host, port) = if let Some(rest) = address.strip_prefix('[') {
            let (host, rest) = rest.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            (host, rest.strip_prefix(':'))
        } else {
            match address.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (address, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
            None => 5432,
        };
        Ok(Target {
            host: host.to_ascii_lowercase(),
            port,
            dbname,
        })
    }
}

/// A `targets` entry: a host pattern (`*` matches any run of characters) and an optional port.
struct Pattern {
    host: String,
    port: Option<u16>,
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, String> {
        let text = text.trim();
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, rest) = rest
                .split_once(']')
                .ok_or_else(|| format!("target pattern {text:?}: unclosed ["))?;
            (host, rest.strip_prefix(':'))
        } else {
            match text.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, Some(p)),
                _ => (text, None),
            }
        };
        let port = match port {
            None | Some("*") => None,
            Some(p) => Some(
                p.parse()
                    .map_err(|_| format!("target pattern {text:?}: bad port"))?,
            ),
        };
        if host.is_empty() {
            return Err(format!("target pattern {text:?} has no host"));
        }
        Ok(Pattern {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        self.port.is_none_or(|p| p == port) && wildcard(&self.host, host)
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
fn wildcard(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules(yaml: &str) -> Result<Option<AuthModules>, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yml");
        std::fs::write(&path, yaml).unwrap();
        AuthModules::load(&path)
    }

    const FLEET: &str = "auth_modules:
  fleet:
    type: userpass
    userpass: {username: mon, password: fleet-pw}
    options: {sslmode: disable, dbname: forum, connect_timeout: '1.5'}
    targets: ['db-*.example.com:5432', '10.1.2.*', '[::1]']
";

    #[test]
    fn patterns_match_hosts_and_ports() {
        assert!(wildcard("db-*.example.com", "db-1.example.com"));
        assert!(!wildcard("db-*.example.com", "db-1.example.com.evil"));
        assert!(wildcard("*", "anything"));
        assert!(wildcard("a*b*c", "aXbYc"));
        assert!(!wildcard("a*b*c", "aXbY"));
        assert!(wildcard("10.1.2.*", "10.1.2.77"));
        assert!(!wildcard("10.1.2.*", "10.1.20"));
    }

    #[test]
    fn a_module_builds_its_own_dsn_for_allowed_targets_only() {
        let m = modules(FLEET).unwrap().unwrap();
        let dsn = m.target("fleet", "db-7.example.com/app").unwrap();
        assert_eq!(dsn.display(), "mon@db-7.example.com:5432/app");
        assert_eq!(dsn.config().get_password(), Some(&b"fleet-pw"[..]));
        assert_eq!(
            dsn.config().get_connect_timeout(),
            Some(&Duration::from_millis(1500))
        );
        assert_eq!(
            m.target("fleet", "10.1.2.3:6432").unwrap().display(),
            "mon@10.1.2.3:6432/forum"
        );
        m.target("fleet", "[::1]:5433").unwrap();
        assert_eq!(
            m.target("fleet", "db-7.example.com:6432").unwrap_err(),
            ProbeError::NotAllowed("db-7.example.com:6432".into())
        );
        assert!(matches!(
            m.target("fleet", "evil.example.org"),
            Err(ProbeError::NotAllowed(_))
        ));
        assert_eq!(
            m.target("other", "10.1.2.3").unwrap_err(),
            ProbeError::UnknownModule("other".into())
        );
        for smuggled in [
            "postgresql://admin:pw@10.1.2.3/db",
            "10.1.2.3/db?sslmode=disable",
            "host=10.1.2.3 user=x",
            "10.1.2.3,evil.example.org",
        ] {
            assert!(
                matches!(m.target("fleet", smuggled), Err(ProbeError::BadTarget(_))),
                "{smuggled}"
            );
        }
    }

    #[test]
    fn bad_files_are_errors_and_an_empty_one_leaves_probing_off() {
        assert!(modules("auth_modules: {}\n").unwrap().is_none());
        let typo = modules(&FLEET.replace("targets", "target")).unwrap_err();
        assert!(typo.to_string().contains("target"), "{typo}");
        let no_targets =
            modules("auth_modules:\n  a: {type: userpass, userpass: {username: u}, targets: []}\n")
                .unwrap_err();
        assert!(no_targets.to_string().contains("targets"), "{no_targets}");
        let bad_type = modules(
            "auth_modules:\n  a: {type: kerberos, userpass: {username: u}, targets: ['*']}\n",
        )
        .unwrap_err();
        assert!(bad_type.to_string().contains("kerberos"));
        let bad_option = modules(&FLEET.replace("dbname: forum", "host: elsewhere")).unwrap_err();
        assert!(bad_option.to_string().contains("host"), "{bad_option}");
        let err = modules(&FLEET.replace("sslmode: disable", "sslmode: verify-full")).unwrap_err();
        assert!(err.to_string().contains("sslrootcert"), "{err}");
        assert!(!format!("{:?}", modules(FLEET).unwrap().unwrap()).contains("fleet-pw"));
    }
}
