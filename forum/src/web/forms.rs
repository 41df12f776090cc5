//! The forms that write: start a thread, reply, vote, like, best answer, edit, delete, moderate.
//! Every handler checks the CSRF token first, then the permission, then the input.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::CategoryTree;
use crate::models::polls::{self, NewPoll};
use crate::models::post_actions;
use crate::models::posts::PostBody;
use crate::models::threads::{Moderation, ThreadTitle};
use crate::models::visibility;
use crate::models::{policy, thread_actions};
use crate::publish::{self, Published};
use crate::state::AppState;
use crate::web::templates::{self as t, Ctx};

/// A form that only carries the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// `GET /c/{id}/new`.
pub async fn thread_new_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.require_writer()?;
    policy::check_start(viewer.access(), id)?;
    let client = state.pool.get().await?;
    let category = CategoryTree::load(&client)
        .await?
        .get(id)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let ctx = Ctx::new(&viewer, format!("New thread in {}", category.name));
    Ok(t::page(&t::NewThreadPage {
        ctx,
        category,
        error: None,
        title: String::new(),
        body: String::new(),
        poll: t::PollInput::default(),
    }))
}

/// The new-thread form.
#[derive(Debug, Deserialize)]
pub struct NewThreadForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// First post.
    #[serde(default)]
    pub body: String,
    /// Poll question (empty: no poll).
    #[serde(default)]
    pub poll_question: String,
    /// Poll choices, one per line.
    #[serde(default)]
    pub poll_choices: String,
    /// Choices per vote.
    #[serde(default)]
    pub poll_max_choices: Option<String>,
    /// Poll length in hours.
    #[serde(default)]
    pub poll_hours: Option<String>,
    /// `on` when revoting is allowed.
    #[serde(default)]
    pub poll_allow_revote: Option<String>,
    /// `on` for public votes.
    #[serde(default)]
    pub poll_public: Option<String>,
}

fn number<T: std::str::FromStr + Default>(name: &str, s: Option<&str>) -> AppResult<T> {
    match s.map(str::trim) {
        None | Some("") => Ok(T::default()),
        Some(v) => v
            .parse()
            .map_err(|_| AppError::invalid(format!("{name} must be a number"))),
    }
}

impl NewThreadForm {
    /// The validated title, body and poll.
    pub fn validate(&self) -> AppResult<(ThreadTitle, PostBody, Option<NewPoll>)> {
        let title = ThreadTitle::parse(&self.title)?;
        let body = PostBody::parse(&self.body)?;
        let poll = if self.poll_question.trim().is_empty() {
            None
        } else {
            Some(NewPoll::parse(
                &self.poll_question,
                &self.poll_choices,
                number::<i32>("choices per vote", self.poll_max_choices.as_deref())?.max(1),
                number::<i64>("the poll length", self.poll_hours.as_deref())?,
                self.poll_allow_revote.is_some(),
                self.poll_public.is_some(),
            )?)
        };
        Ok((title, body, poll))
    }
}

