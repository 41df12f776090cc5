//! Command-line flags; each has an environment twin.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::collectors::{Preset, TableOrder};
use crate::dsn::Dsn;

/// PostgreSQL and forum metrics for Prometheus.
#[derive(Parser, Debug, Clone)]
#[command(name = "pg-exporter", version, about, long_about = None)]
pub struct Args {
    /// The server to watch: a URL (postgresql://user:pass@host:5432/db?sslmode=disable) or a
    /// key=value string, as postgres_exporter takes it.
    #[arg(
        long = "data-source-name",
        env = "DATA_SOURCE_NAME",
        hide_env_values = true
    )]
    pub data_source_name: Option<String>,

    /// Used when DATA_SOURCE_NAME is not set: host:port/db?options, with DATA_SOURCE_USER and
    /// DATA_SOURCE_PASS (or DATA_SOURCE_PASS_FILE).
    #[arg(
        long = "data-source-uri",
        env = "DATA_SOURCE_URI",
        hide_env_values = true
    )]
    pub data_source_uri: Option<String>,

    /// User for DATA_SOURCE_URI.
    #[arg(long = "data-source-user", env = "DATA_SOURCE_USER")]
    pub data_source_user: Option<String>,

    /// Password for DATA_SOURCE_URI.
    #[arg(
        long = "data-source-pass",
        env = "DATA_SOURCE_PASS",
        hide_env_values = true
    )]
    pub data_source_pass: Option<String>,

    /// File holding the password for DATA_SOURCE_URI.
    #[arg(long = "data-source-pass-file", env = "DATA_SOURCE_PASS_FILE")]
    pub data_source_pass_file: Option<PathBuf>,

    /// Forum metrics preset.
    #[arg(long, env = "PG_EXPORTER_PRESET", value_enum, default_value = "forum")]
    pub preset: Preset,

    /// Custom queries file (YAML, or TOML when it ends in .toml).
    #[arg(long, env = "PG_EXPORTER_QUERIES")]
    pub queries: Option<PathBuf>,

    /// statement_timeout of every query that sets none of its own (e.g. 5s, 500ms).
    #[arg(long = "statement-timeout", env = "PG_EXPORTER_STATEMENT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub statement_timeout: Duration,

    /// Scrape timeout when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds header.
    #[arg(long = "scrape-timeout", env = "PG_EXPORTER_SCRAPE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub scrape_timeout: Duration,

    /// Kept off Prometheus' scrape timeout so the answer arrives in time.
    #[arg(long = "scrape-timeout-offset", env = "PG_EXPORTER_SCRAPE_TIMEOUT_OFFSET", default_value = "500ms", value_parser = parse_duration)]
    pub scrape_timeout_offset: Duration,

    /// Connection timeout (also bounded by the scrape deadline).
    #[arg(long = "connect-timeout", env = "PG_EXPORTER_CONNECT_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// Connections per server: 1, or 2 to run the database size walk on a second one while
    /// the other collectors run on the first.
    #[arg(
        long = "scrape.connections",
        env = "PG_EXPORTER_SCRAPE_CONNECTIONS",
        default_value_t = 1,
        value_parser = clap::value_parser!(u8).range(1..=2)
    )]
    pub scrape_connections: u8,

    /// Per-table metrics for at most this many tables of the connected database (0: none).
    #[arg(
        long = "tables.limit",
        env = "PG_EXPORTER_TABLES_LIMIT",
        default_value_t = 100
    )]
    pub tables_limit: u32,

    /// Which tables get per-table metrics.
    #[arg(
        long = "tables.order-by",
        env = "PG_EXPORTER_TABLES_ORDER_BY",
        value_enum,
        default_value = "size"
    )]
    pub tables_order: TableOrder,

    /// Reuse the results of the slow, slowly changing collectors (database sizes, settings)
    /// for this long; 0 runs them on every scrape.
    #[arg(long = "cache.slow-collectors", env = "PG_EXPORTER_CACHE_SLOW_COLLECTORS", default_value = "30s", value_parser = parse_duration_or_zero)]
    pub slow_cache: Duration,

    /// Leave out the pg_settings_* metrics.
    #[arg(
        long = "disable-settings-metrics",
        env = "PG_EXPORTER_DISABLE_SETTINGS_METRICS"
    )]
    pub disable_settings_metrics: bool,

    /// At most this many /probe targets keep a connection; the least recently used goes.
    #[arg(
        long = "probe.max-targets",
        env = "PG_EXPORTER_PROBE_MAX_TARGETS",
        default_value_t = 16
    )]
    pub probe_max_targets: usize,

    /// Auth modules for /probe (postgres_exporter's format, with the hosts each may be sent
    /// to); without it /probe is off.
    #[arg(long = "config.file", env = "PG_EXPORTER_CONFIG_FILE")]
    pub auth_modules_file: Option<PathBuf>,

    /// The shared `--web.*` flags.
    #[command(flatten)]
    pub web: exporter_kit::WebArgs,

    /// The shared logging flags.
    #[command(flatten)]
    pub log: service_kit::LogArgs,
}

fn parse_duration_or_zero(text: &str) -> Result<Duration, String> {
    match text.trim() {
        "0" | "0s" | "0ms" => Ok(Duration::ZERO),
        other => parse_duration(other),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 5s, 500ms, 1m)"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("{text:?} must be more than zero"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

impl Args {
    /// The DSN from DATA_SOURCE_NAME, or from DATA_SOURCE_URI and its user and password.
    pub fn dsn(&self) -> anyhow::Result<Dsn> {
        let mut dsn = if let Some(name) = &self.data_source_name {
            Dsn::parse(name)?
        } else if let Some(uri) = &self.data_source_uri {
            let password = match (&self.data_source_pass, &self.data_source_pass_file) {
                (Some(p), _) => Some(p.clone()),
                (None, Some(file)) => Some(
                    std::fs::read_to_string(file)
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "cannot read DATA_SOURCE_PASS_FILE {}: {e}",
                                file.display()
                            )
                        })?
                        .trim_end_matches(['\n', '\r'])
                        .to_string(),
                ),
                (None, None) => None,
            };
            Dsn::from_parts(uri, self.data_source_user.as_deref(), password.as_deref())?
        } else {
            anyhow::bail!(
                "DATA_SOURCE_NAME is not set (nor DATA_SOURCE_URI): say which server to watch"
            );
        };
        dsn.set_connect_timeout(self.connect_timeout);
        Ok(dsn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_duration_or_zero("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").is_err());
    }
}
