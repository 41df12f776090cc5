//! Why a connection string or its TLS files were refused.

/// Why a connection string or its TLS files were refused. Messages never contain the
/// connection string itself, which may hold a password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A TLS key has a value libpq would refuse.
    #[error("invalid value for {key}: {reason}")]
    InvalidValue {
        /// The key.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// The rest of the connection string did not parse.
    #[error("{0}")]
    Syntax(String),
    /// `verify-ca` or `verify-full` without `sslrootcert`, or a key without its certificate.
    #[error("{0}")]
    Incomplete(String),
    /// A certificate or key file could not be read or holds nothing usable.
    #[error("{what} {path}: {reason}")]
    File {
        /// `sslrootcert`, `sslcert` or `sslkey`.
        what: &'static str,
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration (a key that does not match its certificate, say).
    #[error("TLS configuration: {0}")]
    Tls(String),
}
