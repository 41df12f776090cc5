//! Private threads in the pages: the list of mine with the form to start one
//! (`/private-threads`), and on the thread page the owner's invite and remove forms and
//! everyone's leave button. The thread itself is `/t/{id}/`, read and replied to as any thread
//! by its participants (404 for everyone else).

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::ThreadSummary;
use crate::models::posts::PostBody;
use crate::models::private_threads;
use crate::models::threads::ThreadTitle;
use crate::publish;
use crate::state::AppState;
use crate::web::templates::{Ctx, page, page_with};

/// How many private threads the list shows.
const LIST_LIMIT: i64 = 100;

#[derive(Template)]
#[template(path = "private_threads.html")]
struct ListPage {
    ctx: Ctx,
    threads: Vec<ThreadSummary>,
    error: Option<String>,
    title: String,
    participants: String,
    body: String,
}

/// `GET /private-threads`: my private threads and the form to start one.
pub async fn index(State(state): State<AppState>, viewer: Viewer) -> AppResult<Response> {
    let user = viewer.require_user()?;
    let client = state.pool.get().await?;
    let threads = private_threads::of_user(&client, user.id, LIST_LIMIT).await?;
    Ok(page(&ListPage {
        ctx: Ctx::new(&viewer, "Private threads"),
        threads,
        error: None,
        title: String::new(),
        participants: String::new(),
        body: String::new(),
    }))
}

/// The new-private-thread form.
#[derive(Debug, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    /// Names, separated by commas or spaces.
    #[serde(default)]
    participants: String,
    #[serde(default)]
    body: String,
}

/// The names of a comma- or space-separated list.
fn names(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /private-threads`: 303 to the new thread, or the form again with a 422.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    let mut client = state.pool.get().await?;
    let result = match (ThreadTitle::parse(&form.title), PostBody::parse(&form.body)) {
        (Ok(title), Ok(body)) => {
            publish::private_thread(
                &mut client,
                state.publish_rules(),
                user,
                &viewer.ip,
                &title,
                &body,
                &names(&form.participants),
            )
            .await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok((id, _invited)) => Ok(Redirect::to(&format!("/t/{id}/")).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Field { .. })) => {
            let threads = private_threads::of_user(&client, user.id, LIST_LIMIT).await?;
            Ok(page_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ListPage {
                    ctx: Ctx::new(&viewer, "Private threads"),
                    threads,
                    error: Some(e.to_string()),
                    title: form.title,
                    participants: form.participants,
                    body: form.body,
                },
            ))
        }
        Err(e) => Err(e),
    }
}

/// The invite form.
#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
}

/// `POST /t/{id}/participants` (owner): invites the members named in `username`.
pub async fn invite(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<InviteForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    let mut client = state.pool.get().await?;
    crate::publish::invite_to_private_thread(&mut client, id, user, &names(&form.username)).await?;
    Ok(Redirect::to(&format!("/t/{id}/#participants")).into_response())
}

/// The remove form.
#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_id: String,
}

/// `POST /t/{id}/participants/remove` (owner).
pub async fn remove(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<RemoveForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_writer()?;
    let target = parse_id(&form.user_id)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    private_threads::remove(&tx, id, user, target).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/t/{id}/#participants")).into_response())
}

/// The leave form.
#[derive(Debug, Deserialize)]
pub struct LeaveForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /t/{id}/leave`: 303 to the list.
pub async fn leave(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<LeaveForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_user()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    private_threads::leave(&tx, id, user.id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/private-threads").into_response())
}
