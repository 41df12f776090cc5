//! The web config file of Prometheus' exporter toolkit: TLS and basic auth.
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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use sha2::{Digest, Sha256};

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

/// Basic auth against bcrypt hashes.
///
/// bcrypt is slow on purpose (tens of milliseconds), and Prometheus sends the same credentials
/// on every scrape, so a successful check is remembered by a SHA-256 of user and password; the
/// cache never holds the password itself and is cleared when it grows past a small bound.
#[derive(Clone)]
pub struct BasicAuth {
    users: Arc<BTreeMap<String, String>>,
    verified: Arc<Mutex<HashMap<[u8; 32], ()>>>,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // User names only: hashes are secrets too.
        f.debug_struct("BasicAuth")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

const VERIFIED_CACHE_LIMIT: usize = 1024;

impl BasicAuth {
    /// Checks every hash is a bcrypt hash.
    pub fn new(users: BTreeMap<String, String>) -> Result<BasicAuth, String> {
        for (user, hash) in &users {
            if bcrypt::HashParts::from_str(hash).is_err() {
                return Err(format!("the hash of user {user:?} is not a bcrypt hash"));
            }
        }
        Ok(BasicAuth {
            users: Arc::new(users),
            verified: Arc::default(),
        })
    }

    /// Whether `user` and `password` match. Runs bcrypt on a blocking thread when needed.
    pub async fn verify(&self, user: &str, password: &str) -> bool {
        let key: [u8; 32] = {
            let mut h = Sha256::new();
            h.update(user.as_bytes());
            h.update([0]);
            h.update(password.as_bytes());
            h.finalize().into()
        };
        if self.verified.lock().expect("cache lock").contains_key(&key) {
            return true;
        }
        // An unknown user is checked against a dummy hash so that timing does not tell
        // which user names exist.
        const DUMMY: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
        let hash = self.users.get(user).cloned();
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY.to_string());
        let password = password.to_string();
        let ok =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false)
                && known;
        if ok {
            let mut cache = self.verified.lock().expect("cache lock");
            if cache.len() >= VERIFIED_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, ());
        }
        ok
    }
}

use std::str::FromStr as _;

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

    #[tokio::test]
    async fn the_right_password_passes_and_a_wrong_one_or_unknown_user_fails() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = BasicAuth::new([("prom".to_string(), hash)].into()).unwrap();
        assert!(auth.verify("prom", "s3cret").await);
        assert!(auth.verify("prom", "s3cret").await, "cached check");
        assert!(!auth.verify("prom", "wrong").await);
        assert!(!auth.verify("nobody", "s3cret").await);
        assert!(
            !format!("{auth:?}").contains("$2"),
            "Debug must not show hashes"
        );
    }
}
