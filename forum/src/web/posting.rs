//! Posting after a thread starts, through the pages: the poll form (add or edit) and its close,
//! reopen and delete buttons, unmarking a best answer, and the moderators' merge, move and
//! split forms on the thread page. Every handler checks the CSRF token first; the rules are the
//! models' (the API calls the same functions).

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::ThreadSummary;
use crate::models::polls::{self, NewPoll};
use crate::models::threads::ThreadTitle;
use crate::models::visibility;
use crate::models::{best_answer, policy, poll_admin, thread_ops};
use crate::moderation_metrics::ModerationAction;
use crate::state::AppState;
use crate::web::forms::CsrfForm;
use crate::web::templates::{self as t, Ctx, PollInput};

/// `/t/{id}/poll`.
#[derive(askama::Template)]
#[template(path = "poll_form.html")]
pub struct PollFormPage {
    /// Layout.
    pub ctx: Ctx,
    /// The thread.
    pub thread: ThreadSummary,
    /// Whether the thread has a poll (edit) or not (add).
    pub editing: bool,
    /// Who voted so far (the choices are locked once someone has).
    pub voters: i64,
    /// The fields.
    pub poll: PollInput,
}

/// `GET /t/{id}/poll`: the form that adds a poll to the thread, or edits its poll.
pub async fn poll_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer()?;
    let client = state.pool.get().await?;
    let (thread, access) = visibility::visible_thread(&client, id, viewer.access()).await?;
    policy::check_manage_poll(access, user, &thread)?;
    let poll = polls::for_thread(&client, id, user.id).await?;
    let input = match &poll {
        Some(p) => PollInput {
            question: p.question.clone(),
            choices: p
                .choices
                .iter()
                .map(|c| c.label.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            max_choices: p.max_choices.to_string(),
            hours: p
                .ends_at
                .map(|end| ((end - chrono::Utc::now()).num_minutes().max(0) + 59) / 60)
                .unwrap_or(0)
                .to_string(),
            allow_revote: p.allow_revote,
            public: p.is_public,
        },
        None => PollInput::default(),
    };
    Ok(t::page(&PollFormPage {
        ctx: Ctx::new(
            &viewer,
            if poll.is_some() {
                "Edit the poll"
            } else {
                "Add a poll"
            },
        ),
        voters: poll.as_ref().map_or(0, |p| p.voters),
        editing: poll.is_some(),
        thread,
        poll: input,
    }))
}

/// The poll form.
#[derive(Debug, Deserialize)]
pub struct PollForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// Question.
    #[serde(default)]
    pub poll_question: String,
    /// Choices, one per line.
    #[serde(default)]
    pub poll_choices: String,
    /// Choices per vote.
    #[serde(default)]
    pub poll_max_choices: Option<String>,
    /// Length in hours.
    #[serde(default)]
    pub poll_hours: Option<String>,
    /// `on` when revoting is allowed.
    #[serde(default)]
    pub poll_allow_revote: Option<String>,
    /// `on` for public votes.
    #[serde(default)]
    pub poll_public: Option<String>,
}

fn number<T: std::str::FromStr>(name: &str, s: Option<&str>, default: T) -> AppResult<T> {
    match s.map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| AppError::invalid(format!("{name} must be a number"))),
    }
}

impl PollForm {
    /// The validated poll.
    pub fn validate(&self) -> AppResult<NewPoll> {
        NewPoll::parse(
            &self.poll_question,
            &self.poll_choices,
            number("choices per vote", self.poll_max_choices.as_deref(), 1)?,
            number("the poll length", self.poll_hours.as_deref(), 0)?,
            self.poll_allow_revote.is_some(),
            self.poll_public.is_some(),
        )
    }
}

/// `POST /t/{id}/poll`: adds the poll, or saves the edited one; 303 to the poll.
pub async fn poll_save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<PollForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    let poll = form.validate()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let exists = polls::for_thread(&tx, id, user.id).await?.is_some();
    let action = if exists {
        poll_admin::edit(&tx, id, user, &poll).await?;
        ModerationAction::PollEdit
    } else {
        poll_admin::add(&tx, id, user, &poll).await?;
        ModerationAction::PollAdd
    };
    tx.commit().await?;
    state.metrics.moderation.count(action);
    Ok(Redirect::to(&format!("/t/{id}/#poll")).into_response())
}

