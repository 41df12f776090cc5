//! `pg-exporter`: PostgreSQL and forum metrics for Prometheus.
//!
//! - [`dsn`]: the data source name, and keeping its password out of sight;
//! - [`session`]: one connection and its queries;
//! - [`collectors`]: the SQL behind each metric family (postgres_exporter's names);
//! - [`queries`]: custom queries from a file;
//! - [`snapshot`]: a scrape's metrics as data, encoded by `prometheus-client`;
//! - [`target`]: one server and its scrape; [`exporter`]: `/metrics`, `/probe`, own metrics;
//! - [`probe`]: the auth modules that say what `/probe` may connect to, and as whom;
//! - [`cli`] and [`startup`]: flags and wiring.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod collectors;
pub mod dsn;
pub mod exporter;
pub mod probe;
pub mod queries;
pub mod session;
pub mod snapshot;
pub mod startup;
pub mod target;
