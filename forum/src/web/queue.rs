//! The moderation queue's pages: what a new member sees after posting (`/queued`), and the
//! queue moderators work through (`/moderation/queue`: approve, delete, ban the author).

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::moderation_queue::{self, Queued};
use crate::publish::QUEUED_NOTICE;
use crate::state::AppState;
use crate::web::templates::{Ctx, page};

/// Where an author goes after posting something that waits in the queue.
pub const QUEUED_PATH: &str = "/queued";

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage {
    ctx: Ctx,
    message: &'static str,
}

#[derive(Template)]
#[template(path = "moderation_queue.html")]
struct QueuePage {
    ctx: Ctx,
    items: Vec<Queued>,
    message: Option<String>,
}

/// `GET /queued`.
pub async fn queued_notice(viewer: Viewer) -> Response {
    page(&NoticePage {
        ctx: Ctx::new(&viewer, "Waiting for approval"),
        message: QUEUED_NOTICE,
    })
}

/// `?msg=` after an action.
#[derive(Deserialize)]
pub struct MsgQuery {
    msg: Option<String>,
}

/// `GET /moderation/queue` (moderators).
pub async fn queue_index(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<MsgQuery>,
) -> AppResult<Response> {
    viewer.require_moderator()?;
    let client = state.pool.get().await?;
    let items = moderation_queue::list(&client).await?;
    let message = q.msg.map(|m| match m.as_str() {
        "approved" => "Approved and published.".to_string(),
        "deleted" => "Deleted.".to_string(),
        "banned" => "The author is banned and their waiting posts deleted.".to_string(),
        _ => String::new(),
    });
    Ok(page(&QueuePage {
        ctx: Ctx::new(&viewer, "Moderation queue"),
        items,
        message: message.filter(|m| !m.is_empty()),
    }))
}

/// The action form of a queued item.
#[derive(Deserialize)]
pub struct QueueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    reason: String,
}

/// `POST /moderation/queue/{id}`: `approve`, `delete` or `ban` (`days`, `reason`).
pub async fn queue_update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<QueueForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require_moderator()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let msg = match form.action.as_str() {
        "approve" => {
            moderation_queue::approve(&tx, id).await?;
            "approved"
        }
        "delete" => {
            moderation_queue::delete(&tx, id).await?;
            "deleted"
        }
        "ban" => {
            let days: f64 = form
                .days
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("ban length: 1 to 36500 days"))?;
            moderation_queue::ban_author(&tx, id, days, &form.reason).await?;
            "banned"
        }
        _ => return Err(AppError::invalid("unknown action")),
    };
    tx.commit().await?;
    Ok(Redirect::to(&format!("/moderation/queue?msg={msg}")).into_response())
}
