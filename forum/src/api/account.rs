//! Profiles and the current user: `GET /api/users/{id}/`, `GET /api/me/`,
//! `POST /api/me/password`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{ApiJson, login_as_401};
use crate::auth::{self, Viewer};
use crate::error::{ApiResult, AppError};
use crate::models::{posts, threads, users};
use crate::state::AppState;
use crate::web::parse_id;

/// `GET /api/users/{id}/`: the public profile with the user's newest threads and posts (as the
/// profile page).
pub async fn user_show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let profile = users::profile(&client, id).await?;
    let threads = threads::by_user(&client, id, 20).await?;
    let posts = posts::by_user(&client, id, 20).await?;
    Ok(Json(json!({ "user": profile, "threads": threads, "posts": posts })).into_response())
}

/// `GET /api/me/`: the logged-in user's profile and e-mail; 401 without a session.
pub async fn me(State(state): State<AppState>, viewer: Viewer) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    let profile = users::profile(&client, user.id).await?;
    let email: String = client
        .query_one("SELECT email FROM users WHERE id = $1", &[&user.id])
        .await?
        .get(0);
    Ok(Json(json!({
        "user": profile,
        "email": email,
        "is_moderator": user.is_moderator(),
        "is_banned": user.is_banned(),
    }))
    .into_response())
}

/// The change-password body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// The current password.
    pub current: String,
    /// The new password.
    pub new: String,
}

/// `POST /api/me/password`: 204; 422 naming `new` (too short) or `current` (wrong; counted by
/// the login rate limits, so 429 after too many); the user's other sessions end.
pub async fn password(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    auth::change_password(
        &state,
        &viewer.ip,
        user,
        viewer.session.as_deref(),
        &body.current,
        &body.new,
    )
    .await
    .map_err(|e| match e {
        // A wrong current password is a field error here: a 401 would tell the client its
        // session is gone.
        AppError::Unauthorized(message) => AppError::Field {
            field: "current",
            message,
        },
        e => AppError::in_field("new")(e),
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
