//! The middleware of the router: request metrics, the CSRF cookie, dropping the read cache
//! after writes, and the browser protections of every response.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use super::cookies::{
    ADMIN_COOKIE, CSRF_COOKIE, CsrfToken, SESSION_COOKIE, cookie, secure, set_cookie,
};
use crate::password::random_token;
use crate::state::AppState;

/// Counts every request of the router in `forum_http_requests_total` and its duration.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    // A standard method clones without allocating.
    let method = req.method().clone();
    let res = next.run(req).await;
    state.metrics.observe(
        method.as_str(),
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
    let https = fresh && secure(&state.config, req.headers());
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

/// The Content-Security-Policy of every response: scripts only from the forum's own files (no
/// inline script or event handlers), no plugins, no framing by other sites, forms posting only
/// to the forum. Inline `style` attributes (indents, poll bars) are allowed; images may come
/// from HTTPS sites because posts link them.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Adds the browser protections to every response: the CSP above, `X-Frame-Options: DENY`,
/// `X-Content-Type-Options: nosniff`, `Referrer-Policy`, and `Cache-Control: no-store` on
/// answers to a logged-in user (session cookie or bearer token), to the admin panel, and on
/// answers that set a session cookie (not on the shared `/static/` files), so a shared computer's cache or history keeps no private
/// page. Anonymous pages stay cacheable.
pub async fn browser_protections(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    // The embedded assets are the same for everyone and keep their own caching.
    let private = !path.starts_with("/static/")
        && (path.starts_with("/admin")
            || cookie(req.headers(), SESSION_COOKIE).is_some()
            || cookie(req.headers(), ADMIN_COOKIE).is_some()
            || req.headers().contains_key(AUTHORIZATION));
    let mut res = next.run(req).await;
    let sets_session = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with(SESSION_COOKIE) || v.starts_with(ADMIN_COOKIE));
    let h = res.headers_mut();
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if private || sets_session {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
