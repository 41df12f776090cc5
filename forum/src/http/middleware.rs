//! The middleware of the router: request metrics, the CSRF cookie, and dropping the read cache
//! after writes.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::header::SET_COOKIE;
use axum::middleware::Next;
use axum::response::Response;

use super::cookies::{CSRF_COOKIE, CsrfToken, cookie, secure, set_cookie};
use crate::password::random_token;
use crate::state::AppState;

/// Counts every request of the router in `forum_http_requests_total` and its duration.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let res = next.run(req).await;
    state.metrics.observe(
        &method,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

/// Makes sure every browser has a `forum_csrf` cookie (set on the response when the request
/// had none), and makes the token available to handlers as a [`CsrfToken`] extension.
pub async fn csrf_cookie(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|t| t.len() == 64)
        .map(str::to_owned);
    let fresh = existing.is_none();
    let token = existing.unwrap_or_else(random_token);
    let https = secure(&state.config, req.headers());
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.run(req).await;
    if fresh {
        let value = set_cookie(CSRF_COOKIE, &token, "/", Some(365 * 24 * 3600), https);
        res.headers_mut().append(SET_COOKIE, value);
    }
    res
}

/// After any request that may have written (not GET, HEAD or OPTIONS) and was not refused
/// (4xx: nothing was committed), drops this process's read cache, so the writer's next read
/// sees the write without waiting for the notification. A handler that commits and still
/// answers 4xx is covered by the notification, a few milliseconds later.
pub async fn invalidate_after_writes(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let res = next.run(req).await;
    if !safe && !res.status().is_client_error() {
        state.cache.invalidate();
    }
    res
}
