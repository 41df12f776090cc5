//! Register, log in, log out, change password (pages).

use axum::extract::{Form, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::accounts::registration::{self, Answer, registration_error_label};
use crate::auth::{self, SessionKind, Viewer};
use crate::error::{AppError, AppResult};
use crate::http::cookies::{SESSION_COOKIE, secure, set_cookie};
use crate::http::login_failures::{self, Door};
use crate::models::users::NewUser;
use crate::state::AppState;
use crate::web::accounts::registration_notice;
use crate::web::forms::CsrfForm;
use crate::web::templates::{self as t, Ctx};

/// The register and login forms.
#[derive(Deserialize)]
pub struct AccountForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// Username.
    #[serde(default)]
    pub username: String,
    /// E-mail (register only).
    #[serde(default)]
    pub email: String,
    /// Password.
    #[serde(default)]
    pub password: String,
}

fn auth_page(
    viewer: &Viewer,
    mode: &'static str,
    status: StatusCode,
    error: Option<String>,
    form: Option<&AccountForm>,
) -> Response {
    let title = if mode == "login" {
        "Log in"
    } else {
        "Register"
    };
    let page = t::AuthPage {
        ctx: Ctx::new(viewer, title),
        mode,
        error,
        username: form.map(|f| f.username.clone()).unwrap_or_default(),
        email: form.map(|f| f.email.clone()).unwrap_or_default(),
    };
    t::page_with(status, &page)
}

/// `GET /register`.
pub async fn register_form(viewer: Viewer) -> Response {
    auth_page(&viewer, "register", StatusCode::OK, None, None)
}

/// `GET /login`.
pub async fn login_form(viewer: Viewer) -> Response {
    auth_page(&viewer, "login", StatusCode::OK, None, None)
}

fn session_response(state: &AppState, headers: &HeaderMap, token: &str, to: &str) -> Response {
    let max_age = state.config.session_ttl.as_secs() as i64;
    let cookie = set_cookie(
        SESSION_COOKIE,
        token,
        "/",
        Some(max_age),
        secure(&state.config, headers),
    );
    ([(SET_COOKIE, cookie)], Redirect::to(to)).into_response()
}

/// A page session for `user_id`; returns its token.
async fn new_session(state: &AppState, user_id: i64) -> AppResult<String> {
    auth::create_session(
        &state.pool,
        user_id,
        SessionKind::User,
        state.config.session_ttl,
    )
    .await
}

/// `POST /register`: 303 to `/` logged in, or the form with a 422.
pub async fn register(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<AccountForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let mode = registration::mode(&state.pool, &state.config).await?;
    let result = async {
        let new = NewUser::parse(&form.username, &form.email, &form.password)?;
        registration::register(&state.pool, &state.config, mode, &new).await
    }
    .await;
    let counted = result
        .as_ref()
        .map_or_else(registration_error_label, |r| r.result_label());
    state
        .metrics
        .accounts()
        .registration(mode.as_str(), counted);
    match result.map(|r| r.answer()) {
        Ok(Answer::LoggedIn(id)) => {
            let token = new_session(&state, id).await?;
            Ok(session_response(&state, &headers, &token, "/"))
        }
        Ok(answer) => Ok(registration_notice(&viewer, answer)),
        Err(AppError::Invalid(msg)) => Ok(auth_page(
            &viewer,
            "register",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(msg),
            Some(&form),
        )),
        Err(e) => Err(e),
    }
}

/// `POST /login`: 303 to `/`, 401 with the form on a wrong password, 429 when rate limited.
pub async fn login(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<AccountForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let limits = state.login_limits();
    match auth::login(
        &state.pool,
        limits,
        &viewer.ip,
        &form.username,
        &form.password,
    )
    .await
    {
        Ok(creds) => {
            let token = new_session(&state, creds.id).await?;
            Ok(session_response(&state, &headers, &token, "/"))
        }
        Err(AppError::Unauthorized(msg)) => {
            login_failures::count(&state, Door::Page, &form.username).await;
            Ok(auth_page(
                &viewer,
                "login",
                StatusCode::UNAUTHORIZED,
                Some(msg),
                Some(&form),
            ))
        }
        Err(AppError::RateLimited) => Ok(auth_page(
            &viewer,
            "login",
            StatusCode::TOO_MANY_REQUESTS,
            Some(AppError::RateLimited.to_string()),
            Some(&form),
        )),
        Err(e) => Err(e),
    }
}

/// `POST /logout`: ends the session, 303 to `/`.
pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    if let Some(hash) = &viewer.session {
        auth::delete_session(&state.pool, hash).await?;
    }
    let cookie = set_cookie(
        SESSION_COOKIE,
        "",
        "/",
        None,
        secure(&state.config, &headers),
    );
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

/// `GET /account/password`.
pub async fn password_form(viewer: Viewer) -> AppResult<Response> {
    viewer.require_user()?;
    Ok(t::page(&t::PasswordPage {
        ctx: Ctx::new(&viewer, "Change password"),
        message: None,
    }))
}

/// The change-password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// Current password.
    #[serde(default)]
    pub current: String,
    /// New password.
    #[serde(default)]
    pub new: String,
}

/// `POST /account/password`: checks the current password, stores the new hash, and ends the
/// user's other sessions.
pub async fn password_change(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_user()?;
    let changed = auth::change_password(
        &state.pool,
        state.login_limits(),
        &viewer.ip,
        user,
        viewer.session.as_deref(),
        &form.current,
        &form.new,
    )
    .await;
    if let Err(AppError::Unauthorized(msg)) = changed {
        let page = t::PasswordPage {
            ctx: Ctx::new(&viewer, "Change password"),
            message: Some(msg),
        };
        return Ok(t::page_with(StatusCode::UNAUTHORIZED, &page));
    }
    changed?;
    let page = t::PasswordPage {
        ctx: Ctx::new(&viewer, "Change password"),
        message: Some("Your password was changed.".into()),
    };
    Ok(t::page(&page))
}
