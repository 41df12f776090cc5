//! Posting after a thread starts, through the API: its poll (add, edit, close, reopen,
//! delete), unmarking a best answer, and the moderators' merge, move and split; plus the edit
//! time limit setting (administrators). The rules are the models' (the pages call the same
//! functions): [`crate::models::poll_admin`], [`crate::models::best_answer`],
//! [`crate::models::thread_ops`], [`crate::models::edit_limit`].

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiJson, ApiResult, login_as_401};
use super::threads::PollBody;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::http::parse_id;
use crate::models::polls::{self, NewPoll};
use crate::models::threads::{self, ThreadTitle};
use crate::models::{best_answer, edit_limit, poll_admin, thread_ops};
use crate::moderation_metrics::ModerationAction;
use crate::state::AppState;

/// The routes of this file.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/threads/{id}/poll/",
            post(poll_create).put(poll_update).delete(poll_delete),
        )
        .route("/api/threads/{id}/poll/close", post(poll_close))
        .route("/api/threads/{id}/poll/open", post(poll_open))
        .route("/api/posts/{id}/best-answer", delete(best_answer_unmark))
        .route("/api/threads/{id}/merge", post(thread_merge))
        .route("/api/threads/{id}/posts/move", post(posts_move))
        .route("/api/threads/{id}/posts/split", post(posts_split))
        .route(
            "/api/settings/edit-time-limit",
            get(edit_limit_show).put(edit_limit_update),
        )
}

fn parse_poll(p: &PollBody) -> Result<NewPoll, AppError> {
    NewPoll::parse(
        &p.question,
        &p.choices.join("\n"),
        p.max_choices.unwrap_or(1),
        p.hours.unwrap_or(0),
        p.allow_revote,
        p.is_public,
    )
}

/// The poll of thread `id` as `viewer` sees it, as JSON.
async fn poll_json(state: &AppState, id: i64, viewer: &Viewer) -> ApiResult<Json<polls::Poll>> {
    let client = state.pool.get().await?;
    let poll = polls::for_thread(&client, id, viewer.user_id())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(poll))
}

/// Runs one poll change in a transaction and answers the poll.
async fn poll_change(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    action: ModerationAction,
    poll: Option<&PollBody>,
) -> ApiResult<Response> {
    let id = parse_id(id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let parsed = poll.map(parse_poll).transpose()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    match (action, parsed.as_ref()) {
        (ModerationAction::PollAdd, Some(p)) => {
            poll_admin::add(&tx, id, user, p).await?;
        }
        (ModerationAction::PollEdit, Some(p)) => poll_admin::edit(&tx, id, user, p).await?,
        (ModerationAction::PollClose, _) => poll_admin::set_closed(&tx, id, user, true).await?,
        (ModerationAction::PollReopen, _) => poll_admin::set_closed(&tx, id, user, false).await?,
        (ModerationAction::PollDelete, _) => poll_admin::delete(&tx, id, user).await?,
        _ => return Err(AppError::invalid("send the poll").into()),
    }
    tx.commit().await?;
    state.metrics.moderation.count(action);
    drop(client);
    if action == ModerationAction::PollDelete {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let poll = poll_json(state, id, viewer).await?;
    let status = if action == ModerationAction::PollAdd {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, poll).into_response())
}

/// `POST /api/threads/{id}/poll/` (the poll of `POST /api/threads/`): the thread's starter or a
/// moderator adds a poll; 201 with it; 409 when the thread has one.
pub async fn poll_create(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PollBody>,
) -> ApiResult<Response> {
    poll_change(&state, &viewer, &id, ModerationAction::PollAdd, Some(&body)).await
}

/// `PUT /api/threads/{id}/poll/`: edits the poll (the whole poll is sent); 409 when people have
/// voted and the choices or choices per vote change, or secret votes would become public.
pub async fn poll_update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PollBody>,
) -> ApiResult<Response> {
    poll_change(
        &state,
        &viewer,
        &id,
        ModerationAction::PollEdit,
        Some(&body),
    )
    .await
}

/// `DELETE /api/threads/{id}/poll/`: deletes the poll and its votes; 204.
pub async fn poll_delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    poll_change(&state, &viewer, &id, ModerationAction::PollDelete, None).await
}

/// `POST /api/threads/{id}/poll/close`: no more votes (409 to voters) until reopened.
pub async fn poll_close(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    poll_change(&state, &viewer, &id, ModerationAction::PollClose, None).await
}

