//! libpq's TLS keys in a connection string: taken out of it, checked, and kept as
//! [`TlsOptions`]; the rest goes to `tokio-postgres`, which knows the other keys.

use std::path::PathBuf;
use std::str::FromStr;

use percent_encoding::percent_decode_str;
use tokio_postgres::Config;

use crate::error::Error;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, plain otherwise; the certificate is not checked
    /// (`allow` is taken as this too).
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is checked only when `sslrootcert` is given
    /// (then as `verify-ca`).
    Require,
    /// TLS, and the server's certificate chain must lead to `sslrootcert`.
    VerifyCa,
    /// `verify-ca`, and the certificate must name the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, Error> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(Error::InvalidValue {
                    key: "sslmode",
                    reason: format!(
                        "{other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                    ),
                });
            }
        })
    }

    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// What `tokio-postgres` is told: whether TLS is off, optional or required (the
    /// checking is the connector's).
    pub fn driver(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Driver;
        match self {
            SslMode::Disable => Driver::Disable,
            SslMode::Prefer => Driver::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Driver::Require,
        }
    }
}

/// The TLS part of a connection string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// `sslmode`.
    pub mode: SslMode,
    /// `sslrootcert`: the certificate authorities to trust (PEM).
    pub root_cert: Option<PathBuf>,
    /// `sslcert`: the client certificate (PEM), with its chain.
    pub cert: Option<PathBuf>,
    /// `sslkey`: the client certificate's private key (PEM).
    pub key: Option<PathBuf>,
}

impl TlsOptions {
    /// Sets libpq TLS key `key`. `Ok(false)` when `key` is not one of them.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, Error> {
        let path = |what: &'static str| -> Result<Option<PathBuf>, Error> {
            match value {
                "" => Ok(None),
                "system" if what == "sslrootcert" => Err(Error::InvalidValue {
                    key: what,
                    reason: "the system store is not supported: name a PEM file".into(),
                }),
                _ => Ok(Some(PathBuf::from(value))),
            }
        };
        match key {
            "sslmode" => self.mode = SslMode::parse(value)?,
            "sslrootcert" => self.root_cert = path("sslrootcert")?,
            "sslcert" => self.cert = path("sslcert")?,
            "sslkey" => self.key = path("sslkey")?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Refuses what libpq would refuse before connecting: `verify-ca`/`verify-full` with no
    /// certificate authority to verify against, a key without a certificate or the reverse.
    pub fn check(&self) -> Result<(), Error> {
        if matches!(self.mode, SslMode::VerifyCa | SslMode::VerifyFull) && self.root_cert.is_none()
        {
            return Err(Error::Incomplete(format!(
                "sslmode={} needs sslrootcert (the certificate authorities to trust)",
                self.mode.as_str()
            )));
        }
        match (&self.cert, &self.key) {
            (Some(_), None) => Err(Error::Incomplete("sslcert needs sslkey".into())),
            (None, Some(_)) => Err(Error::Incomplete("sslkey needs sslcert".into())),
            _ => Ok(()),
        }
    }

    /// Tells `config` whether TLS is off, optional or required.
    pub fn apply(&self, config: &mut Config) {
        config.ssl_mode(self.mode.driver());
    }

    /// `sslmode=...` and the root certificate, for messages (no secrets here).
    pub fn describe(&self) -> String {
        match &self.root_cert {
            Some(root) => format!(
                "sslmode={} sslrootcert={}",
                self.mode.as_str(),
                root.display()
            ),
            None => format!("sslmode={}", self.mode.as_str()),
        }
    }
}

/// Parses a connection string: a `postgres[ql]://` URL or a `key=value` string. The TLS keys
/// go to the returned [`TlsOptions`] (checked), the rest to `tokio-postgres`; the returned
/// config already says whether TLS is off, optional or required.
pub fn parse(text: &str) -> Result<(Config, TlsOptions), Error> {
    let mut tls = TlsOptions::default();
    let rest = if text.starts_with("postgresql://") || text.starts_with("postgres://") {
        split_url(text, &mut tls)?
    } else {
        split_key_values(text, &mut tls)?
    };
    let mut config = Config::from_str(&rest).map_err(|e| Error::Syntax(e.to_string()))?;
    tls.check()?;
    tls.apply(&mut config);
    Ok((config, tls))
}

