//! The account pages beyond logging in: activation links (`/activate/{token}`), password reset
//! (`/password-reset`, `/password-reset/{token}`), the account page (`/account`: e-mail change,
//! data download, account deletion) and e-mail confirmation links (`/account/email/{token}`).
//! The links are the ones `mail::compose` puts in mails.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::header::{self, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::accounts::confirm::check_password;
use crate::accounts::metrics::Event;
use crate::accounts::removal::{self, Content};
use crate::accounts::{email_change, recovery, registration};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::http::cookies::{SESSION_COOKIE, secure, set_cookie};
use crate::models::{accounts, users};
use crate::state::AppState;
use crate::web::templates::{self as t, Ctx};

/// The account routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/activate/{token}", get(activate))
        .route(
            "/password-reset",
            get(reset_request_form).post(reset_request),
        )
        .route(
            "/password-reset/{token}",
            get(reset_set_form).post(reset_set),
        )
        .route("/account", get(settings))
        .route("/account/email", post(email_request))
        .route("/account/email/{token}", get(email_confirm))
        .route("/account/export", get(export))
        .route("/account/delete", post(delete))
}

/// A page with one message.
#[derive(Template)]
#[template(path = "account_notice.html")]
pub struct NoticePage {
    /// Layout.
    pub ctx: Ctx,
    /// What to say.
    pub message: String,
    /// A link to follow: (href, label).
    pub link: Option<(&'static str, &'static str)>,
}

/// A [`NoticePage`] titled `title` saying `message`, with `status`.
pub fn notice(
    viewer: &Viewer,
    status: StatusCode,
    title: &str,
    message: impl Into<String>,
    link: Option<(&'static str, &'static str)>,
) -> Response {
    t::page_with(
        status,
        &NoticePage {
            ctx: Ctx::new(viewer, title),
            message: message.into(),
            link,
        },
    )
}

/// What a registration that created no active account says (an address in use says the same).
pub fn registration_notice(viewer: &Viewer, answer: registration::Answer) -> Response {
    match answer {
        registration::Answer::AwaitApproval => notice(
            viewer,
            StatusCode::OK,
            "Almost there",
            "Thank you for registering. An administrator will look at your account; you will get a mail when it is approved.",
            None,
        ),
        _ => notice(
            viewer,
            StatusCode::OK,
            "Check your mail",
            "Thank you for registering. We sent a link to your e-mail address: follow it to activate your account.",
            None,
        ),
    }
}

/// `GET /activate/{token}`: activates the account (following the link only proves the mail
/// arrived, so a mail scanner fetching it does no harm; it does not log in).
async fn activate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> AppResult<Response> {
    match registration::activate(&state.pool, &token).await {
        Ok(_) => {
            state.metrics.accounts().event(Event::Activated);
            Ok(notice(
                &viewer,
                StatusCode::OK,
                "Account activated",
                "Your account is active. Welcome!",
                Some(("/login", "Log in")),
            ))
        }
        Err(AppError::Invalid(msg)) => Ok(notice(
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Activation",
            msg,
            None,
        )),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    ctx: Ctx,
    token: Option<String>,
    error: Option<String>,
}

fn reset_page(
    viewer: &Viewer,
    status: StatusCode,
    token: Option<String>,
    error: Option<String>,
) -> Response {
    let title = if token.is_some() {
        "Choose a new password"
    } else {
        "Forgot your password?"
    };
    t::page_with(
        status,
        &ResetPage {
            ctx: Ctx::new(viewer, title),
            token,
            error,
        },
    )
}

/// `GET /password-reset`.
async fn reset_request_form(viewer: Viewer) -> Response {
    reset_page(&viewer, StatusCode::OK, None, None)
}

/// The reset request form.
#[derive(Deserialize)]
struct ResetRequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// The answer to every reset request, whatever the address.
pub const RESET_SENT: &str = "If an account has this address, a link to choose a new password is on its way to it. The link works for one hour.";

/// `POST /password-reset`: always the same page, whether or not the address has an account.
async fn reset_request(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ResetRequestForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    recovery::request_reset(&state.pool, &state.config, &form.email).await?;
    state.metrics.accounts().event(Event::ResetRequested);
    Ok(notice(
        &viewer,
        StatusCode::OK,
        "Check your mail",
        RESET_SENT,
        None,
    ))
}

/// `GET /password-reset/{token}`: the new-password form, or 422 when the link does not work.
async fn reset_set_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> AppResult<Response> {
    if !recovery::link_works(&state.pool, &token).await? {
        return Ok(invalid_reset_link(&viewer));
    }
    Ok(reset_page(&viewer, StatusCode::OK, Some(token), None))
}

fn invalid_reset_link(viewer: &Viewer) -> Response {
    notice(
        viewer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Choose a new password",
        registration::invalid_link().to_string(),
        Some(("/password-reset", "Ask for a new link")),
    )
}

/// The new-password form.
#[derive(Deserialize)]
struct ResetSetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

/// `POST /password-reset/{token}`: sets the password (every session of the account ends), 303
/// to `/login`; the form again with 422 for a short password; 422 when the link does not work.
async fn reset_set(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
    Form(form): Form<ResetSetForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    if users::parse_password(&form.password).is_err() {
        let error = users::parse_password(&form.password)
            .err()
            .map(|e| e.to_string());
        return Ok(reset_page(
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(token),
            error,
        ));
    }
    match recovery::reset_password(&state.pool, &token, &form.password).await {
        Ok(_) => {
            state.metrics.accounts().event(Event::PasswordReset);
            Ok(notice(
                &viewer,
                StatusCode::OK,
                "Password changed",
                "Your password was changed and every session of your account ended. Log in with the new password.",
                Some(("/login", "Log in")),
            ))
        }
        Err(AppError::Invalid(_)) => Ok(invalid_reset_link(&viewer)),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "account_settings.html")]
struct SettingsPage {
    ctx: Ctx,
    email: String,
    message: Option<String>,
    error: Option<String>,
}

async fn settings_page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    message: Option<String>,
    error: Option<String>,
) -> AppResult<Response> {
    let user = viewer.require_user()?;
    let client = state.pool.get().await?;
    let email = users::email(&client, user.id).await?;
    Ok(t::page_with(
        status,
        &SettingsPage {
            ctx: Ctx::new(viewer, "Your account"),
            email,
            message,
            error,
        },
    ))
}

