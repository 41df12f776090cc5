//! Notifications, watching, unread tracking and the notification preferences as JSON:
//! `/api/notifications/`, `/api/notifications/read`, `/api/threads/{id}/watch`,
//! `/api/watched/`, `/api/unread/`, `/api/unread/mark-read`, `/api/me/preferences/`.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::{ApiJson, ApiResult, login_as_401};
use crate::auth::Viewer;
use crate::error::AppError;
use crate::http::parse_id;
use crate::models::notifications::{self, Which};
use crate::models::preferences::{self, EmailPreference};
use crate::models::reads::{self, Mark};
use crate::models::{ThreadSummary, watching};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/notifications/", get(index))
        .route("/api/notifications/read", post(read))
        .route("/api/threads/{id}/watch", post(watch).delete(unwatch))
        .route("/api/watched/", get(watched))
        .route("/api/unread/", get(unread))
        .route("/api/unread/mark-read", post(mark_read))
        .route(
            "/api/me/preferences/",
            get(preferences_show).put(preferences_update),
        )
}

/// `GET /api/notifications/`: `{unread, items}`, newest first (at most 50).
pub async fn index(State(state): State<AppState>, viewer: Viewer) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    let (items, unread) = tokio::try_join!(
        notifications::list(&client, user),
        notifications::unread_count(&client, user.id)
    )?;
    Ok(Json(json!({ "unread": unread, "items": items })).into_response())
}

/// `POST /api/notifications/read` body: `{"ids": [...]}` or `{"all": true}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// These notifications.
    #[serde(default)]
    pub ids: Option<Vec<i64>>,
    /// All of them.
    #[serde(default)]
    pub all: Option<bool>,
}

/// `POST /api/notifications/read`: 200 `{marked, unread}`; 422 without `ids` or `all`.
pub async fn read(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<ReadBody>,
) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let which = match (body.all, body.ids) {
        (Some(true), _) => Which::All,
        (_, Some(ids)) => Which::Ids(ids),
        _ => {
            return Err(AppError::Field {
                field: "ids",
                message: "give `ids` (a list) or `\"all\": true`".into(),
            }
            .into());
        }
    };
    let client = state.pool.get().await?;
    let marked = notifications::mark_read(&client, user.id, &which).await?;
    let unread = notifications::unread_count(&client, user.id).await?;
    Ok(Json(json!({ "marked": marked, "unread": unread })).into_response())
}

async fn set_watch(state: &AppState, viewer: &Viewer, id: &str, on: bool) -> ApiResult<Response> {
    let id = parse_id(id)?;
    let user = viewer.require_user().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    if on {
        watching::watch(&client, user, id).await?;
    } else {
        watching::unwatch(&client, user.id, id).await?;
    }
    Ok(Json(json!({ "thread_id": id, "watching": on })).into_response())
}

/// `POST /api/threads/{id}/watch`: 200 `{thread_id, watching: true}`; 404 for a thread the
/// viewer may not see.
pub async fn watch(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    set_watch(&state, &viewer, &id, true).await
}

/// `DELETE /api/threads/{id}/watch`: 200 `{thread_id, watching: false}`.
pub async fn unwatch(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    set_watch(&state, &viewer, &id, false).await
}

/// A thread of a list with the viewer's mark.
#[derive(Serialize)]
struct Marked<'a> {
    #[serde(flatten)]
    thread: &'a ThreadSummary,
    /// `new`, `unread`, or null when read.
    mark: Option<&'static str>,
}

/// `GET /api/watched/`: `{results}`, the watched threads with their marks.
pub async fn watched(State(state): State<AppState>, viewer: Viewer) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    let threads = watching::watched(&client, user).await?;
    let before = match viewer.marks.read_all_before {
        Some(b) => b,
        None => reads::all_read_before(&client, user.id).await?,
    };
    let refs: Vec<&ThreadSummary> = threads.iter().collect();
    let marks = reads::marks(&client, user.id, before, &refs).await?;
    let results: Vec<Marked> = threads
        .iter()
        .map(|t| Marked {
            thread: t,
            mark: marks.get(t.id).map(Mark::as_str),
        })
        .collect();
    Ok(Json(json!({ "results": results })).into_response())
}

/// `GET /api/unread/`: `{results}`, new and unread threads (at most 50), newest first.
pub async fn unread(State(state): State<AppState>, viewer: Viewer) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    let before = match viewer.marks.read_all_before {
        Some(b) => b,
        None => reads::all_read_before(&client, user.id).await?,
    };
    let found = reads::unread_threads(&client, user, before).await?;
    let results: Vec<Marked> = found
        .iter()
        .map(|(t, m)| Marked {
            thread: t,
            mark: Some(m.as_str()),
        })
        .collect();
    Ok(Json(json!({ "results": results })).into_response())
}

/// `POST /api/unread/mark-read` body: `{}` for everything, `{"category": id}` for a category
/// and its subcategories.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReadBody {
    /// A category.
    #[serde(default)]
    pub category: Option<i64>,
}

/// `POST /api/unread/mark-read`: 204; 404 for an unknown category.
pub async fn mark_read(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<MarkReadBody>,
) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    match body.category {
        None => reads::mark_all_read(&client, user.id).await?,
        Some(id) => {
            let tree = state.cache.load_tree(&state.pool).await?;
            tree.tree.get(id).ok_or(AppError::NotFound)?;
            reads::mark_categories_read(&client, user.id, &tree.tree.subtree_ids(id)).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/me/preferences/`: `{notify_email, watch_on_post}`.
pub async fn preferences_show(
    State(state): State<AppState>,
    viewer: Viewer,
) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    Ok(Json(preferences::get(&client, user.id).await?).into_response())
}

/// `PUT /api/me/preferences/` body: either field or both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// `instant`, `digest` or `never`.
    #[serde(default)]
    pub notify_email: Option<String>,
    /// Posting watches.
    #[serde(default)]
    pub watch_on_post: Option<bool>,
}

/// `PUT /api/me/preferences/`: 200 with the stored preferences; 422 for an unknown choice.
pub async fn preferences_update(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<PreferencesBody>,
) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    let mut prefs = preferences::get(&client, user.id).await?;
    if let Some(e) = body.notify_email.as_deref() {
        prefs.notify_email = EmailPreference::parse(e)?;
    }
    if let Some(w) = body.watch_on_post {
        prefs.watch_on_post = w;
    }
    preferences::set(&client, user.id, &prefs).await?;
    Ok(Json(prefs).into_response())
}
