//! `POST /api/attachments/`: an upload (`multipart/form-data`, field `file`) by a member who
//! may write; 201 with `{id, url, thumbnail_url, markdown, ...}`. A multipart body is what a
//! cross-site HTML form can send, so with the session cookie (a browser) the CSRF token must
//! come along, in the `csrf` field or the `X-CSRF-Token` header; a bearer token is not sent
//! by browsers on their own and needs neither. Refusals: 413 over the size limit, 422 for a
//! type that is not allowed or a file that is not what it claims, 503 when the store fails.
//! `POST /api/posts/preview` renders a body without saving it.

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Router, extract::DefaultBodyLimit};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, ApiJson, ApiResult, login_as_401};
use crate::auth::Viewer;
use crate::http::upload::{self, UPLOAD_BODY_LIMIT};
use crate::models::attachments::Attachment;
use crate::models::posts::PostBody;
use crate::state::AppState;

/// The header a script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The routes of this file.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/attachments/",
            post(upload).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/api/posts/preview", post(preview))
}

/// The JSON of an attachment.
pub fn attachment_json(a: &Attachment) -> serde_json::Value {
    json!({
        "id": a.id,
        "url": a.url(),
        "thumbnail_url": a.thumbnail_url(),
        "markdown": a.markdown(),
        "filename": a.filename,
        "type": a.file_type,
        "content_type": a.content_type,
        "size": a.size_bytes,
        "width": a.width,
        "height": a.height,
    })
}

fn refusal(e: &crate::attachments::UploadError) -> Response {
    let (status, message) = upload::status_and_message(e);
    (status, Json(json!({ "error": message, "field": "file" }))).into_response()
}

/// `POST /api/attachments/`.
pub async fn upload(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let user = match viewer.require_writer().map_err(login_as_401) {
        Ok(u) => u.clone(),
        Err(e) => return ApiError(e).into_response(),
    };
    let form = match upload::read(form).await {
        Ok(f) => f,
        Err(e) => return refusal(&e),
    };
    if !headers.contains_key(header::AUTHORIZATION) {
        let token = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or(form.csrf);
        if let Err(e) = viewer.check_csrf(&token) {
            return ApiError(e).into_response();
        }
    }
    let Some(file) = form.file else {
        return refusal(&crate::attachments::UploadError::Invalid(
            "send the file in the multipart field `file`".into(),
        ));
    };
    match state
        .attachments
        .upload(&state.pool, &user, &form.name, file)
        .await
    {
        Ok(a) => (StatusCode::CREATED, Json(attachment_json(&a))).into_response(),
        Err(e) => refusal(&e),
    }
}

/// `{"body"}` of a preview.
#[derive(Debug, Deserialize)]
pub struct PreviewBody {
    /// The Markdown.
    pub body: String,
}

/// `POST /api/posts/preview`: `{"html"}` of a body, checked like a post's (length, nesting)
/// and rendered off the async threads; nothing is saved. Members only.
pub async fn preview(viewer: Viewer, ApiJson(body): ApiJson<PreviewBody>) -> ApiResult<Response> {
    viewer.require_user().map_err(login_as_401)?;
    let text = PostBody::parse(&body.body).map_err(crate::error::AppError::in_field("body"))?;
    let html = crate::markdown::render_off_runtime(text.as_str())
        .await
        .map_err(|e| crate::error::AppError::Field {
            field: "body",
            message: e.to_string(),
        })?;
    Ok(Json(json!({ "html": html })).into_response())
}
