//! Reading the [`Viewer`] of a request: the session of the API bearer token or of the
//! `forum_session` cookie, the CSRF token, and the client address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::cookies::{CsrfToken, SESSION_COOKIE, cookie};
use crate::auth::{SessionKind, Viewer};
use crate::config::Config;
use crate::error::AppError;
use crate::models::permissions::RoleKey;
use crate::state::AppState;

/// The client address. Without `--trust-proxy`, the peer of the connection. With it, the
/// chain is the `X-Forwarded-For` hops followed by the peer; walking it from the right, hops
/// that are trusted proxies are skipped and the first other one is the client. A client can
/// prepend anything to the header, but it cannot make its own address disappear from the
/// right end, which the proxies it went through appended.
pub fn client_ip(parts: &Parts, config: &Config) -> String {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = if config.trust_proxy {
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        client_in_chain(&forwarded, peer, &config.trusted_proxies)
    } else {
        peer
    };
    ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
}

/// The rightmost address of `forwarded` + `peer` that is not in `trusted` (the leftmost
/// address when all are trusted). A hop that is not an address ends the walk: what lies left
/// of it cannot be told apart from what the client wrote.
fn client_in_chain(
    forwarded: &str,
    peer: Option<IpAddr>,
    trusted: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut last = None;
    if let Some(peer) = peer {
        if !is_trusted(&peer) {
            return Some(peer);
        }
        last = Some(peer);
    }
    for hop in forwarded
        .rsplit(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            return last;
        };
        if !is_trusted(&ip) {
            return Some(ip);
        }
        last = Some(ip);
    }
    last
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let ip = client_ip(parts, &state.config);
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        // Through the read cache: a member's page then needs no query for its session.
        let sessions = &state.cache;
        let found = match (bearer, cookie(&parts.headers, SESSION_COOKIE)) {
            (Some(token), _) => {
                sessions
                    .session(&state.pool, &token, SessionKind::Api)
                    .await?
            }
            (None, Some(token)) => {
                sessions
                    .session(&state.pool, token, SessionKind::User)
                    .await?
            }
            (None, None) => None,
        };
        let (user, session, marks) = match found {
            Some((u, h, m)) => (Some(u), Some(h), m),
            None => (None, None, Default::default()),
        };
        let grants = state
            .cache
            .grants(&state.pool, &RoleKey::of(user.as_ref()))
            .await?;
        Ok(Viewer {
            user,
            session,
            csrf,
            ip,
            grants,
            marks,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::client_in_chain;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn loopback() -> Vec<ipnet::IpNet> {
        crate::config::default_trusted_proxies()
    }

    #[test]
    fn a_spoofed_leftmost_hop_is_ignored() {
        // The client wrote "1.2.3.4"; nginx appended the address it saw, 203.0.113.9.
        let got = client_in_chain("1.2.3.4, 203.0.113.9", ip("127.0.0.1"), &loopback());
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn trusted_proxies_on_the_right_are_skipped() {
        let trusted = vec![
            "127.0.0.0/8".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let got = client_in_chain(
            "6.6.6.6, 198.51.100.7, 10.1.2.3, 127.0.0.1",
            ip("127.0.0.1"),
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let got = client_in_chain("127.0.0.5", ip("192.0.2.1"), &loopback());
        assert_eq!(got, ip("192.0.2.1"));
    }

    #[test]
    fn a_client_cannot_claim_a_loopback_address_to_pick_its_key() {
        // Behind nginx on loopback, a client that sends "127.0.0.2" still gets its own address.
        let got = client_in_chain("127.0.0.2, 198.51.100.7", ip("127.0.0.1"), &loopback());
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn garbage_stops_the_walk_and_all_trusted_gives_the_leftmost() {
        let got = client_in_chain("nonsense, 127.0.0.3", ip("127.0.0.1"), &loopback());
        assert_eq!(got, ip("127.0.0.3"));
        let got = client_in_chain("127.0.0.2", None, &loopback());
        assert_eq!(got, ip("127.0.0.2"));
        assert_eq!(client_in_chain("", None, &loopback()), None);
    }
}
