//! Account recovery and self-service in the API, as the pages do it:
//!
//! - `POST /api/auth/activate` `{"token"}`: 204; 422 when the link does not work;
//! - `POST /api/auth/password-reset` `{"email"}`: always 202, whatever the address;
//! - `POST /api/auth/password-reset/confirm` `{"token","password"}`: 204 (every session and API
//!   token of the account ends); 422 naming `password` (too short) or `token`;
//! - `POST /api/auth/email/confirm` `{"token"}`: 204, the new address takes effect;
//! - `POST /api/me/email` `{"email","password"}`: 202, a link goes to the new address;
//! - `GET /api/me/export`: everything the forum holds about the member;
//! - `POST /api/me/delete` `{"password","content":"keep"|"delete"}`: 204, the account is gone.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiJson, ApiResult, login_as_401};
use crate::accounts::confirm::check_password;
use crate::accounts::metrics::Event;
use crate::accounts::removal::{self, Content};
use crate::accounts::{email_change, recovery, registration};
use crate::auth::Viewer;
use crate::error::AppError;
use crate::models::accounts;
use crate::state::AppState;

/// The answer to every reset request.
pub const RESET_SENT: &str = "if an account has this address, a reset link is on its way to it";

/// The account routes of the API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/activate", post(activate))
        .route("/api/auth/password-reset", post(reset_request))
        .route("/api/auth/password-reset/confirm", post(reset_confirm))
        .route("/api/auth/email/confirm", post(email_confirm))
        .route("/api/me/email", post(email_request))
        .route("/api/me/export", get(export))
        .route("/api/me/delete", post(delete))
}

/// A body holding a token.
#[derive(Deserialize)]
pub struct TokenBody {
    /// The token of the link.
    pub token: String,
}

fn token_field(e: AppError) -> AppError {
    AppError::in_field("token")(e)
}

/// `POST /api/auth/activate`.
async fn activate(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<Response> {
    registration::activate(&state.pool, &body.token)
        .await
        .map_err(token_field)?;
    state.metrics.accounts().event(Event::Activated);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The reset request body.
#[derive(Deserialize)]
pub struct ResetBody {
    /// The address of the account.
    pub email: String,
}

/// `POST /api/auth/password-reset`: 202 whatever the address.
async fn reset_request(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetBody>,
) -> ApiResult<Response> {
    recovery::request_reset(&state.pool, &state.config, &body.email).await?;
    state.metrics.accounts().event(Event::ResetRequested);
    Ok((StatusCode::ACCEPTED, Json(json!({ "detail": RESET_SENT }))).into_response())
}

/// The reset confirmation body.
#[derive(Deserialize)]
pub struct ResetConfirmBody {
    /// The token of the link.
    pub token: String,
    /// The new password.
    pub password: String,
}

/// `POST /api/auth/password-reset/confirm`.
async fn reset_confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> ApiResult<Response> {
    crate::models::users::parse_password(&body.password).map_err(AppError::in_field("password"))?;
    recovery::reset_password(&state.pool, &body.token, &body.password)
        .await
        .map_err(token_field)?;
    state.metrics.accounts().event(Event::PasswordReset);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/auth/email/confirm`.
async fn email_confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<Response> {
    email_change::confirm(&state.pool, &body.token)
        .await
        .map_err(token_field)?;
    state.metrics.accounts().event(Event::EmailChanged);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A body with the password that confirms a sensitive step.
#[derive(Deserialize)]
pub struct EmailBody {
    /// The new address.
    pub email: String,
    /// The current password.
    pub password: String,
}

/// A wrong password is a field error: a 401 would tell the client its session is gone.
fn password_field(e: AppError) -> AppError {
    match e {
        AppError::Unauthorized(message) => AppError::Field {
            field: "password",
            message,
        },
        e => e,
    }
}

/// `POST /api/me/email`: 202.
async fn email_request(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<EmailBody>,
) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    check_password(
        &state.pool,
        state.login_limits(),
        &viewer.ip,
        user,
        &body.password,
    )
    .await
    .map_err(password_field)?;
    email_change::request(&state.pool, &state.config, user, &body.email)
        .await
        .map_err(AppError::in_field("email"))?;
    state.metrics.accounts().event(Event::EmailChangeRequested);
    let detail = "a link was sent to the new address; it takes effect when followed";
    Ok((StatusCode::ACCEPTED, Json(json!({ "detail": detail }))).into_response())
}

/// `GET /api/me/export`.
async fn export(State(state): State<AppState>, viewer: Viewer) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    Ok(Json(accounts::export(&client, user.id).await?).into_response())
}

/// The account deletion body.
#[derive(Deserialize)]
pub struct DeleteBody {
    /// The current password.
    pub password: String,
    /// `keep` (anonymised, the default) or `delete`.
    #[serde(default)]
    pub content: String,
}

/// `POST /api/me/delete`: 204.
async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<DeleteBody>,
) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let content = Content::parse(&body.content).map_err(AppError::in_field("content"))?;
    check_password(
        &state.pool,
        state.login_limits(),
        &viewer.ip,
        user,
        &body.password,
    )
    .await
    .map_err(password_field)?;
    removal::delete_account(&state.pool, user.id, content).await?;
    state.metrics.accounts().event(Event::Deleted);
    Ok(StatusCode::NO_CONTENT.into_response())
}
