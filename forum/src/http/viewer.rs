//! Reading the [`Viewer`] of a request: the session of the API bearer token or of the
//! `forum_session` cookie, the CSRF token, and the client address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::cookies::{CsrfToken, SESSION_COOKIE, cookie};
use crate::auth::{self, SessionKind, Viewer};
use crate::error::AppError;
use crate::state::AppState;

/// The client address: the first `X-Forwarded-For` hop behind a trusted proxy, else the peer.
pub fn client_ip(parts: &Parts, trust_proxy: bool) -> String {
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    if let Some(ip) = forwarded.filter(|_| trust_proxy) {
        return ip.to_string();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string())
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
        let ip = client_ip(parts, state.config.trust_proxy);
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let found = match (bearer, cookie(&parts.headers, SESSION_COOKIE)) {
            (Some(token), _) => auth::session_user(&state.pool, &token, SessionKind::Api).await?,
            (None, Some(token)) => {
                auth::session_user(&state.pool, token, SessionKind::User).await?
            }
            (None, None) => None,
        };
        let (user, session) = match found {
            Some((u, h)) => (Some(u), Some(h)),
            None => (None, None),
        };
        Ok(Viewer {
            user,
            session,
            csrf,
            ip,
        })
    }
}