async fn poll_action(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    csrf: &str,
    action: ModerationAction,
) -> AppResult<Response> {
    let id = parse_id(id)?;
    viewer.check_csrf(csrf)?;
    let user = viewer.require_writer()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    match action {
        ModerationAction::PollClose => poll_admin::set_closed(&tx, id, user, true).await?,
        ModerationAction::PollReopen => poll_admin::set_closed(&tx, id, user, false).await?,
        _ => poll_admin::delete(&tx, id, user).await?,
    }
    tx.commit().await?;
    state.metrics.moderation.count(action);
    Ok(Redirect::to(&format!("/t/{id}/#poll")).into_response())
}

/// `POST /t/{id}/poll/close`: no more votes.
pub async fn poll_close(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    poll_action(
        &state,
        &viewer,
        &id,
        &form.csrf,
        ModerationAction::PollClose,
    )
    .await
}

/// `POST /t/{id}/poll/open`: votes resume.
pub async fn poll_open(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    poll_action(
        &state,
        &viewer,
        &id,
        &form.csrf,
        ModerationAction::PollReopen,
    )
    .await
}

/// `POST /t/{id}/poll/delete`: the poll and its votes go.
pub async fn poll_delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    poll_action(
        &state,
        &viewer,
        &id,
        &form.csrf,
        ModerationAction::PollDelete,
    )
    .await
}

/// `POST /p/{id}/unbest`: the thread's starter or a moderator unmarks the best answer.
pub async fn post_unbest(
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
    let thread_id = best_answer::unmark(&tx, id, user).await?;
    tx.commit().await?;
    state
        .metrics
        .moderation
        .count(ModerationAction::BestAnswerUnmark);
    Ok(Redirect::to(&format!("/t/{thread_id}/")).into_response())
}

/// A thread named in a form: its id, or an address with `/t/{id}/` in it (as pasted from the
/// address bar); 422 naming `field` otherwise.
pub fn thread_ref(field: &'static str, s: &str) -> AppResult<i64> {
    let s = s.trim();
    let digits = match s.find("/t/") {
        Some(i) => &s[i + 3..],
        None => s,
    };
    digits
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|d| d.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::Field {
            field,
            message: "give the thread's number or address".into(),
        })
}

/// The merge form.
#[derive(Debug, Deserialize)]
pub struct MergeForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// The thread that takes the posts (number or address).
    #[serde(default)]
    pub into: String,
}

/// `POST /t/{id}/merge` (moderators): this thread's posts join thread `into`; 303 there.
pub async fn thread_merge(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MergeForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    let into = thread_ref("into", &form.into)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    thread_ops::merge(&tx, user, id, into).await?;
    tx.commit().await?;
    state
        .metrics
        .moderation
        .count(ModerationAction::MergeThreads);
    Ok(Redirect::to(&format!("/t/{into}/")).into_response())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// `POST /t/{id}/posts` (moderators): the posts ticked (`post`, repeated) move to thread
/// `thread` (`action=move`) or into a new thread titled `title` in `category_id`
/// (`action=split`); 303 to the thread that took them.
pub async fn posts_update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(field(&fields, "csrf"))?;
    let user = viewer.require_writer()?;
    let posts = fields
        .iter()
        .filter(|(k, _)| k == "post")
        .map(|(_, v)| {
            v.parse::<i64>()
                .map_err(|_| AppError::invalid("invalid post"))
        })
        .collect::<AppResult<Vec<i64>>>()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let (target, action) = match field(&fields, "action") {
        "move" => {
            let target = thread_ref("thread", field(&fields, "thread"))?;
            thread_ops::move_posts(&tx, user, id, &posts, target).await?;
            (target, ModerationAction::MovePosts)
        }
        "split" => {
            let title = ThreadTitle::parse(field(&fields, "title"))?;
            let category = field(&fields, "category_id")
                .parse::<i64>()
                .map_err(|_| AppError::invalid("choose a category"))?;
            let new_id = thread_ops::split(&tx, user, id, &posts, &title, category).await?;
            (new_id, ModerationAction::SplitPosts)
        }
        _ => return Err(AppError::invalid("choose move or split")),
    };
    tx.commit().await?;
    state.metrics.moderation.count(action);
    Ok(Redirect::to(&format!("/t/{target}/")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_is_named_by_its_number_or_its_address() {
        assert_eq!(thread_ref("into", " 42 ").unwrap(), 42);
        assert_eq!(
            thread_ref("into", "https://forum.example/t/7/?page=2#post-9").unwrap(),
            7
        );
        for bad in ["", "x", "/t/", "0", "-3"] {
            assert!(thread_ref("into", bad).is_err(), "{bad}");
        }
    }
}