/// `POST /c/{id}/new`: 303 to the new thread, or the form again with a 422.
pub async fn thread_create(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<NewThreadForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    policy::check_start(viewer.access(), id)?;
    let mut client = state.pool.get().await?;
    let category = CategoryTree::load(&client)
        .await?
        .get(id)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let (title, body, poll) = match form.validate() {
        Ok(v) => v,
        Err(AppError::Invalid(msg)) => {
            let ctx = Ctx::new(&viewer, format!("New thread in {}", category.name));
            let page = t::NewThreadPage {
                ctx,
                category,
                error: Some(msg),
                poll: t::PollInput {
                    question: form.poll_question,
                    choices: form.poll_choices,
                    max_choices: form.poll_max_choices.unwrap_or_else(|| "1".into()),
                    hours: form.poll_hours.unwrap_or_else(|| "0".into()),
                    allow_revote: form.poll_allow_revote.is_some(),
                    public: form.poll_public.is_some(),
                },
                title: form.title,
                body: form.body,
            };
            return Ok(t::page_with(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        Err(e) => return Err(e),
    };
    let rules = state.publish_rules();
    let published = publish::thread(
        &mut client,
        rules,
        user,
        viewer.access(),
        &viewer.ip,
        publish::NewThread {
            category_id: id,
            title: &title,
            body: &body,
            poll: poll.as_ref(),
        },
    )
    .await?;
    Ok(match published {
        Published::Written(thread_id) => Redirect::to(&format!("/t/{thread_id}/")),
        Published::Queued(_) => Redirect::to(crate::web::queue::QUEUED_PATH),
    }
    .into_response())
}

/// A reply or an edit.
#[derive(Debug, Deserialize)]
pub struct BodyForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// The Markdown text.
    #[serde(default)]
    pub body: String,
    /// `on` when a moderator redacting an edit hides the post's history.
    #[serde(default)]
    pub hide_history: Option<String>,
}

/// `POST /t/{id}/reply`: 303 to the new post.
pub async fn post_create(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<BodyForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    let body = PostBody::parse(&form.body)?;
    let mut client = state.pool.get().await?;
    let rules = state.publish_rules();
    let published = publish::reply(
        &mut client,
        rules,
        user,
        viewer.access(),
        &viewer.ip,
        id,
        &body,
    )
    .await?;
    Ok(match published {
        Published::Written(post_id) => Redirect::to(&format!("/p/{post_id}/")),
        Published::Queued(_) => Redirect::to(crate::web::queue::QUEUED_PATH),
    }
    .into_response())
}

/// `POST /t/{id}/vote` (`choice` repeated for multiple choices).
pub async fn poll_vote(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    viewer.check_csrf(csrf)?;
    let user = viewer.require_writer()?;
    let choices = fields
        .iter()
        .filter(|(k, _)| k == "choice")
        .map(|(_, v)| {
            v.parse::<i64>()
                .map_err(|_| AppError::invalid("invalid choice"))
        })
        .collect::<AppResult<Vec<i64>>>()?;
    let mut client = state.pool.get().await?;
    visibility::readable_thread(&client, id, viewer.access()).await?;
    let tx = client.transaction().await?;
    polls::vote(&tx, id, user.id, &choices).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/t/{id}/#poll")).into_response())
}

/// The moderation form.
#[derive(Debug, Deserialize)]
pub struct ModerateForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// `pin`, `unpin`, `close`, `open`, `hide`, `unhide`, `move`.
    #[serde(default)]
    pub action: String,
    /// Target of a move.
    pub category_id: Option<String>,
}

/// `POST /t/{id}/moderate` (the moderators of its category, [`policy::check_moderate`]).
pub async fn thread_moderate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ModerateForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require_writer()?;
    let target = form
        .category_id
        .as_deref()
        .map(|s| s.parse::<i64>())
        .transpose()
        .map_err(|_| AppError::invalid("invalid category"))?;
    let action = Moderation::parse(&form.action, target)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    thread_actions::moderate(&tx, id, viewer.access(), action).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/t/{id}/")).into_response())
}

/// `GET /p/{id}/edit` (author or moderator).
pub async fn post_edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer()?;
    let client = state.pool.get().await?;
    let (post, _, _) = post_actions::check_may_edit(&client, id, user, viewer.access()).await?;
    Ok(t::page(&t::EditPostPage {
        ctx: Ctx::new(&viewer, "Edit post"),
        post,
    }))
}

/// `POST /p/{id}/edit`.
pub async fn post_update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<BodyForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    let body = PostBody::parse(&form.body)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    post_actions::edit(
        &tx,
        id,
        user,
        viewer.access(),
        &body,
        form.hide_history.is_some(),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/p/{id}/")).into_response())
}

/// `POST /p/{id}/delete` (soft delete; author or moderator).
pub async fn post_delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let post = post_actions::set_deleted(&tx, id, user, viewer.access(), true).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/t/{}/", post.thread_id)).into_response())
}

/// `POST /p/{id}/restore` (moderators): undoes a soft delete.
pub async fn post_restore(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    post_actions::set_deleted(&tx, id, user, viewer.access(), false).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/p/{id}/")).into_response())
}

/// The like form.
#[derive(Debug, Deserialize)]
pub struct LikeForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// `true` to like, `false` to unlike.
    #[serde(default)]
    pub like: String,
}

/// `POST /p/{id}/like`.
pub async fn post_like(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<LikeForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    post_actions::set_like(&tx, id, user, viewer.access(), form.like != "false").await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/p/{id}/")).into_response())
}

/// `POST /p/{id}/best`: the thread's author or a moderator marks the best answer.
pub async fn post_best(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let thread_id = post_actions::mark_best(&tx, id, user, viewer.access()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/t/{thread_id}/#best-answer")).into_response())
}