/// Takes the TLS parameters out of the URL's query string.
fn split_url(text: &str, tls: &mut TlsOptions) -> Result<String, Error> {
    let Some((base, query)) = text.split_once('?') else {
        return Ok(text.to_string());
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|v| v.into_owned())
                .map_err(|_| Error::Syntax("a URL parameter is not UTF-8".into()))
        };
        if !tls.set(&decode(key)?, &decode(value)?)? {
            kept.push(pair);
        }
    }
    Ok(if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    })
}

/// Takes the TLS keys out of a `key=value` string (libpq's quoting: `'...'`, `\` escapes).
fn split_key_values(text: &str, tls: &mut TlsOptions) -> Result<String, Error> {
    let mut kept = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        if key.is_empty() {
            if chars.peek().is_some() {
                return Err(Error::Syntax("a key=value pair has no key".into()));
            }
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(Error::Syntax(format!("expected `=` after {key:?}")));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => {
                        return Err(Error::Syntax(format!(
                            "the quoted value of {key:?} is not closed"
                        )));
                    }
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        if !tls.set(&key, &value)? {
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            kept.push(format!("{key}='{quoted}'"));
        }
    }
    Ok(kept.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_encode(value: &str) -> String {
        percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
    }

    #[test]
    fn a_url_keeps_its_other_parameters_and_gives_up_the_tls_ones() {
        let (config, tls) = parse(
            "postgresql://u:p%40ss@db.example:6432/forum?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(config.get_application_name(), Some("x"));
        assert_eq!(config.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(
            config.get_connect_timeout(),
            Some(&std::time::Duration::from_secs(3))
        );
        assert_eq!(
            config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
    }

    #[test]
    fn a_key_value_string_keeps_quoting_and_gives_up_the_tls_keys() {
        let (config, tls) = parse(
            "host=db.example user=mon password='it\\'s a secret' sslmode = require sslcert='/etc/my cert.pem' sslkey=/etc/key.pem dbname=forum",
        )
        .unwrap();
        assert_eq!(config.get_password(), Some(&b"it's a secret"[..]));
        assert_eq!(config.get_dbname(), Some("forum"));
        assert_eq!(tls.mode, SslMode::Require);
        assert_eq!(tls.cert, Some(PathBuf::from("/etc/my cert.pem")));
        assert_eq!(tls.key, Some(PathBuf::from("/etc/key.pem")));
    }

    #[test]
    fn the_default_is_prefer_as_in_libpq() {
        let (config, tls) = parse("postgresql://u@localhost/db").unwrap();
        assert_eq!(tls.mode, SslMode::Prefer);
        assert_eq!(
            config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Prefer
        );
        let (config, _) = parse("host=localhost sslmode=disable").unwrap();
        assert_eq!(
            config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
    }

    #[test]
    fn what_libpq_refuses_is_refused_with_a_reason() {
        let err = parse("postgresql://u@h/db?sslmode=verify-full")
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs sslrootcert"), "{err}");
        let err = parse("host=h sslmode=verify-everything")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sslmode"), "{err}");
        assert!(parse("host=h sslkey=/k.pem").is_err());
        assert!(parse("host=h sslrootcert=system sslmode=verify-ca").is_err());
        let err = parse("host=h password='unterminated")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("unterminated'"), "{err}");
    }

    #[test]
    fn url_encoding_round_trips() {
        let (_, tls) = parse(&format!(
            "postgresql://u@h/db?sslrootcert={}",
            url_encode("/tmp/a b&c.pem")
        ))
        .unwrap();
        assert_eq!(tls.root_cert, Some(PathBuf::from("/tmp/a b&c.pem")));
    }
}
