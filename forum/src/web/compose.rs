//! Writing posts, the page parts beside the forms: the reply page `GET /t/{id}/reply`
//! (`?quote={post_id}` fills the message with the quote of that post, `?attach={id}` with the
//! Markdown of an attachment just uploaded; both work without JavaScript), and the preview
//! `POST /preview`, where the Preview button of the new-thread, reply and edit forms sends the
//! form (`_action` names the form's own address): the Markdown rendered as it would be, nothing
//! saved, and the same form again with every field kept.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::policy;
use crate::models::posts::PostBody;
use crate::models::threads::ThreadSummary;
use crate::models::visibility;
use crate::state::AppState;
use crate::web::templates::{Ctx, page};

/// The routes of this file.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{id}/reply", get(reply_page))
        .route("/preview", post(preview_page))
}

#[derive(Template)]
#[template(path = "reply.html")]
struct ReplyPage {
    ctx: Ctx,
    thread: ThreadSummary,
    body: String,
}

/// `?quote=&attach=`.
#[derive(Debug, Default, Deserialize)]
pub struct ReplyQuery {
    /// A post to quote.
    #[serde(default)]
    pub quote: Option<String>,
    /// An attachment to refer to.
    #[serde(default)]
    pub attach: Option<String>,
}

/// `GET /t/{id}/reply`: the reply form, filled with a quote and an attachment's Markdown when
/// asked. 404 for a thread, post or attachment the viewer may not see.
pub async fn reply_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<ReplyQuery>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.require_writer()?;
    let client = state.pool.get().await?;
    let (thread, _) = visibility::readable_thread(&client, id, viewer.access()).await?;
    let mut body = String::new();
    if let Some(post_id) = q.quote.as_deref().filter(|s| !s.is_empty()) {
        let post_id = parse_id(post_id)?;
        let (post, post_thread, access) =
            visibility::visible_post(&client, post_id, viewer.access()).await?;
        if !policy::may_read_post(access, &post_thread, &post) {
            return Err(AppError::NotFound);
        }
        let author = post.username.as_deref().unwrap_or("deleted");
        body.push_str(&crate::quote::quote(author, post.id, &post.body));
    }
    if let Some(att_id) = q.attach.as_deref().filter(|s| !s.is_empty()) {
        let att = crate::attachments::access::visible(&client, parse_id(att_id)?, viewer.access())
            .await?;
        body.push_str(&att.markdown());
        body.push('\n');
    }
    Ok(page(&ReplyPage {
        ctx: Ctx::new(&viewer, format!("Reply to {}", thread.title)),
        thread,
        body,
    }))
}

/// A field the preview carries through unchanged.
#[derive(Debug)]
struct Kept {
    name: String,
    value: String,
}

#[derive(Template)]
#[template(path = "preview.html")]
struct PreviewPage {
    ctx: Ctx,
    action: String,
    html: Option<String>,
    error: Option<String>,
    title: Option<String>,
    body: String,
    kept: Vec<Kept>,
}

/// The address of a post form: `/t/{id}/reply`, `/c/{id}/new` or `/p/{id}/edit`.
fn post_form_action(action: &str) -> Option<String> {
    let parts: Vec<&str> = action.split('/').collect();
    let [empty, kind, id, verb] = parts.as_slice() else {
        return None;
    };
    let id: i64 = id.parse().ok().filter(|n| *n > 0)?;
    matches!(
        (*empty, *kind, *verb),
        ("", "t", "reply") | ("", "c", "new") | ("", "p", "edit")
    )
    .then(|| format!("/{kind}/{id}/{verb}"))
}

/// The most fields a preview keeps.
const MAX_KEPT: usize = 64;

/// `POST /preview`: the rendered message (or why it would be refused) above the form again.
pub async fn preview_page(
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    viewer.check_csrf(&get("csrf").unwrap_or_default())?;
    viewer.require_writer()?;
    let action = get("_action")
        .and_then(|a| post_form_action(&a))
        .ok_or_else(|| AppError::invalid("nothing to preview"))?;
    let body = get("body").unwrap_or_default();
    let (html, error) = match PostBody::parse(&body) {
        Ok(text) => match crate::markdown::render_off_runtime(text.as_str()).await {
            Ok(html) => (Some(html), None),
            Err(e) => (None, Some(e.to_string())),
        },
        Err(e) => (None, Some(e.to_string())),
    };
    let kept = fields
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "body" | "title" | "_action"))
        .take(MAX_KEPT)
        .map(|(k, v)| Kept {
            name: k.chars().take(64).collect(),
            value: v.chars().take(10_000).collect(),
        })
        .collect();
    Ok(page(&PreviewPage {
        ctx: Ctx::new(&viewer, "Preview"),
        action,
        html,
        error,
        title: get("title"),
        body,
        kept,
    }))
}

#[cfg(test)]
mod tests {
    use super::post_form_action;

    #[test]
    fn only_the_post_forms_are_previewed_into() {
        assert_eq!(
            post_form_action("/t/3/reply").as_deref(),
            Some("/t/3/reply")
        );
        assert_eq!(post_form_action("/c/1/new").as_deref(), Some("/c/1/new"));
        assert_eq!(post_form_action("/p/9/edit").as_deref(), Some("/p/9/edit"));
        for bad in [
            "/admin/users/1",
            "//evil/1/new",
            "/t/x/reply",
            "/t/0/reply",
            "https://x/t/1/reply",
        ] {
            assert_eq!(post_form_action(bad), None, "{bad}");
        }
    }
}
