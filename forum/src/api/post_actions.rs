//! `/api/posts/{id}/...`: read, edit (history kept), soft delete, restore, like / unlike, and
//! mark as the best answer. The rules are the models' (the pages call the same functions).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiJson, ApiResult, login_as_401};
use crate::auth::Viewer;
use crate::error::AppError;
use crate::http::parse_id;
use crate::models::policy;
use crate::models::post_actions;
use crate::models::posts::{self, PostBody};
use crate::models::visibility::visible_post;
use crate::state::AppState;

/// `GET /api/posts/{id}/`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let (post, _, _) = visible_post(&client, id, viewer.access()).await?;
    Ok(Json(post).into_response())
}

/// The edit body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    /// The new Markdown text.
    pub body: String,
    /// Moderators redacting a post: hide its edit history from non-moderators.
    #[serde(default)]
    pub hide_history: bool,
}

/// `PATCH /api/posts/{id}/`: the author or a moderator edits; the old text goes to the history.
pub async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditBody>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let text = PostBody::parse(&body.body).map_err(AppError::in_field("body"))?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    post_actions::edit(&tx, id, user, viewer.access(), &text, body.hide_history).await?;
    tx.commit().await?;
    let (post, _, _) = visible_post(&client, id, viewer.access()).await?;
    Ok(Json(post).into_response())
}

/// `DELETE /api/posts/{id}/`: soft delete by the author or a moderator; 204.
pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    post_actions::set_deleted(&tx, id, user, viewer.access(), true).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/posts/{id}/restore`: a moderator undoes a soft delete; 200 with the post.
pub async fn restore(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    post_actions::set_deleted(&tx, id, user, viewer.access(), false).await?;
    tx.commit().await?;
    let (post, _, _) = visible_post(&client, id, viewer.access()).await?;
    Ok(Json(post).into_response())
}

/// `GET /api/posts/{id}/edits/`: the edit history, newest first, when
/// [`policy::may_read_history`] allows (as `/p/{id}/history`); 404 otherwise.
pub async fn edits(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let (post, thread, access) = visible_post(&client, id, viewer.access()).await?;
    if !policy::may_read_history(access, &thread, &post) {
        return Err(AppError::NotFound.into());
    }
    let results = posts::history(&client, id).await?;
    Ok(Json(json!({ "post_id": id, "results": results })).into_response())
}

async fn set_like(state: &AppState, viewer: &Viewer, id: &str, like: bool) -> ApiResult<Response> {
    let id = parse_id(id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    visible_post(&client, id, viewer.access()).await?;
    let tx = client.transaction().await?;
    let like_count = post_actions::set_like(&tx, id, user, viewer.access(), like).await?;
    tx.commit().await?;
    Ok(Json(json!({ "post_id": id, "like_count": like_count, "liked": like })).into_response())
}

/// `POST /api/posts/{id}/like`: 200 `{post_id, like_count, liked}` (liking twice changes
/// nothing); 403 on one's own post.
pub async fn like(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    set_like(&state, &viewer, &id, true).await
}

/// `DELETE /api/posts/{id}/like`.
pub async fn unlike(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    set_like(&state, &viewer, &id, false).await
}

/// `POST /api/posts/{id}/best-answer`: the thread's author or a moderator, in question
/// categories; 200 `{thread_id, best_answer_post_id}`.
pub async fn best_answer(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    visible_post(&client, id, viewer.access()).await?;
    let tx = client.transaction().await?;
    let thread_id = post_actions::mark_best(&tx, id, user, viewer.access()).await?;
    tx.commit().await?;
    Ok(Json(json!({ "thread_id": thread_id, "best_answer_post_id": id })).into_response())
}
