//! Command-line flags; each has an environment twin, and most a config-file twin (a flag or
//! variable wins over the file).

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser};
use exporter_kit::WebArgs;
use service_kit::{LogArgs, LogFormat};

/// nginx access logs to Prometheus metrics: per-endpoint requests, bytes, latency histograms,
/// top endpoints and named events (failed logins, 5xx, threads created), tailed without loss.
#[derive(Parser, Clone, Debug)]
#[command(name = "nginx-log-exporter", version, about, long_about = None)]
pub struct Args {
    /// Log file or glob to tail (repeatable, or comma-separated). Globs are re-scanned for new
    /// files.
    #[arg(long = "log-file", env = "NGINX_LOG_FILE", value_delimiter = ',')]
    pub log_file: Vec<String>,

    /// Access log format: `combined`, `forum`, `json`, or an nginx log_format string such as
    /// '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent'.
    /// Default: the config file's, else `forum`. (This exporter's own log output is
    /// `--log.format`.)
    // `--format` and `--log-format`, its older names, still work and are left out of --help.
    #[arg(
        long = "nginx.format",
        aliases = ["format", "log-format"],
        env = "NGINX_LOG_FORMAT",
        value_name = "NAME_OR_FORMAT_STRING",
        value_parser = access_log_format
    )]
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

    /// Client addresses reported per named event (`nginx_event_top_sources`); 0 turns the
    /// top sources off. Default: the config file's, else 10.
    #[arg(
        long = "source-top-k",
        env = "NGINX_LOG_SOURCE_TOP_K",
        value_name = "K"
    )]
    pub source_top_k: Option<usize>,

    /// The sliding window of the top sources (`30s`, `10m`, `1h`). Default: the config
    /// file's, else 10m.
    #[arg(long = "source-window", env = "NGINX_LOG_SOURCE_WINDOW", value_name = "DURATION", value_parser = parse_window)]
    pub source_window: Option<std::time::Duration>,

    /// The log variable (without `$`) that holds a line's client address, e.g.
    /// `http_x_forwarded_for`. Default: the config file's, else `remote_addr`.
    #[arg(
        long = "source-field",
        env = "NGINX_LOG_SOURCE_FIELD",
        value_name = "VARIABLE"
    )]
    pub source_field: Option<String>,

    /// Proxies (addresses or CIDR networks) skipped from the right of an `X-Forwarded-For`
    /// source field (repeatable, or comma-separated). Default: the config file's, else none.
    #[arg(long = "trusted-proxy", env = "NGINX_LOG_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxy: Vec<ipnet::IpNet>,

    /// How often files are polled for changes, in milliseconds (file events wake it sooner).
    #[arg(long, env = "NGINX_LOG_POLL_INTERVAL_MS", default_value_t = 200)]
    pub poll_interval_ms: u64,

    /// nginx stub_status URL to scrape on each scrape (e.g. http://127.0.0.1:8080/nginx_status).
    #[arg(long = "nginx.scrape-uri", env = "NGINX_SCRAPE_URI")]
    pub scrape_uri: Option<String>,

    #[command(flatten)]
    pub web: WebArgs,

    #[command(flatten)]
    pub log: OwnLogArgs,
}

/// The exporter's own log flags. `--log-format`, an old name of `--log.format` in the other
/// binaries, is an old name of `--nginx.format` here, so this struct has no alias for it.
#[derive(ClapArgs, Clone, Debug)]
pub struct OwnLogArgs {
    /// Format of this exporter's own log lines.
    #[arg(long = "log.format", env = "LOG_FORMAT", value_enum, default_value_t)]
    pub log_format: LogFormat,

    /// Log level or filter directive (`error`, `warn`, `info`, `debug`, `trace`, or
    /// `info,nginx_log_exporter=debug`).
    #[arg(
        long = "log.level",
        alias = "log-level",
        env = "LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: String,
}

