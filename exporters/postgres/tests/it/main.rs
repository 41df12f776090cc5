//! Integration tests against real PostgreSQL servers: the shared local one (a fresh database
//! per test) and clusters of the tests' own (primary and streaming replica) for what stops,
//! breaks or replicates servers.

mod cli;
mod cluster;
mod exposition;
mod failures;
mod metrics;
mod replication;

use std::sync::Arc;

use clap::Parser as _;
use pg_exporter::cli::Args;
use pg_exporter::exporter::Exporter;

/// Builds an exporter from command-line style arguments (no HTTP server).
pub fn exporter(dsn: &str, extra: &[&str]) -> Arc<Exporter> {
    let mut argv = vec![
        "pg-exporter",
        "--data-source-name",
        dsn,
        "--web.listen-address",
        "127.0.0.1:0",
    ];
    argv.extend_from_slice(extra);
    let args = Args::try_parse_from(argv).expect("valid arguments");
    pg_exporter::startup::build(&args)
        .expect("exporter builds")
        .0
}

/// Starts the whole server on a free port; returns its base URL and the running handle.
pub async fn serve(dsn: &str, extra: &[&str]) -> (String, exporter_kit::server::Running) {
    let mut argv = vec![
        "pg-exporter",
        "--data-source-name",
        dsn,
        "--web.listen-address",
        "127.0.0.1:0",
    ];
    argv.extend_from_slice(extra);
    let args = Args::try_parse_from(argv).expect("valid arguments");
    let (_, server) = pg_exporter::startup::build(&args).expect("exporter builds");
    let running = server.start().await.expect("server starts");
    (format!("http://{}", running.addresses[0]), running)
}
