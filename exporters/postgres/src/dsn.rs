//! The data source name: what to connect to, and how to talk about it without its password.
//!
//! `DATA_SOURCE_NAME` is a URL (`postgresql://user:pass@host:5432/db?sslmode=disable`) or a
//! key=value string (`host=... user=... password=...`), as postgres_exporter takes it; libpq's
//! TLS keys (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`) are read by the `pg-tls` kit, the
//! rest by `tokio-postgres`. The password is kept out of `Debug`, of [`Dsn::display`], and
//! scrubbed from every error message that leaves this crate ([`Dsn::scrub`]).

use std::fmt;

use pg_tls::{Connector, TlsOptions};
use tokio_postgres::Config;

/// A parse error. It never contains the input, which may hold a password.
#[derive(Debug, thiserror::Error)]
#[error("invalid data source name: {0}")]
pub struct DsnError(String);

/// A parsed data source name.
#[derive(Clone)]
pub struct Dsn {
    config: Config,
    tls: TlsOptions,
    connector: Connector,
    display: String,
    secrets: Vec<String>,
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Dsn").field(&self.display).finish()
    }
}

impl Dsn {
    /// Parses a URL or key=value DSN.
    pub fn parse(text: &str) -> Result<Dsn, DsnError> {
        let (config, tls) = parse_settings(text)?;
        Dsn::new(config, tls)
    }

    /// Builds the DSN of postgres_exporter's split variables: `DATA_SOURCE_URI`
    /// (`host:port/db?opts`) with `DATA_SOURCE_USER` and `DATA_SOURCE_PASS`.
    pub fn from_parts(
        uri: &str,
        user: Option<&str>,
        password: Option<&str>,
    ) -> Result<Dsn, DsnError> {
        let uri = uri.trim();
        let uri = uri
            .strip_prefix("postgresql://")
            .or_else(|| uri.strip_prefix("postgres://"))
            .unwrap_or(uri);
        let (mut config, tls) = parse_settings(&format!("postgresql://{uri}"))?;
        if let Some(user) = user {
            config.user(user);
        }
        if let Some(password) = password {
            config.password(password);
        }
        Dsn::new(config, tls)
    }

    /// A DSN of `config` with TLS as `tls` says; reads the certificate files `tls` names.
    pub fn new(config: Config, tls: TlsOptions) -> Result<Dsn, DsnError> {
        let connector = tls.connector().map_err(|e| DsnError(e.to_string()))?;
        Ok(Dsn::with_connector(config, tls, connector))
    }

    /// A DSN of `config` with TLS as `tls` says, through `connector`, built from `tls`
    /// beforehand: a `/probe` auth module builds its connector once, not on every probe.
    pub fn with_connector(mut config: Config, tls: TlsOptions, connector: Connector) -> Dsn {
        tls.apply(&mut config);
        let mut secrets = Vec::new();
        if let Some(pw) = config.get_password() {
            let pw = String::from_utf8_lossy(pw).into_owned();
            if !pw.is_empty() {
                let encoded =
                    percent_encoding::utf8_percent_encode(&pw, percent_encoding::NON_ALPHANUMERIC)
                        .to_string();
                secrets.push(pw);
                secrets.push(encoded);
            }
        }
        // Longest first, so a password that contains another secret is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let display = describe(&config);
        Dsn {
            config,
            tls,
            connector,
            display,
            secrets,
        }
    }

    /// Sets the connection timeout (the scrape deadline bounds it too).
    pub fn set_connect_timeout(&mut self, timeout: std::time::Duration) {
        self.config.connect_timeout(timeout);
    }

    /// The connection settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The TLS settings (`sslmode` and the certificate files).
    pub fn tls(&self) -> &TlsOptions {
        &self.tls
    }

    /// The TLS connector that connections and cancel requests use.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// `user@host:port/dbname`, safe for logs.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// `message` with every occurrence of the password replaced by `<redacted>`.
    pub fn scrub(&self, message: &str) -> String {
        let mut out = message.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "<redacted>");
            }
        }
        out
    }
}

/// The connection and TLS settings of a URL or key=value DSN, without reading any file yet.
fn parse_settings(text: &str) -> Result<(Config, TlsOptions), DsnError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DsnError("it is empty".into()));
    }
    let (mut config, tls) = pg_tls::parse(text).map_err(|e| DsnError(e.to_string()))?;
    if config.get_hosts().is_empty() {
        return Err(DsnError("it names no host".into()));
    }
    if config.get_application_name().is_none() {
        config.application_name("pg-exporter");
    }
    Ok((config, tls))
}

fn describe(config: &Config) -> String {
    use tokio_postgres::config::Host;
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match h {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let user = config.get_user().unwrap_or("");
    let db = config.get_dbname().unwrap_or(user);
    format!("{user}@{}/{db}", hosts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_and_a_key_value_string_both_parse() {
        let a = Dsn::parse("postgresql://exporter:s3cr3t@db.example:6432/forum?sslmode=disable")
            .unwrap();
        assert_eq!(a.display(), "exporter@db.example:6432/forum");
        let b = Dsn::parse("host=db.example port=6432 user=exporter password=s3cr3t dbname=forum")
            .unwrap();
        assert_eq!(b.display(), "exporter@db.example:6432/forum");
    }

    #[test]
    fn the_password_never_shows_in_debug_or_display() {
        let dsn = Dsn::parse("postgresql://exporter:hunter2@localhost/forum").unwrap();
        assert!(!format!("{dsn:?}").contains("hunter2"));
        assert!(!dsn.display().contains("hunter2"));
    }

    #[test]
    fn scrub_replaces_plain_and_percent_encoded_passwords() {
        let dsn = Dsn::parse("postgresql://u:p%40ss%2Fword@localhost/db").unwrap();
        let msg = dsn.scrub("failed for p@ss/word and p%40ss%2Fword");
        assert_eq!(msg, "failed for <redacted> and <redacted>");
    }

    #[test]
    fn a_bad_dsn_is_an_error_that_does_not_echo_it() {
        let err = Dsn::parse("postgresql://u:topsecret@localhost:notaport/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("topsecret"), "{err}");
        assert!(Dsn::parse("").is_err());
    }

    #[test]
    fn tls_keys_are_read_in_both_forms() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let root = dir.path().join("ca.pem");
        std::fs::write(&root, ca.pem()).unwrap();
        let url = Dsn::parse(&format!(
            "postgresql://u:pw@db.example/forum?sslmode=verify-full&sslrootcert={}",
            root.display()
        ))
        .unwrap();
        assert_eq!(url.tls().mode, pg_tls::SslMode::VerifyFull);
        let kv = Dsn::parse(&format!(
            "host=db.example user=u sslmode=verify-ca sslrootcert='{}'",
            root.display()
        ))
        .unwrap();
        assert_eq!(kv.tls().root_cert.as_deref(), Some(root.as_path()));
        let err = Dsn::parse("postgresql://u:pw@db.example/forum?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/ca.pem") && !err.contains("pw@"),
            "{err}"
        );
    }

    #[test]
    fn split_variables_make_a_dsn() {
        let dsn = Dsn::from_parts(
            "localhost:5432/forum?sslmode=disable",
            Some("mon"),
            Some("pw"),
        )
        .unwrap();
        assert_eq!(dsn.display(), "mon@localhost:5432/forum");
        assert_eq!(dsn.scrub("pw"), "<redacted>");
    }
}
