//! The web config file of Prometheus' exporter toolkit: TLS, basic auth users, headers.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//!   # optional: client certificates
//!   client_auth_type: RequireAndVerifyClientCert
//!   client_ca_file: ca.crt
//!   min_version: TLS12
//! basic_auth_users:
//!   prometheus: $2y$10$...   # bcrypt hash, e.g. from `htpasswd -nBC 10 prometheus`
//! ```
//!
//! Relative paths are relative to the file. Unknown keys are errors, as in the toolkit, so a
//! typo never leaves an exporter open.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::auth::BasicAuth;

/// Errors reading a web config file.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// The file could not be read.
    #[error("cannot read web config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The YAML does not match the format.
    #[error("invalid web config {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    /// The TLS part is unusable.
    #[error("invalid tls_server_config in {path}: {reason}")]
    Tls { path: PathBuf, reason: String },
    /// A basic auth entry is unusable.
    #[error("invalid basic_auth_users in {path}: {reason}")]
    BasicAuth { path: PathBuf, reason: String },
}

/// The file as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfigFile {
    /// TLS settings; absent means plain HTTP.
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    /// User name to bcrypt hash; empty means no authentication.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
    /// HTTP settings (response headers).
    #[serde(default)]
    pub http_server_config: Option<HttpServerConfig>,
}

/// `tls_server_config`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// PEM certificate chain.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
    /// `NoClientCert` (default), `VerifyClientCertIfGiven` or `RequireAndVerifyClientCert`.
    #[serde(default)]
    pub client_auth_type: Option<String>,
    /// PEM CA bundle that client certificates must chain to.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// `TLS12` (default) or `TLS13`.
    #[serde(default)]
    pub min_version: Option<String>,
    /// `TLS12` or `TLS13` (default).
    #[serde(default)]
    pub max_version: Option<String>,
}

/// `http_server_config`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// Accepted for compatibility; HTTP/2 is offered over TLS whatever its value.
    #[serde(default)]
    pub http2: Option<bool>,
    /// Extra response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A loaded, checked web config.
#[derive(Clone, Default)]
pub struct WebConfig {
    /// TLS server configuration, when TLS is on.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Basic auth, when users are configured.
    pub auth: Option<BasicAuth>,
    /// Extra response headers.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("auth", &self.auth)
            .field("headers", &self.headers.len())
            .finish()
    }
}

impl WebConfig {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        // An empty file is a valid config that changes nothing.
        let file: WebConfigFile = if text.trim().is_empty() {
            WebConfigFile::default()
        } else {
            serde_yaml::from_str(&text).map_err(|source| WebConfigError::Parse {
                path: path.to_path_buf(),
                source,
            })?
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let tls = match &file.tls_server_config {
            Some(tls) => Some(Arc::new(tls_config(tls, base).map_err(|reason| {
                WebConfigError::Tls {
                    path: path.to_path_buf(),
                    reason,
                }
            })?)),
            None => None,
        };
        let auth = if file.basic_auth_users.is_empty() {
            None
        } else {
            Some(
                BasicAuth::new(file.basic_auth_users.clone()).map_err(|reason| {
                    WebConfigError::BasicAuth {
                        path: path.to_path_buf(),
                        reason,
                    }
                })?,
            )
        };
        let mut headers = Vec::new();
        for (name, value) in file.http_server_config.iter().flat_map(|h| &h.headers) {
            let bad = |e: &dyn fmt::Display| WebConfigError::Tls {
                path: path.to_path_buf(),
                reason: format!("http_server_config.headers: {name}: {e}"),
            };
            headers.push((
                http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(&e))?,
                http::HeaderValue::from_str(value).map_err(|e| bad(&e))?,
            ));
        }
        Ok(WebConfig { tls, auth, headers })
    }
}

fn tls_config(cfg: &TlsServerConfig, base: &Path) -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let resolve = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let read = |p: &Path| {
        std::fs::read(resolve(p)).map_err(|e| format!("cannot read {}: {e}", resolve(p).display()))
    };
    let certs: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut &read(&cfg.cert_file)?[..])
            .collect::<Result<_, _>>()
            .map_err(|e| format!("cert_file {}: {e}", cfg.cert_file.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "cert_file {} holds no PEM certificate",
            cfg.cert_file.display()
        ));
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &read(&cfg.key_file)?[..])
        .map_err(|e| format!("key_file {}: {e}", cfg.key_file.display()))?
        .ok_or_else(|| {
            format!(
                "key_file {} holds no PEM private key",
                cfg.key_file.display()
            )
        })?;

    let version = |v: &Option<String>, default: &'static rustls::SupportedProtocolVersion| match v
        .as_deref()
    {
        None => Ok(default),
        Some("TLS12") => Ok(&rustls::version::TLS12),
        Some("TLS13") => Ok(&rustls::version::TLS13),
        Some(other) => Err(format!(
            "unsupported TLS version {other:?} (use TLS12 or TLS13)"
        )),
    };
    let min = version(&cfg.min_version, &rustls::version::TLS12)?;
    let max = version(&cfg.max_version, &rustls::version::TLS13)?;
    let versions: Vec<_> = [&rustls::version::TLS12, &rustls::version::TLS13]
        .into_iter()
        .filter(|v| {
            let rank = |v: &rustls::SupportedProtocolVersion| u16::from(v.version);
            rank(v) >= rank(min) && rank(v) <= rank(max)
        })
        .collect();
    if versions.is_empty() {
        return Err("min_version is above max_version".into());
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| e.to_string())?;
    let client_auth = cfg.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let builder = match client_auth {
        "NoClientCert" => builder.with_no_client_auth(),
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {
            let ca_file = cfg
                .client_ca_file
                .as_ref()
                .ok_or_else(|| format!("client_auth_type {client_auth} needs client_ca_file"))?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_pemfile::certs(&mut &read(ca_file)?[..]) {
                let cert = cert.map_err(|e| format!("client_ca_file: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("client_ca_file: {e}"))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            let verifier = if client_auth == "VerifyClientCertIfGiven" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
        }
        other => {
            return Err(format!(
                "unsupported client_auth_type {other:?} (use NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
            ));
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_typo_in_a_key_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "web.yml", "basic_auth_user:\n  a: b\n");
        let err = WebConfig::load(&p).unwrap_err().to_string();
        assert!(err.contains("basic_auth_user"), "{err}");
    }

    #[test]
    fn a_plain_text_password_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "web.yml",
            "basic_auth_users:\n  prometheus: secret\n",
        );
        let err = WebConfig::load(&p).unwrap_err().to_string();
        assert!(err.contains("not a bcrypt hash"), "{err}");
        assert!(
            !err.contains("secret"),
            "the error must not echo the secret: {err}"
        );
    }

    #[test]
    fn a_missing_certificate_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "web.yml",
            "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n",
        );
        let err = WebConfig::load(&p).unwrap_err().to_string();
        assert!(err.contains("nope.crt"), "{err}");
    }

    #[test]
    fn an_empty_file_means_no_tls_and_no_auth() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "web.yml", "");
        let cfg = WebConfig::load(&p).unwrap();
        assert!(cfg.tls.is_none() && cfg.auth.is_none());
    }
}
