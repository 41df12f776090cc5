//! What every exporter of this workspace serves, written once.
//!
//! An exporter builds its metrics (a `prometheus-client` registry, or OpenMetrics text made
//! per scrape), then hands them to [`Server`], which serves:
//!
//! - `GET <telemetry path>` (default `/metrics`) in the Prometheus text format 0.0.4 or in
//!   OpenMetrics, chosen from the `Accept` header, gzip-compressed when the client asks;
//! - `GET /` a landing page, `GET /-/healthy` and `GET /-/ready`;
//! - optional TLS and basic auth from a web config file in the format of Prometheus'
//!   exporter toolkit ([`webconfig`]);
//!
//! and stops gracefully on SIGTERM or SIGINT. [`cli`] holds the flags every exporter shares,
//! [`logging`] the `tracing` setup, [`build_info`] the `<prefix>_build_info` gauge.

#![forbid(unsafe_code)]

pub mod build_info;
pub mod cli;
pub mod exposition;
pub mod logging;
pub mod server;
pub mod webconfig;

pub use build_info::{BuildInfo, register_build_info};
pub use cli::{LogArgs, LogFormat, WebArgs};
pub use exposition::Format;
pub use server::{Collect, Metadata, ScrapeContext, Server, shutdown_signal};
