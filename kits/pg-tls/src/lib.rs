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
mod error;
mod options;

pub use connector::Connector;
pub use error::Error;
pub use options::{SslMode, TlsOptions, parse};