/// `GET /account`.
async fn settings(State(state): State<AppState>, viewer: Viewer) -> AppResult<Response> {
    settings_page(&state, &viewer, StatusCode::OK, None, None).await
}

/// The e-mail change form.
#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /account/email`: checks the password (401 with the page when wrong), mails a link to
/// the new address.
async fn email_request(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<EmailForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_user()?;
    let result = async {
        check_password(
            &state.pool,
            state.login_limits(),
            &viewer.ip,
            user,
            &form.password,
        )
        .await?;
        email_change::request(&state.pool, &state.config, user, &form.email).await
    }
    .await;
    match result {
        Ok(()) => {
            state.metrics.accounts().event(Event::EmailChangeRequested);
            let msg = format!(
                "We sent a link to {}: your address changes when you follow it.",
                form.email.trim()
            );
            settings_page(&state, &viewer, StatusCode::OK, Some(msg), None).await
        }
        Err(e @ (AppError::Invalid(_) | AppError::Unauthorized(_) | AppError::RateLimited)) => {
            settings_page(&state, &viewer, e.status(), None, Some(e.to_string())).await
        }
        Err(e) => Err(e),
    }
}

/// `GET /account/email/{token}`: the new address takes effect.
async fn email_confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> AppResult<Response> {
    match email_change::confirm(&state.pool, &token).await {
        Ok(_) => {
            state.metrics.accounts().event(Event::EmailChanged);
            Ok(notice(
                &viewer,
                StatusCode::OK,
                "Address confirmed",
                "Your new e-mail address is confirmed.",
                Some(("/account", "Your account")),
            ))
        }
        Err(AppError::Invalid(msg)) => Ok(notice(
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "E-mail address",
            msg,
            None,
        )),
        Err(e) => Err(e),
    }
}

/// `GET /account/export`: everything the forum holds about the member, as a JSON download.
async fn export(State(state): State<AppState>, viewer: Viewer) -> AppResult<Response> {
    let user = viewer.require_user()?;
    let client = state.pool.get().await?;
    let data = accounts::export(&client, user.id).await?;
    let body = serde_json::to_string_pretty(&data).map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"forum-data.json\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The account deletion form.
#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    password: String,
}

/// `POST /account/delete`: checks the password, deletes the account (content kept anonymised or
/// deleted), ends the session and says goodbye.
async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<DeleteForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_user()?;
    let result = async {
        let content = Content::parse(&form.content)?;
        check_password(
            &state.pool,
            state.login_limits(),
            &viewer.ip,
            user,
            &form.password,
        )
        .await?;
        removal::delete_account(&state.pool, user.id, content).await
    }
    .await;
    match result {
        Ok(()) => {
            state.metrics.accounts().event(Event::Deleted);
            let cookie = set_cookie(
                SESSION_COOKIE,
                "",
                "/",
                None,
                secure(&state.config, &headers),
            );
            let page = notice(
                &Viewer {
                    user: None,
                    session: None,
                    marks: Default::default(),
                    ..viewer.clone()
                },
                StatusCode::OK,
                "Account deleted",
                "Your account was deleted. Goodbye!",
                Some(("/", "The forum")),
            );
            Ok(([(SET_COOKIE, cookie)], page).into_response())
        }
        Err(e @ (AppError::Invalid(_) | AppError::Unauthorized(_) | AppError::RateLimited)) => {
            settings_page(&state, &viewer, e.status(), None, Some(e.to_string())).await
        }
        Err(e) => Err(e),
    }
}
