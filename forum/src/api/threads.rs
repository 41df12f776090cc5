//! Categories, thread lists, threads and their posts, and search: `/api/categories/`,
//! `/api/threads/...`, `/api/search/`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiJson, ApiResult, login_as_401};
use crate::auth::Viewer;
use crate::error::AppError;
use crate::http::parse_id;
use crate::models::permissions::{PRIVATE_CATEGORY, PermissionTable};
use crate::models::polls::{self, NewPoll};
use crate::models::posts::{self, PostBody};
use crate::models::reads::Marks;
use crate::models::threads::{self, Cursor, ThreadTitle};
use crate::models::visibility;
use crate::models::{policy, private_threads};
use crate::publish::{self, Published};
use crate::state::AppState;

/// 202 for a post or thread that waits in the moderation queue.
fn queued(queue_id: i64) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({ "queued": true, "queue_id": queue_id, "message": publish::QUEUED_NOTICE })),
    )
        .into_response()
}

/// `GET /api/categories/`: the tree the viewer sees in display order, with depth and subtree
/// counts (of what they see).
pub async fn categories_index(viewer: Viewer) -> ApiResult<Response> {
    Ok(Json(json!({ "results": viewer.grants.flat() })).into_response())
}

/// `?category=&after=`.
#[derive(Debug, Deserialize)]
pub struct ThreadsQuery {
    /// Category (with its subcategories).
    pub category: Option<String>,
    /// Keyset cursor.
    pub after: Option<String>,
}

/// `GET /api/threads/`: the newest threads of the categories the viewer sees (as `/`), or a
/// category's with `?category=` (404 for one they do not see). The first page of the newest
/// as those who moderate none of them see it comes from the read cache, serialised.
pub async fn index(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ThreadsQuery>,
) -> ApiResult<Response> {
    let cursor = q
        .after
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(Cursor::parse)
        .transpose()?;
    let grants = &viewer.grants;
    let category = q.category.as_deref().filter(|s| !s.is_empty());
    if cursor.is_none() && !grants.moderates_any() && category.is_none() {
        let body = state
            .cache
            .newest_json(&state.pool, grants, state.config.threads_per_page)
            .await?;
        let body = if viewer.user.is_some() {
            let list = state
                .cache
                .newest(&state.pool, grants, state.config.threads_per_page)
                .await?;
            let marks = viewer_marks(&state, &viewer, &list.threads).await?;
            with_marks(&body, &marks)
        } else {
            body
        };
        return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
    }
    let ids = match category {
        Some(c) => {
            let id: i64 = c
                .parse()
                .map_err(|_| AppError::invalid("category must be an id"))?;
            let tree = if grants.tree().get(id).is_some() {
                grants.tree().clone()
            } else {
                // Created by another process a moment ago, or not seen, or missing.
                let client = state.pool.get().await?;
                PermissionTable::load(&client)
                    .await?
                    .grants(grants.key())
                    .tree()
                    .clone()
            };
            policy::check_see_category(viewer.access(), id)
                .or_else(|e| tree.get(id).map(|_| ()).ok_or(e))?;
            Some(tree.subtree_ids(id))
        }
        None => (!grants.sees_all()).then(|| grants.seen().to_vec()),
    };
    let moderator = grants.moderates_all(ids.as_deref().unwrap_or(grants.seen()));
    let client = state.pool.get().await?;
    let (results, next) = threads::list(
        &client,
        ids.as_deref(),
        cursor,
        state.config.threads_per_page,
        moderator,
    )
    .await?;
    if viewer.user.is_some() {
        let marks = viewer_marks(&state, &viewer, &results).await?;
        return Ok(Json(json!({ "results": results, "next": next, "marks": marks.0.iter()
            .map(|(id, m)| (id.to_string(), m.as_str())).collect::<std::collections::BTreeMap<_, _>>() }))
        .into_response());
    }
    Ok(Json(json!({ "results": results, "next": next })).into_response())
}

/// The logged-in viewer's new and unread marks of `threads` (no query when all are older
/// than their "all read" mark).
async fn viewer_marks(
    state: &AppState,
    viewer: &Viewer,
    threads: &[threads::ThreadSummary],
) -> Result<Marks, AppError> {
    let (Some(user), Some(before)) = (viewer.user.as_ref(), viewer.marks.read_all_before) else {
        return Ok(Marks::default());
    };
    let recent: Vec<&threads::ThreadSummary> = threads
        .iter()
        .filter(|t| t.last_activity_at > before)
        .collect();
    if recent.is_empty() {
        return Ok(Marks::default());
    }
    state
        .cache
        .marks(&state.pool, user.id, before, &recent)
        .await
}

