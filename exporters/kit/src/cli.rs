//! The `--web.*` flags every exporter shares, with the names Prometheus exporters use.
//!
//! Flatten [`WebArgs`] (and the service kit's `LogArgs`) into an exporter's own `clap` parser.
//! Each flag has an environment twin; a flag on the command line wins over the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use service_kit::listen::{ListenAddressError, parse_listen_address};

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
    pub fn addresses(&self, default_port: u16) -> Result<Vec<SocketAddr>, ListenAddressError> {
        if self.listen_address.is_empty() {
            return Ok(vec![SocketAddr::from(([0, 0, 0, 0], default_port))]);
        }
        self.listen_address
            .iter()
            .map(|a| parse_listen_address(a))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(addresses: &[&str]) -> WebArgs {
        WebArgs {
            listen_address: addresses.iter().map(|a| a.to_string()).collect(),
            telemetry_path: "/metrics".into(),
            config_file: None,
        }
    }

    #[test]
    fn no_address_means_the_registered_port_on_every_interface() {
        assert_eq!(
            web(&[]).addresses(9731).unwrap(),
            vec!["0.0.0.0:9731".parse().unwrap()]
        );
    }

    #[test]
    fn every_address_is_parsed_and_a_bad_one_is_named() {
        assert_eq!(
            web(&[":1", "127.0.0.1:2"]).addresses(9).unwrap(),
            vec!["0.0.0.0:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap()]
        );
        let err = web(&[":1", "what"]).addresses(9).unwrap_err().to_string();
        assert!(err.contains("\"what\""), "{err}");
    }
}
