//! The moderation queue for moderators: `GET /api/moderation/queue/`, and on an item
//! `POST .../{id}/approve`, `DELETE .../{id}/`, `POST .../{id}/ban` `{"days", "reason"}`. The
//! pages call the same model functions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiJson, ApiResult, login_as_401};
use crate::auth::Viewer;
use crate::http::parse_id;
use crate::models::moderation_queue;
use crate::state::AppState;

/// `GET /api/moderation/queue/`: `{results: [...]}`, oldest first.
pub async fn index(State(state): State<AppState>, viewer: Viewer) -> ApiResult<Response> {
    viewer.require_moderator().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    let results = moderation_queue::list(&client).await?;
    Ok(Json(json!({ "results": results })).into_response())
}

/// `POST /api/moderation/queue/{id}/approve`: 200 `{thread_id, post_id}`.
pub async fn approve(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    viewer.require_moderator().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let approved = moderation_queue::approve(&tx, id).await?;
    tx.commit().await?;
    Ok(Json(approved).into_response())
}

/// `DELETE /api/moderation/queue/{id}/`: 204.
pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    viewer.require_moderator().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    moderation_queue::delete(&client, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The ban of a queued item's author.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BanBody {
    /// Length in days.
    pub days: f64,
    /// Why (shown to the author).
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/moderation/queue/{id}/ban`: 200 `{user_id}`; the author's waiting posts go.
pub async fn ban(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BanBody>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    viewer.require_moderator().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let user_id = moderation_queue::ban_author(&tx, id, body.days, &body.reason).await?;
    tx.commit().await?;
    Ok(Json(json!({ "user_id": user_id })).into_response())
}