/// The cached list `body` (a JSON object) with a `marks` member: thread id to `new` or
/// `unread`, for the threads that are not read.
fn with_marks(body: &bytes::Bytes, marks: &Marks) -> bytes::Bytes {
    let Some(end) = body.iter().rposition(|b| *b == b'}') else {
        return body.clone();
    };
    let mut out = Vec::with_capacity(body.len() + 16 + marks.0.len() * 16);
    out.extend_from_slice(&body[..end]);
    out.extend_from_slice(b",\"marks\":{");
    for (i, (id, m)) in marks.0.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"{id}\":\"{}\"", m.as_str()).as_bytes());
    }
    out.extend_from_slice(b"}}");
    bytes::Bytes::from(out)
}

/// New thread body.
#[derive(Deserialize)]
pub struct NewThreadBody {
    /// Category id.
    pub category_id: i64,
    /// Title.
    pub title: String,
    /// First post (Markdown).
    pub body: String,
    /// Optional poll.
    pub poll: Option<PollBody>,
}

/// A poll in a new thread.
#[derive(Deserialize)]
pub struct PollBody {
    /// Question.
    pub question: String,
    /// 2-20 choices.
    pub choices: Vec<String>,
    /// Choices per vote (default 1).
    #[serde(default)]
    pub max_choices: Option<i32>,
    /// Length in hours (0 or absent: no end).
    #[serde(default)]
    pub hours: Option<i64>,
    /// Revote allowed.
    #[serde(default)]
    pub allow_revote: bool,
    /// Public votes.
    #[serde(default)]
    pub is_public: bool,
}

/// `POST /api/threads/`: 201 with the thread.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<NewThreadBody>,
) -> ApiResult<Response> {
    let user = viewer.require_writer().map_err(login_as_401)?;
    let title = ThreadTitle::parse(&body.title)?;
    let text = PostBody::parse(&body.body)?;
    let poll = body
        .poll
        .as_ref()
        .map(|p| {
            NewPoll::parse(
                &p.question,
                &p.choices.join("\n"),
                p.max_choices.unwrap_or(1),
                p.hours.unwrap_or(0),
                p.allow_revote,
                p.is_public,
            )
        })
        .transpose()?;
    let mut client = state.pool.get().await?;
    let published = publish::thread(
        &mut client,
        state.publish_rules(),
        user,
        viewer.access(),
        &viewer.ip,
        publish::NewThread {
            category_id: body.category_id,
            title: &title,
            body: &text,
            poll: poll.as_ref(),
        },
    )
    .await
    .map_err(|e| match e {
        AppError::NotFound => AppError::invalid("that category does not exist"),
        e => e,
    })?;
    let id = match published {
        Published::Written(id) => id,
        Published::Queued(queue_id) => return Ok(queued(queue_id)),
    };
    let thread = threads::get(&client, id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/threads/{id}/"))],
        Json(thread),
    )
        .into_response())
}

/// `GET /api/threads/{id}/`: the thread with its poll (and, for a private thread, its
/// participants); 404 when the viewer may not see it, 403 when they may not read it.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let (thread, _) = visibility::readable_thread(&client, id, viewer.access()).await?;
    let poll = polls::for_thread(&client, id, viewer.user_id()).await?;
    if thread.category_id == PRIVATE_CATEGORY {
        let participants = private_threads::participants(&client, id).await?;
        return Ok(Json(
            json!({ "thread": thread, "poll": poll, "private": true, "participants": participants }),
        )
        .into_response());
    }
    Ok(Json(json!({ "thread": thread, "poll": poll })).into_response())
}

/// `?page=`.
#[derive(Debug, Deserialize)]
pub struct PostsQuery {
    /// 1-based page.
    pub page: Option<i64>,
}

/// `GET /api/threads/{id}/posts/`.
pub async fn posts_index(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<PostsQuery>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let client = state.pool.get().await?;
    let (thread, access) = visibility::readable_thread(&client, id, viewer.access()).await?;
    let mut results = posts::page(
        &client,
        id,
        page,
        state.config.posts_per_page,
        viewer.user_id(),
    )
    .await?;
    for p in results
        .iter_mut()
        .filter(|p| !policy::may_read_post(access, &thread, p))
    {
        p.body.clear();
        p.body_html.clear();
    }
    Ok(Json(json!({ "results": results, "page": page })).into_response())
}

/// Reply body.
#[derive(Deserialize)]
pub struct ReplyBody {
    /// Markdown text.
    pub body: String,
}

/// `POST /api/threads/{id}/posts/`: 201 with the post.
pub async fn posts_create(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let text = PostBody::parse(&body.body)?;
    let mut client = state.pool.get().await?;
    let published = publish::reply(
        &mut client,
        state.publish_rules(),
        user,
        viewer.access(),
        &viewer.ip,
        id,
        &text,
    )
    .await?;
    let post_id = match published {
        Published::Written(id) => id,
        Published::Queued(queue_id) => return Ok(queued(queue_id)),
    };
    let post = posts::get(&client, post_id).await?;
    Ok((StatusCode::CREATED, Json(post)).into_response())
}
