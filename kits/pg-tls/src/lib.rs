//! TLS to PostgreSQL as libpq understands it, for every binary that connects to PostgreSQL.
//!
//! A connection string (a `postgresql://` URL or a `key=value` string) may carry libpq's TLS
//! keys, which `tokio-postgres` alone refuses or ignores:
//!
//! | key | meaning (as in libpq) |
//! | --- | --- |
//! | `sslmode` | `disable`; `prefer` (the default: TLS when the server offers it, unverified); `require` (TLS, unverified, or verified against `sslrootcert` when one is given); `verify-ca` (the chain must lead to `sslrootcert`); `verify-full` (that, and the certificate names the host) |
//! | `sslrootcert` | PEM file of the certificate authorities to trust |
//! | `sslcert`, `sslkey` | PEM client certificate and its key, sent when the server asks |
//!
//! [`parse`] takes these keys out, hands the rest to `tokio-postgres`, and returns the
//! [`TlsOptions`]; [`TlsOptions::connector`] reads the files and builds the `rustls`
//! connector that `tokio_postgres::Config::connect` (or a pool) takes:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let (config, tls) = pg_tls::parse("postgresql://app@db.example/app?sslmode=verify-full&sslrootcert=/etc/ca.pem")?;
//! let (client, connection) = config.connect(tls.connector()?).await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod connector;
mod options;

pub use connector::Connector;
pub use options::{SslMode, TlsOptions, parse};

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
