//! The server-rendered pages of the web role: read-only pages ([`pages`]), the forms that
//! write ([`forms`]), accounts ([`account`], [`accounts`], [`avatar`]), the admin panel ([`admin`]), and their
//! templates ([`templates`]); attachments ([`attachments`]); the reply page with quotes and the
//! preview ([`compose`]); polls after the start, best answers, merge, move and split ([`posting`]);
//! the member list ([`people`]).

pub mod account;
pub mod accounts;
pub mod admin;
pub mod attachments;
pub mod avatar;
pub mod compose;
pub mod forms;
pub mod notifications;
pub mod pages;
pub mod people;
pub mod posting;
pub mod private_threads;
pub mod queue;
pub mod search;
pub mod templates;

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::AppError;
use crate::state::AppState;

/// The pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::index))
        .route("/c/{id}/", get(pages::category_show))
        .route(
            "/c/{id}/new",
            get(forms::thread_new_form).post(forms::thread_create),
        )
        .route("/t/{id}/", get(pages::thread_show))
        .route("/t/{id}/reply", post(forms::post_create))
        .route("/t/{id}/vote", post(forms::poll_vote))
        .route("/t/{id}/moderate", post(forms::thread_moderate))
        .route("/p/{id}/", get(pages::post_show))
        .route(
            "/p/{id}/edit",
            get(forms::post_edit_form).post(forms::post_update),
        )
        .route("/p/{id}/history", get(pages::post_history))
        .route("/p/{id}/delete", post(forms::post_delete))
        .route("/p/{id}/restore", post(forms::post_restore))
        .route("/p/{id}/like", post(forms::post_like))
        .route("/p/{id}/best", post(forms::post_best))
        .route("/u/{id}/", get(pages::user_show))
        .route("/search", get(search::search))
        .route("/members", get(people::members_index))
        .route(
            "/t/{id}/poll",
            get(posting::poll_form).post(posting::poll_save),
        )
        .route("/t/{id}/poll/close", post(posting::poll_close))
        .route("/t/{id}/poll/open", post(posting::poll_open))
        .route("/t/{id}/poll/delete", post(posting::poll_delete))
        .route("/t/{id}/merge", post(posting::thread_merge))
        .route("/t/{id}/posts", post(posting::posts_update))
        .route("/p/{id}/unbest", post(posting::post_unbest))
        .route(
            "/register",
            get(account::register_form).post(account::register),
        )
        .route("/login", get(account::login_form).post(account::login))
        .route("/logout", post(account::logout))
        .route(
            "/account/password",
            get(account::password_form).post(account::password_change),
        )
        .route("/account/avatar", post(avatar::avatar_upload))
        .route(queue::QUEUED_PATH, get(queue::queued_notice))
        .route("/moderation/queue", get(queue::queue_index))
        .route("/moderation/queue/{id}", post(queue::queue_update))
        .route("/static/{file}", get(static_file))
        .route(
            "/private-threads",
            get(private_threads::index).post(private_threads::create),
        )
        .route("/t/{id}/participants", post(private_threads::invite))
        .route("/t/{id}/participants/remove", post(private_threads::remove))
        .route("/t/{id}/leave", post(private_threads::leave))
        .merge(admin::routes())
        .merge(accounts::routes())
        .merge(attachments::routes())
        .merge(compose::routes())
        .merge(notifications::routes())
}

/// Unknown paths.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// `/static/{file}`: the embedded assets (nginx serves the copies `forum static` writes).
async fn static_file(Path(file): Path<String>) -> Result<Response, AppError> {
    let (body, mime) = crate::assets::get(&file).ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response())
}
