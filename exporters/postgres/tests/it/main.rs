//! Integration tests against real PostgreSQL servers: the shared local one (a fresh database
//! per test) and clusters of the tests' own (primary and streaming replica) for what stops,
//! breaks or replicates servers.

mod cli;
mod cluster;
mod exposition;
mod failures;
mod metrics;
mod parity;
mod probe;
mod replication;
mod tls;
mod versions;

use std::sync::Arc;

use clap::Parser as _;
use pg_exporter::cli::Args;
use pg_exporter::exporter::Exporter;

/// Writes a `--config.file` with auth modules `(name, url, targets)`: each uses the user and
/// password of `url` and may be sent to `targets` (host patterns).
pub fn auth_modules(dir: &std::path::Path, modules: &[(&str, &str, &[&str])]) -> String {
    use std::str::FromStr as _;
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut yaml = String::from("auth_modules:\n");
    for (name, url, targets) in modules {
        let config = tokio_postgres::Config::from_str(url).expect("a URL");
        yaml.push_str(&format!(
            "  {name}:\n    type: userpass\n    userpass:\n      username: {}\n",
            quote(config.get_user().unwrap_or("postgres"))
        ));
        if let Some(pw) = config.get_password() {
            yaml.push_str(&format!(
                "      password: {}\n",
                quote(std::str::from_utf8(pw).unwrap())
            ));
        }
        yaml.push_str("    options: {sslmode: disable, connect_timeout: '1'}\n    targets: [");
        let targets: Vec<String> = targets.iter().map(|t| quote(t)).collect();
        yaml.push_str(&targets.join(", "));
        yaml.push_str("]\n");
    }
    let path = dir.join("pg-exporter.yml");
    std::fs::write(&path, yaml).unwrap();
    path.display().to_string()
}

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
