//! The JSON API under `/api/`. Writes need a session (bearer token from `POST /api/auth/login`,
//! or the session cookie); a browser request from another origin is refused (Origin check), and
//! JSON bodies need `Content-Type: application/json`, which a cross-site form cannot send; a
//! write with a content type a form can send is refused whatever its body (so actions without a
//! body, such as a like, are as safe as the JSON ones). The one multipart route, the attachment
//! upload, checks the CSRF token of cookie sessions instead.

pub mod account;
pub mod accounts;
pub mod attachments;
pub mod error;
pub mod moderation;
pub mod notifications;
pub mod people;
pub mod permissions;
pub mod post_actions;
pub mod posting;
pub mod private_threads;
pub mod queue;
pub mod search;
pub mod threads;

use axum::Json;
use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::json;

use self::error::ApiError;
use crate::error::AppError;
use crate::state::AppState;

/// The API routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(account::auth_login))
        .route("/api/auth/logout", post(account::auth_logout))
        .route(
            "/api/users/",
            get(people::index).post(account::users_create),
        )
        .route("/api/users/online/", get(people::online))
        .route("/api/users/{id}/", get(account::user_show))
        .route("/api/me/", get(account::me))
        .route("/api/me/password", post(account::password))
        .route("/api/categories/", get(threads::categories_index))
        .route("/api/threads/", get(threads::index).post(threads::create))
        .route(
            "/api/threads/{id}/",
            get(threads::show).patch(moderation::update),
        )
        .route("/api/threads/{id}/poll/", get(moderation::poll_show))
        .route("/api/threads/{id}/poll/vote", post(moderation::poll_vote))
        .route(
            "/api/threads/{id}/posts/",
            get(threads::posts_index).post(threads::posts_create),
        )
        .route(
            "/api/posts/{id}/",
            get(post_actions::show)
                .patch(post_actions::update)
                .delete(post_actions::delete),
        )
        .route("/api/posts/{id}/edits/", get(post_actions::edits))
        .route("/api/posts/{id}/restore", post(post_actions::restore))
        .route(
            "/api/posts/{id}/like",
            post(post_actions::like).delete(post_actions::unlike),
        )
        .route(
            "/api/posts/{id}/best-answer",
            post(post_actions::best_answer),
        )
        .route("/api/search/", get(search::index))
        .route("/api/moderation/queue/", get(queue::index))
        .route("/api/moderation/queue/{id}/", delete(queue::delete))
        .route("/api/moderation/queue/{id}/approve", post(queue::approve))
        .route("/api/moderation/queue/{id}/ban", post(queue::ban))
        .merge(accounts::routes())
        .merge(posting::routes())
        .merge(attachments::routes())
        .merge(permission_routes())
        .merge(notifications::routes())
        .route(
            "/api/{*rest}",
            get(api_not_found)
                .post(api_not_found)
                .patch(api_not_found)
                .delete(api_not_found),
        )
        .layer(axum::middleware::from_fn(origin_check))
}

/// Permissions and private threads.
fn permission_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/categories/{id}/permissions",
            get(permissions::show).put(permissions::update),
        )
        .route(
            "/api/roles/",
            get(permissions::roles_index).post(permissions::roles_create),
        )
        .route("/api/roles/{id}/", delete(permissions::roles_delete))
        .route(
            "/api/users/{id}/roles",
            get(permissions::user_roles).put(permissions::user_roles_update),
        )
        .route(
            "/api/private-threads/",
            get(private_threads::index).post(private_threads::create),
        )
        .route(
            "/api/private-threads/{id}/participants",
            post(private_threads::invite),
        )
        .route(
            "/api/private-threads/{id}/participants/{user_id}",
            delete(private_threads::remove),
        )
}

async fn api_not_found() -> ApiError {
    ApiError(AppError::NotFound)
}

/// Refuses state-changing requests whose `Origin` is not this host (cross-site requests from
/// browsers). Clients that send no `Origin` (curl, servers) are not browsers and pass. A write
/// whose content type is one an HTML form can send is refused with 415: the API takes JSON.
pub async fn origin_check(req: Request, next: Next) -> Response {
    let writes =
        req.method() != axum::http::Method::GET && req.method() != axum::http::Method::HEAD;
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            [
                "application/x-www-form-urlencoded",
                "multipart/form-data",
                "text/plain",
            ]
            .contains(&v.as_str())
        });
    // Uploads are multipart by nature; their handler checks the CSRF token of cookie
    // sessions itself (`api::attachments`).
    let upload = req.uri().path() == "/api/attachments/";
    if writes && form_type && !upload {
        let body = json!({ "error": "the API takes JSON bodies (Content-Type: application/json)" });
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, Json(body)).into_response();
    }
    if let Some(origin) = req.headers().get(header::ORIGIN).filter(|_| writes) {
        let host = req
            .headers()
            .get("x-forwarded-host")
            .or_else(|| req.headers().get(header::HOST));
        let same = match (origin.to_str().ok(), host.and_then(|h| h.to_str().ok())) {
            (Some(o), Some(h)) => o.split_once("://").is_some_and(|(_, rest)| rest == h),
            _ => false,
        };
        if !same {
            return ApiError(AppError::Forbidden("cross-origin request refused".into()))
                .into_response();
        }
    }
    next.run(req).await
}