/// `POST /api/threads/{id}/poll/open`: reopens a closed poll.
pub async fn poll_open(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    poll_change(&state, &viewer, &id, ModerationAction::PollReopen, None).await
}

/// `DELETE /api/posts/{id}/best-answer`: the thread's starter or a moderator unmarks it; 200
/// `{thread_id, best_answer_post_id: null}`; 409 when the post is not the best answer.
pub async fn best_answer_unmark(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let thread_id = best_answer::unmark(&tx, id, user).await?;
    tx.commit().await?;
    state
        .metrics
        .moderation
        .count(ModerationAction::BestAnswerUnmark);
    Ok(Json(json!({ "thread_id": thread_id, "best_answer_post_id": null })).into_response())
}

/// The thread `id` as a moderator sees it.
async fn thread_json(state: &AppState, id: i64) -> ApiResult<Response> {
    let client = state.pool.get().await?;
    let thread = threads::get(&client, id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(thread).into_response())
}

/// The merge body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The thread that takes the posts.
    pub into: i64,
}

/// `POST /api/threads/{id}/merge` `{"into": A}` (moderators of both): thread `id`'s posts join
/// thread A, thread `id` disappears (`/api/threads/{id}/` is then 404; its page redirects to
/// A's); 200 with thread A.
pub async fn thread_merge(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MergeBody>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    thread_ops::merge(&tx, user, id, body.into).await?;
    tx.commit().await?;
    state
        .metrics
        .moderation
        .count(ModerationAction::MergeThreads);
    drop(client);
    thread_json(&state, body.into).await
}

/// The move body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// Ids of the posts to move.
    pub posts: Vec<i64>,
    /// The thread that takes them.
    pub thread_id: i64,
}

/// `POST /api/threads/{id}/posts/move` `{"posts": [...], "thread_id": A}` (moderators of both
/// threads): the posts join thread A in time order; 200 with thread A. 409 for the first post.
pub async fn posts_move(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveBody>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    thread_ops::move_posts(&tx, user, id, &body.posts, body.thread_id).await?;
    tx.commit().await?;
    state.metrics.moderation.count(ModerationAction::MovePosts);
    drop(client);
    thread_json(&state, body.thread_id).await
}

/// The split body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    /// Ids of the posts to split off.
    pub posts: Vec<i64>,
    /// The new thread's title.
    pub title: String,
    /// The new thread's category.
    pub category_id: i64,
}

/// `POST /api/threads/{id}/posts/split` `{"posts": [...], "title", "category_id"}`
/// (moderators): 201 with the new thread (`Location` its API address).
pub async fn posts_split(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SplitBody>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let title = ThreadTitle::parse(&body.title).map_err(AppError::in_field("title"))?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let new_id = thread_ops::split(&tx, user, id, &body.posts, &title, body.category_id).await?;
    tx.commit().await?;
    state.metrics.moderation.count(ModerationAction::SplitPosts);
    drop(client);
    let thread = thread_json(&state, new_id).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/threads/{new_id}/"))],
        thread,
    )
        .into_response())
}

/// `GET /api/settings/edit-time-limit`: `{"minutes": N}` (0: no limit); anyone may read it.
pub async fn edit_limit_show(State(state): State<AppState>) -> ApiResult<Response> {
    let client = state.pool.get().await?;
    let minutes = edit_limit::get(&client).await?;
    Ok(Json(json!({ "minutes": minutes })).into_response())
}

/// The edit time limit body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditLimitBody {
    /// Minutes after posting members may edit (0: no limit).
    pub minutes: i64,
}

/// `PUT /api/settings/edit-time-limit` `{"minutes": N}` (administrators): 200 `{"minutes"}`;
/// 422 outside 0 to a year.
pub async fn edit_limit_update(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<EditLimitBody>,
) -> ApiResult<Response> {
    let user = viewer.require_writer().map_err(login_as_401)?;
    if !user.is_admin() {
        return Err(AppError::Forbidden("only administrators can change settings".into()).into());
    }
    let minutes =
        edit_limit::parse(&body.minutes.to_string()).map_err(AppError::in_field("minutes"))?;
    let client = state.pool.get().await?;
    edit_limit::set(&client, minutes).await?;
    state.glance.forget_edit_limit();
    Ok(Json(json!({ "minutes": minutes })).into_response())
}
