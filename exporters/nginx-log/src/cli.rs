//! Command-line flags; each has an environment twin, and most a config-file twin (a flag or
//! variable wins over the file).

use std::path::PathBuf;

use clap::Parser;
use exporter_common::{LogArgs, WebArgs};

/// nginx access logs to Prometheus metrics: per-endpoint requests, bytes, latency histograms,
/// top endpoints and named events (failed logins, 5xx, threads created), tailed without loss.
#[derive(Parser, Clone, Debug)]
#[command(name = "nginx-log-exporter", version, about, long_about = None)]
pub struct Args {
    /// Log file or glob to tail (repeatable, or comma-separated). Globs are re-scanned for new
    /// files.
    #[arg(long = "log-file", env = "NGINX_LOG_FILE", value_delimiter = ',')]
    pub log_file: Vec<String>,

    /// Log format: `combined`, `forum`, `json`, or an nginx log_format string such as
    /// '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent'.
    /// Default: the config file's, else `forum`.
    #[arg(long = "format", env = "NGINX_LOG_FORMAT")]
    pub format: Option<String>,

    /// Endpoint and event preset: `forum` (this project's forum), `misago` or `none`.
    /// Default: the config file's, else `forum`.
    #[arg(long, env = "NGINX_LOG_PRESET")]
    pub preset: Option<String>,

    /// Configuration file (TOML): formats, files with static labels, rules, events, buckets.
    #[arg(long, env = "NGINX_LOG_CONFIG")]
    pub config: Option<PathBuf>,

    /// Read files from their start instead of their end (when no checkpoint applies).
    #[arg(long, env = "NGINX_LOG_FROM_START")]
    pub from_start: bool,

    /// Checkpoint file: where each file was read up to, so a restart resumes there.
    #[arg(long, env = "NGINX_LOG_CHECKPOINT")]
    pub checkpoint: Option<PathBuf>,

    /// Read the files to their end, print the metrics on stdout and exit (benchmarks).
    #[arg(long)]
    pub one_shot: bool,

    /// Label statuses by class (`2xx`, `5xx`) instead of by code.
    #[arg(long, env = "NGINX_LOG_STATUS_CLASS")]
    pub status_class: bool,

    /// Distinct endpoints kept before new ones are counted as `other`.
    #[arg(long, env = "NGINX_LOG_MAX_ENDPOINTS")]
    pub max_endpoints: Option<usize>,

    /// Size of the top list (`nginx_http_top_requests_total`).
    #[arg(long, env = "NGINX_LOG_TOP_N")]
    pub top_n: Option<usize>,

    /// How often files are polled for changes, in milliseconds (file events wake it sooner).
    #[arg(long, env = "NGINX_LOG_POLL_INTERVAL_MS", default_value_t = 200)]
    pub poll_interval_ms: u64,

    /// nginx stub_status URL to scrape on each scrape (e.g. http://127.0.0.1:8080/nginx_status).
    #[arg(long = "nginx.scrape-uri", env = "NGINX_SCRAPE_URI")]
    pub scrape_uri: Option<String>,

    #[command(flatten)]
    pub web: WebArgs,

    #[command(flatten)]
    pub log: LogArgs,
}
