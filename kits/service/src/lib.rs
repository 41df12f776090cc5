//! What every binary of this workspace needs, written once: the forum (all its roles and its
//! worker), alert-relay and both exporters.
//!
//! - [`logging`]: the `--log.level` and `--log.format` flags and the `tracing` setup (text,
//!   JSON or [`logfmt`]);
//! - [`listen`]: listen addresses as operators write them (`:9731`, `host:port`);
//! - [`build_info`]: the `<prefix>_build_info` gauge and the revision it was built from;
//! - [`exposition`]: the answer to a scrape, in the Prometheus text format 0.0.4 or in
//!   OpenMetrics by content negotiation, gzip-compressed when asked;
//! - [`process`]: the standard `process_*` metrics (CPU, memory, file descriptors, start time);
//! - [`shutdown`]: the signal (SIGTERM or SIGINT) every server stops on.
//!
//! Serving an exporter (landing page, TLS, basic auth) is the exporter kit's job, not this
//! crate's: nothing here links TLS or password hashing.

#![forbid(unsafe_code)]

pub mod build_info;
pub mod exposition;
pub mod listen;
pub mod logfmt;
pub mod logging;
pub mod process;
pub mod shutdown;

pub use build_info::{BuildInfo, register_build_info};
pub use exposition::{Format, metrics_response};
pub use listen::parse_listen_address;
pub use logging::{LogArgs, LogFormat};
pub use shutdown::{Shutdown, shutdown_signal};
