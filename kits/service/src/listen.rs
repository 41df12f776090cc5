//! Listen addresses as operators write them: `host:port`, `[v6]:port` or `:port`.

use std::net::{SocketAddr, ToSocketAddrs as _};

/// A listen address that is neither an address nor a resolvable `host:port`.
#[derive(Debug, thiserror::Error)]
#[error("invalid listen address {value:?}: expected host:port or :port")]
pub struct ListenAddressError {
    /// The value as given.
    pub value: String,
}

/// Parses `host:port`, `[v6]:port` or `:port` (meaning every IPv4 interface). A host name such
/// as `localhost:9731` is resolved once, here.
pub fn parse_listen_address(value: &str) -> Result<SocketAddr, ListenAddressError> {
    let value = value.trim();
    let candidate = match value.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => value.to_string(),
    };
    if let Ok(addr) = candidate.parse() {
        return Ok(addr);
    }
    candidate
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| ListenAddressError {
            value: value.to_string(),
        })
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
