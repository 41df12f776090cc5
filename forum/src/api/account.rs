//! Accounts: log in and out (`/api/auth/...`), register (`POST /api/users/`), profiles and the
//! current user (`GET /api/users/{id}/`, `GET /api/me/`, `POST /api/me/password`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiJson, ApiResult, login_as_401};
use crate::accounts::registration::{self, Answer, registration_error_label};
use crate::auth::{self, SessionKind, Viewer};
use crate::error::AppError;
use crate::http::cookies::{SESSION_COOKIE, cookie, secure, set_cookie};
use crate::http::login_failures::{self, Door};
use crate::http::parse_id;
use crate::models::users::{self, NewUser};
use crate::models::{posts, threads};
use crate::state::AppState;

/// Login body.
#[derive(Deserialize)]
pub struct LoginBody {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// `POST /api/auth/login`: 200 `{token, user}` (and the session cookie), 401, or 429.
pub async fn auth_login(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let creds = auth::login(
        &state.pool,
        state.login_limits(),
        &viewer.ip,
        &body.username,
        &body.password,
    )
    .await;
    if let Err(AppError::Unauthorized(_)) = &creds {
        login_failures::count(&state, Door::Api, &body.username).await;
    }
    let creds = creds?;
    let ttl = state.config.session_ttl;
    let token = auth::create_session(&state.pool, creds.id, SessionKind::Api, ttl).await?;
    let cookie_token = auth::create_session_with_token(
        &state.pool,
        auth::paired_cookie_token(&token),
        creds.id,
        SessionKind::User,
        ttl,
    )
    .await?;
    let cookie = set_cookie(
        SESSION_COOKIE,
        &cookie_token,
        "/",
        Some(ttl.as_secs() as i64),
        secure(&state.config, &headers),
    );
    let user = json!({ "id": creds.id, "username": creds.username, "role": creds.role });
    Ok((
        [(SET_COOKIE, cookie)],
        Json(json!({ "token": token, "user": user })),
    )
        .into_response())
}

/// `POST /api/auth/logout`: 204. Ends the session of the request and, for a bearer token,
/// the cookie session its login created, and the session of a cookie sent along.
pub async fn auth_logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(hash) = &viewer.session {
        auth::delete_session(&state.pool, hash).await?;
    }
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        let paired = auth::token_hash(&auth::paired_cookie_token(token));
        auth::delete_session(&state.pool, &paired).await?;
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let hash = auth::token_hash(token);
        // A cookie-only logout ended this session above already.
        if viewer.session.as_deref() != Some(hash.as_str()) {
            auth::delete_session(&state.pool, &hash).await?;
        }
    }
    let cookie = set_cookie(
        SESSION_COOKIE,
        "",
        "/",
        None,
        secure(&state.config, &headers),
    );
    Ok(([(SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

/// Registration body.
#[derive(Deserialize)]
pub struct RegisterBody {
    /// Username.
    pub username: String,
    /// E-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `POST /api/users/`: 201 `{id, username}` for an active account (mode `open`); 202
/// `{username, status}` for one awaiting its activation link (`awaiting_email`) or an
/// administrator (`awaiting_admin`), which an address in use is answered with too; 422; 403 when
/// registration is closed or for a ban; 429 over the registrations allowed per address.
pub async fn users_create(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<RegisterBody>,
) -> ApiResult<Response> {
    let mode = registration::mode(&state.pool, &state.config).await?;
    let result = async {
        let new = NewUser::parse(&body.username, &body.email, &body.password)?;
        let (spam, metrics) = (&state.config.spam, &state.metrics.safety);
        crate::antispam::check_registration(
            &state.pool,
            spam,
            metrics,
            &viewer.ip,
            &new.email,
            None,
        )
        .await?;
        let registered = registration::register(&state.pool, &state.config, mode, &new).await?;
        crate::antispam::record_registration(&state.pool, &viewer.ip).await?;
        Ok((registered, new.username))
    }
    .await;
    let counted = result
        .as_ref()
        .map_or_else(registration_error_label, |(r, _)| r.result_label());
    state
        .metrics
        .accounts()
        .registration(mode.as_str(), counted);
    let (registered, username) = result?;
    let (status, body) = match registered.answer() {
        Answer::LoggedIn(id) => (
            StatusCode::CREATED,
            json!({ "id": id, "username": username }),
        ),
        Answer::CheckMail => (
            StatusCode::ACCEPTED,
            json!({ "username": username, "status": "awaiting_email" }),
        ),
        Answer::AwaitApproval => (
            StatusCode::ACCEPTED,
            json!({ "username": username, "status": "awaiting_admin" }),
        ),
    };
    Ok((status, Json(body)).into_response())
}

/// `GET /api/users/{id}/`: the public profile with the user's newest threads and posts (as the
/// profile page).
pub async fn user_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let profile = users::profile(&client, id).await?;
    let threads = threads::by_user(&client, id, 20, viewer.grants.seen()).await?;
    let posts = posts::by_user(&client, id, 20, &viewer.grants.readable()).await?;
    Ok(Json(json!({ "user": profile, "threads": threads, "posts": posts })).into_response())
}

/// `GET /api/me/`: the logged-in user's profile and e-mail; 401 without a session.
pub async fn me(State(state): State<AppState>, viewer: Viewer) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    let profile = users::profile(&client, user.id).await?;
    let email = users::email(&client, user.id).await?;
    Ok(Json(json!({
        "user": profile,
        "email": email,
        "is_moderator": user.is_moderator(),
        "is_banned": user.is_banned(),
    }))
    .into_response())
}

/// The change-password body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// The current password.
    pub current: String,
    /// The new password.
    pub new: String,
}

/// `POST /api/me/password`: 204; 422 naming `new` (too short) or `current` (wrong; counted by
/// the login rate limits, so 429 after too many); the user's other sessions end.
pub async fn password(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    auth::change_password(
        &state.pool,
        state.login_limits(),
        &viewer.ip,
        user,
        viewer.session.as_deref(),
        &body.current,
        &body.new,
    )
    .await
    .map_err(|e| match e {
        // A wrong current password is a field error here: a 401 would tell the client its
        // session is gone.
        AppError::Unauthorized(message) => AppError::Field {
            field: "current",
            message,
        },
        e => AppError::in_field("new")(e),
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
