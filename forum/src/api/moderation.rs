//! Thread moderation (`PATCH /api/threads/{id}/`) and polls (`/api/threads/{id}/poll/`).
//! The rules are the models' (the pages call the same functions).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::{ApiJson, ApiResult, login_as_401};
use crate::auth::Viewer;
use crate::error::AppError;
use crate::http::parse_id;
use crate::models::threads::{self, Moderation};
use crate::models::visibility;
use crate::models::{polls, thread_actions};
use crate::state::AppState;

/// What a moderator changes; absent fields stay as they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadPatch {
    /// Pin or unpin.
    pub is_pinned: Option<bool>,
    /// Close or open.
    pub is_closed: Option<bool>,
    /// Hide or unhide.
    pub is_hidden: Option<bool>,
    /// Move to this category.
    pub category_id: Option<i64>,
}

impl ThreadPatch {
    /// The moderation actions, in a fixed order; 422 when there is none.
    pub fn actions(&self) -> Result<Vec<Moderation>, AppError> {
        let actions: Vec<Moderation> = [
            self.is_pinned.map(Moderation::Pin),
            self.is_closed.map(Moderation::Close),
            self.is_hidden.map(Moderation::Hide),
            self.category_id.map(Moderation::Move),
        ]
        .into_iter()
        .flatten()
        .collect();
        if actions.is_empty() {
            return Err(AppError::invalid(
                "nothing to change: send is_pinned, is_closed, is_hidden or category_id",
            ));
        }
        Ok(actions)
    }
}

/// `PATCH /api/threads/{id}/` (the moderators of its category, as the pages'
/// [`thread_actions::moderate`]): pin / unpin, close / open, hide / unhide, move; all in one
/// transaction; 200 with the thread.
pub async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ThreadPatch>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    viewer.require_writer().map_err(login_as_401)?;
    let actions = patch.actions()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    for action in actions {
        thread_actions::moderate(&tx, id, viewer.access(), action)
            .await
            .map_err(AppError::in_field(match action {
                Moderation::Move(_) => "category_id",
                Moderation::Pin(_) => "is_pinned",
                Moderation::Close(_) => "is_closed",
                Moderation::Hide(_) => "is_hidden",
            }))?;
    }
    tx.commit().await?;
    let thread = threads::get(&client, id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(thread).into_response())
}

/// The thread `id` if the viewer may read it ([`visibility::readable_thread`]).
async fn visible_thread(
    client: &impl deadpool_postgres::GenericClient,
    id: i64,
    viewer: &Viewer,
) -> Result<(), AppError> {
    visibility::readable_thread(client, id, viewer.access()).await?;
    Ok(())
}

/// `GET /api/threads/{id}/poll/`: the poll with its results (voters' names on public polls);
/// 404 when the thread has none.
pub async fn poll_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    visible_thread(&client, id, &viewer).await?;
    let poll = polls::for_thread(&client, id, viewer.user_id())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(poll).into_response())
}

/// The vote body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteBody {
    /// Ids of the picked choices.
    pub choices: Vec<i64>,
}

/// `POST /api/threads/{id}/poll/vote`: 200 with the results; 409 when the poll has ended or
/// the user already voted in a poll without revotes; 422 for choices outside the poll or too
/// many of them.
pub async fn poll_vote(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VoteBody>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    visible_thread(&client, id, &viewer).await?;
    let tx = client.transaction().await?;
    polls::vote(&tx, id, user.id, &body.choices)
        .await
        .map_err(AppError::in_field("choices"))?;
    tx.commit().await?;
    let poll = polls::for_thread(&client, id, user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(poll).into_response())
}
