//! The router of one role: pages (`web`), `/api/` (`api`) or both (`all`), plus `/healthz`,
//! `/readyz` and `/metrics` on every role, under the middleware of [`crate::http`]. Tests drive
//! it with `tower::ServiceExt::oneshot`, without a socket.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};

use crate::http::{health, middleware};
use crate::state::AppState;
use crate::{api, web};

/// Largest request body accepted (forms and JSON): 256 KiB.
pub const BODY_LIMIT: usize = 256 * 1024;

/// The router of the role of `state.config`.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new().merge(health::routes());
    if state.config.role.serves_web() {
        router = router.merge(web::routes());
    }
    if state.config.role.serves_api() {
        router = router.merge(api::routes());
    }
    router
        .fallback(web::not_found)
        .layer(from_fn_with_state(
            state.clone(),
            middleware::invalidate_after_writes,
        ))
        .layer(from_fn_with_state(state.clone(), middleware::track))
        .layer(from_fn_with_state(state.clone(), middleware::csrf_cookie))
        .layer(from_fn(middleware::browser_protections))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}
