//! Private threads in the API: `POST /api/private-threads/` starts one, `GET` lists the
//! viewer's; `POST /api/private-threads/{id}/participants` invites (owner),
//! `DELETE /api/private-threads/{id}/participants/{user_id}` removes (owner) or, for one's own
//! id, leaves. The thread itself is read and replied to as any thread, at
//! `/api/threads/{id}/`, for its participants only (404 for everyone else).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiJson, ApiResult, login_as_401};
use crate::auth::Viewer;
use crate::http::parse_id;
use crate::models::posts::PostBody;
use crate::models::private_threads::{self, Left};
use crate::models::threads::ThreadTitle;
use crate::publish;
use crate::state::AppState;

/// How many private threads the list shows.
const LIST_LIMIT: i64 = 100;

/// A new private thread.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPrivateThread {
    /// Title.
    pub title: String,
    /// First post (Markdown).
    pub body: String,
    /// Names of the members to invite.
    pub participants: Vec<String>,
}

/// `POST /api/private-threads/`: 201 `{id, url, invited}`; 422 for an unknown member or none.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<NewPrivateThread>,
) -> ApiResult<Response> {
    let user = viewer.require_writer().map_err(login_as_401)?;
    let title =
        ThreadTitle::parse(&body.title).map_err(crate::error::AppError::in_field("title"))?;
    let text = PostBody::parse(&body.body).map_err(crate::error::AppError::in_field("body"))?;
    let mut client = state.pool.get().await?;
    let (id, invited) = publish::private_thread(
        &mut client,
        state.publish_rules(),
        user,
        &viewer.ip,
        &title,
        &text,
        &body.participants,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/threads/{id}/"))],
        Json(json!({ "id": id, "url": format!("/t/{id}/"), "invited": invited })),
    )
        .into_response())
}

/// `GET /api/private-threads/`: the viewer's private threads, newest activity first.
pub async fn index(State(state): State<AppState>, viewer: Viewer) -> ApiResult<Response> {
    let user = viewer.require_user().map_err(login_as_401)?;
    let client = state.pool.get().await?;
    let results = private_threads::of_user(&client, user.id, LIST_LIMIT).await?;
    Ok(Json(json!({ "results": results })).into_response())
}

/// An invitation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invitation {
    /// Names of the members to invite.
    pub participants: Vec<String>,
}

/// `POST /api/private-threads/{id}/participants` (owner): 200 `{invited, participants}`.
pub async fn invite(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Invitation>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    let invited =
        crate::publish::invite_to_private_thread(&mut client, id, user, &body.participants).await?;
    let participants = private_threads::participants(&client, id).await?;
    Ok(Json(json!({ "invited": invited, "participants": participants })).into_response())
}

/// `DELETE /api/private-threads/{id}/participants/{user_id}`: the owner removes a participant,
/// or anyone leaves with their own id; 204.
pub async fn remove(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user_id = parse_id(&user_id)?;
    let user = viewer.require_user().map_err(login_as_401)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    if user_id == user.id {
        let _: Left = private_threads::leave(&tx, id, user.id).await?;
    } else {
        viewer.require_writer().map_err(login_as_401)?;
        private_threads::remove(&tx, id, user, user_id).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
