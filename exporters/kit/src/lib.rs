//! How an exporter of this workspace serves, written once.
//!
//! An exporter builds its metrics (a `prometheus-client` registry, or OpenMetrics text made
//! per scrape), then hands them to [`Server`], which serves:
//!
//! - `GET <telemetry path>` (default `/metrics`) in the Prometheus text format 0.0.4 or in
//!   OpenMetrics, chosen from the `Accept` header, gzip-compressed when the client asks (the
//!   service kit's exposition), with the service kit's `process_*` metrics added;
//! - `GET /` a landing page ([`landing`]), `GET /-/healthy` and `GET /-/ready`;
//! - optional TLS and basic auth ([`auth`]) from a web config file in the format of
//!   Prometheus' exporter toolkit ([`webconfig`]);
//!
//! and stops gracefully when the future given to [`Server::run`] completes. [`cli`] holds the
//! `--web.*` flags every exporter shares. What every binary of the workspace needs (logging,
//! build info, shutdown signal) is in the service kit.

#![forbid(unsafe_code)]

pub mod auth;
pub mod cli;
pub mod landing;
pub mod server;
pub mod webconfig;

pub use cli::WebArgs;
pub use server::{Collect, Metadata, ScrapeContext, Server, ServerError};
