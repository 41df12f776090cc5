//! The community forum the suite monitors: nested categories, threads, posts, polls, best
//! answers, moderation, an admin panel, a JSON API, and a background worker.
//!
//! `main.rs` is thin: [`cli::run`] parses the command line and starts a role; [`app`] builds the
//! router from an [`state::AppState`] so tests can drive it with `tower::ServiceExt::oneshot`.

#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod assets;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod db;
pub mod error;
pub mod mail;
pub mod markdown;
pub mod metrics;
pub mod models;
pub mod ratelimit;
pub mod seed;
pub mod state;
pub mod web;
pub mod worker;

pub use state::{AppState, Config, Role};

use axum::Router;
use axum::extract::DefaultBodyLimit;

/// Largest request body accepted (forms and JSON): 256 KiB.
pub const BODY_LIMIT: usize = 256 * 1024;

/// The router of one role: pages (`web`), `/api/` (`api`) or both (`all`), plus `/healthz`,
/// `/readyz` and `/metrics` on every role.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new().merge(web::health_routes());
    if state.config.role.serves_web() {
        router = router.merge(web::routes()).merge(admin::routes());
    }
    if state.config.role.serves_api() {
        router = router.merge(api::routes());
    }
    router
        .fallback(web::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cache::invalidate_after_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::csrf_cookie,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}
