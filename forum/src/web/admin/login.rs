//! The admin panel's own login: an admin re-enters the password for a short session
//! (`forum_admin` cookie, path `/admin`, two hours); a failure answers 401.

use std::time::Duration;

use askama::Template;
use axum::extract::{Form, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guard::Admin;
use crate::auth::{self, SessionKind, Viewer};
use crate::error::{AppError, AppResult};
use crate::http::cookies::{ADMIN_COOKIE, cookie, secure, set_cookie};
use crate::http::login_failures::{self, Door};
use crate::models::users::{self, Role};
use crate::ratelimit;
use crate::state::AppState;
use crate::web::forms::CsrfForm;
use crate::web::templates::{Ctx, page, page_with};

/// How long an admin-panel session lasts (at most the configured session length).
const ADMIN_SESSION: Duration = Duration::from_secs(2 * 3600);

#[derive(Template)]
#[template(path = "admin_login.html")]
struct LoginPage {
    ctx: Ctx,
    error: Option<String>,
    username: String,
}

/// `GET /admin/login`.
pub async fn admin_login_form(viewer: Viewer) -> Response {
    let username = viewer
        .user
        .as_ref()
        .map(|u| u.username.clone())
        .unwrap_or_default();
    page(&LoginPage {
        ctx: Ctx::new(&viewer, "Admin login"),
        error: None,
        username,
    })
}

/// The admin login form.
#[derive(Deserialize)]
pub struct AdminLoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// `POST /admin/login`: 303 to `/admin/`, 401 on wrong credentials or a non-admin, 429.
pub async fn admin_login(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<AdminLoginForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let fail = |status: StatusCode, msg: String| {
        page_with(
            status,
            &LoginPage {
                ctx: Ctx::new(&viewer, "Admin login"),
                error: Some(msg),
                username: form.username.clone(),
            },
        )
    };
    let limits = state.login_limits();
    let creds = match auth::login(
        &state.pool,
        limits,
        &viewer.ip,
        &form.username,
        &form.password,
    )
    .await
    {
        Ok(c) => c,
        Err(AppError::Unauthorized(m)) => {
            login_failures::count(&state, Door::Admin, &form.username).await;
            return Ok(fail(StatusCode::UNAUTHORIZED, m));
        }
        Err(AppError::RateLimited) => {
            return Ok(fail(
                StatusCode::TOO_MANY_REQUESTS,
                AppError::RateLimited.to_string(),
            ));
        }
        Err(e) => return Err(e),
    };
    if creds.role != Role::Admin || users::is_banned(creds.banned_until) {
        ratelimit::record_failure(&state.pool, &viewer.ip, &form.username).await?;
        state
            .metrics
            .count_login_failure(Door::Admin.as_str(), creds.role.as_str());
        return Ok(fail(
            StatusCode::UNAUTHORIZED,
            "this account cannot use the admin panel".into(),
        ));
    }
    let ttl = state.config.session_ttl.min(ADMIN_SESSION);
    let token = auth::create_session(&state.pool, creds.id, SessionKind::Admin, ttl).await?;
    let cookie = set_cookie(
        ADMIN_COOKIE,
        &token,
        "/admin",
        Some(ADMIN_SESSION.as_secs() as i64),
        secure(&state.config, &headers),
    );
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/admin/")).into_response())
}

/// `POST /admin/logout`.
pub async fn admin_logout(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    if let Some(token) = cookie(&headers, ADMIN_COOKIE) {
        auth::delete_session(&state.pool, &auth::token_hash(token)).await?;
    }
    let cookie = set_cookie(
        ADMIN_COOKIE,
        "",
        "/admin",
        None,
        secure(&state.config, &headers),
    );
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}