impl OwnLogArgs {
    /// The shared form, for `service_kit::logging::init`.
    pub fn shared(&self) -> LogArgs {
        LogArgs {
            log_format: self.log_format,
            log_level: self.log_level.clone(),
        }
    }
}

/// Refuses `text`: it is this exporter's own log format (`--log.format`) given to the flag
/// that, here, names the access log's format.
fn access_log_format(value: &str) -> Result<String, String> {
    if value.trim() == "text" {
        return Err(
            "`text` is not an nginx log format (use combined, forum, json or an nginx \
             log_format string); this exporter's own log output is set with --log.format"
                .into(),
        );
    }
    Ok(value.to_string())
}

/// A window of at least a second: `30s`, `10m`, `1h`.
pub fn parse_window(value: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(value.trim()).map_err(|e| format!("{value:?}: {e}"))?;
    if d < std::time::Duration::from_secs(1) {
        return Err(format!("{value:?}: the window must be at least 1s"));
    }
    Ok(d)
}

/// An address (`10.0.0.1`, a single host) or a network (`10.0.0.0/8`).
pub fn parse_net(value: &str) -> Result<ipnet::IpNet, String> {
    let value = value.trim();
    value
        .parse::<ipnet::IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{value:?} is not an address or a CIDR network"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("nginx-log-exporter").chain(args.iter().copied()))
    }

    #[test]
    fn nginx_format_is_the_access_log_format_with_two_older_names() {
        let a = parse(&["--nginx.format", "forum"]).unwrap();
        assert_eq!(a.format.as_deref(), Some("forum"));
        let a = parse(&["--log-format", "combined"]).unwrap();
        assert_eq!(a.format.as_deref(), Some("combined"));
        let a = parse(&["--format", "$status \"$request\""]).unwrap();
        assert_eq!(a.format.as_deref(), Some("$status \"$request\""));
        let a = parse(&["--log-format=json"]).unwrap();
        assert_eq!(a.format.as_deref(), Some("json"));
        assert_eq!(a.log.log_format, LogFormat::Text);
    }

    #[test]
    fn source_flags_parse_windows_and_networks() {
        let a = parse(&[
            "--source-top-k",
            "5",
            "--source-window",
            "90s",
            "--source-field",
            "http_x_forwarded_for",
            "--trusted-proxy",
            "10.0.0.0/8,192.0.2.1",
        ])
        .unwrap();
        assert_eq!(a.source_top_k, Some(5));
        assert_eq!(a.source_window, Some(std::time::Duration::from_secs(90)));
        assert_eq!(a.source_field.as_deref(), Some("http_x_forwarded_for"));
        assert_eq!(
            a.trusted_proxy
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["10.0.0.0/8", "192.0.2.1/32"]
        );
        assert!(parse(&["--source-window", "10ms"]).is_err());
        assert!(parse(&["--trusted-proxy", "nope"]).is_err());
        let a = parse(&[]).unwrap();
        assert_eq!((a.source_top_k, a.source_window), (None, None));
    }

    #[test]
    fn the_own_log_format_is_log_dot_format() {
        let a = parse(&["--log.format", "json", "--log-level", "warn"]).unwrap();
        assert_eq!(a.log.log_format, LogFormat::Json);
        assert_eq!(a.log.shared().log_level, "warn");
        let a = parse(&["--log.level", "debug", "--log.format", "logfmt"]).unwrap();
        assert_eq!(a.log.log_format, LogFormat::Logfmt);
        assert_eq!(a.log.shared().log_level, "debug");
        assert!(a.format.is_none());
        assert!(parse(&["--log.format", "combined"]).is_err());
    }

    #[test]
    fn log_format_text_is_refused_with_a_pointer_to_log_dot_format() {
        for args in [&["--log-format", "text"][..], &["--format=text"]] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains("`text` is not an nginx log format"), "{err}");
            assert!(err.contains("--log.format"), "{err}");
        }
    }
}
