//! The flags every exporter shares, with the names Prometheus exporters use.
//!
//! Flatten [`WebArgs`] and [`LogArgs`] into an exporter's own `clap` parser. Each flag has an
//! environment twin; a flag on the command line wins over the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// `--web.*` flags: where and how the exporter serves.
#[derive(Args, Clone, Debug)]
pub struct WebArgs {
    /// Addresses to listen on, as `host:port` or `:port` (all interfaces). Repeatable.
    /// Defaults to the exporter's registered port on all interfaces.
    #[arg(
        long = "web.listen-address",
        env = "WEB_LISTEN_ADDRESS",
        value_delimiter = ','
    )]
    pub listen_address: Vec<String>,

    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        env = "WEB_TELEMETRY_PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,

    /// Path to a web config file (exporter toolkit format) that enables TLS and/or basic auth.
    #[arg(long = "web.config.file", env = "WEB_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,
}

impl WebArgs {
    /// The socket addresses to bind: the flag's values, or `0.0.0.0:default_port`.
    pub fn addresses(&self, default_port: u16) -> anyhow::Result<Vec<SocketAddr>> {
        if self.listen_address.is_empty() {
            return Ok(vec![SocketAddr::from(([0, 0, 0, 0], default_port))]);
        }
        self.listen_address
            .iter()
            .map(|a| parse_listen_address(a))
            .collect()
    }
}

/// Parses `host:port`, `[v6]:port` or `:port` (meaning every IPv4 interface).
pub fn parse_listen_address(value: &str) -> anyhow::Result<SocketAddr> {
    let value = value.trim();
    let candidate = match value.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => value.to_string(),
    };
    if let Ok(addr) = candidate.parse() {
        return Ok(addr);
    }
    // A host name such as `localhost:9731`: resolve it once at start.
    use std::net::ToSocketAddrs;
    candidate
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| {
            anyhow::anyhow!("invalid --web.listen-address {value:?}: expected host:port or :port")
        })
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `--log.*` flags.
#[derive(Args, Clone, Debug)]
pub struct LogArgs {
    /// Log format.
    #[arg(
        long = "log-format",
        alias = "log.format",
        env = "LOG_FORMAT",
        value_enum,
        default_value_t
    )]
    pub log_format: LogFormat,

    /// Log level or filter directive (`error`, `warn`, `info`, `debug`, `trace`, or
    /// `info,my_crate=debug`).
    #[arg(
        long = "log-level",
        alias = "log.level",
        env = "LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_port_listens_on_every_interface() {
        assert_eq!(
            parse_listen_address(":9731").unwrap(),
            "0.0.0.0:9731".parse().unwrap()
        );
    }

    #[test]
    fn ipv6_and_ipv4_addresses_parse() {
        assert_eq!(
            parse_listen_address("[::1]:80").unwrap(),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            parse_listen_address("127.0.0.1:0").unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = parse_listen_address("nonsense").unwrap_err().to_string();
        assert!(err.contains("nonsense"), "{err}");
    }
}
