//! Attachments on the pages: `POST /attachments/` (the upload form of the post forms, which
//! works without JavaScript: multipart `csrf`, `file`, `back`), and serving them at
//! `/attachments/{id}/{filename}` and `/attachments/{id}/thumbnail.png` to whoever may read
//! the post that links them (404 for anyone else; an unlinked upload only to its uploader).
//! Images are shown inline as the image type they were re-encoded to; every other file is
//! served with `Content-Disposition: attachment`, and all with `X-Content-Type-Options:
//! nosniff`, so the browser never renders an upload as a page.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::attachments::UploadError;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::http::error_page::ErrorPage;
use crate::http::parse_id;
use crate::http::upload::{self, UPLOAD_BODY_LIMIT};
use crate::models::attachments::Attachment;
use crate::state::AppState;
use crate::web::templates::{Ctx, page};

/// The routes of this file.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/attachments/",
            post(attachment_upload).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/attachments/{id}/{name}", get(attachment_show))
}

/// The page after an upload made outside the reply page.
#[derive(Template)]
#[template(path = "attachment_uploaded.html")]
struct UploadedPage {
    ctx: Ctx,
    attachment: Attachment,
    markdown: String,
    back: Option<String>,
}

/// Whether `back` is a page of this forum's post forms (a local path, never another site).
fn local_form_path(back: &str) -> Option<&str> {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && back.len() <= 100
        && back
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'));
    ok.then_some(back)
}

/// The thread id of a reply page path `/t/{id}/reply`.
fn reply_page_thread(back: &str) -> Option<i64> {
    back.strip_prefix("/t/")?
        .strip_suffix("/reply")?
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

/// `POST /attachments/`: on the reply page, back to it with the attachment's Markdown in the
/// message; from another form, a page with the Markdown to copy and a link back.
pub async fn attachment_upload(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Multipart,
) -> Response {
    match upload_page(&state, &viewer, form).await {
        Ok(r) => r,
        Err(UploadError::App(AppError::LoginRequired)) => Redirect::to("/login").into_response(),
        Err(e) => {
            let (status, message) = upload::status_and_message(&e);
            (status, Html(ErrorPage::render_page(status, &message))).into_response()
        }
    }
}

async fn upload_page(
    state: &AppState,
    viewer: &Viewer,
    form: Multipart,
) -> Result<Response, UploadError> {
    let user = viewer.require_writer().map_err(upload::app)?.clone();
    let form = upload::read(form).await?;
    viewer.check_csrf(&form.csrf).map_err(upload::app)?;
    let file = form
        .file
        .ok_or_else(|| UploadError::Invalid("choose a file to upload".into()))?;
    let att = state
        .attachments
        .upload(&state.pool, &user, &form.name, file)
        .await?;
    let back = local_form_path(&form.back).map(str::to_owned);
    if let Some(thread) = back.as_deref().and_then(reply_page_thread) {
        return Ok(Redirect::to(&format!("/t/{thread}/reply?attach={}", att.id)).into_response());
    }
    Ok(page(&UploadedPage {
        ctx: Ctx::new(viewer, "File uploaded"),
        markdown: att.markdown(),
        attachment: att,
        back,
    }))
}

/// `GET /attachments/{id}/{name}`: the file (`name` its file name) or its thumbnail
/// (`thumbnail.png`).
pub async fn attachment_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, name)): Path<(String, String)>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let att = {
        let client = state.pool.get().await?;
        crate::attachments::access::visible(&client, id, viewer.access()).await?
    };
    let thumbnail = name == "thumbnail.png";
    if !thumbnail && name != att.filename {
        return Err(AppError::NotFound);
    }
    let bytes = state.attachments.read(&att, thumbnail).await?;
    let (content_type, disposition) = if thumbnail {
        ("image/png".to_string(), "inline".to_string())
    } else if att.thumbnail_key.is_some() {
        (
            att.content_type.clone(),
            format!("inline; filename=\"{}\"", att.filename),
        )
    } else {
        (
            att.content_type.clone(),
            format!("attachment; filename=\"{}\"", att.filename),
        )
    };
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    let value = |s: &str| {
        HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
    };
    h.insert(header::CONTENT_TYPE, value(&content_type));
    h.insert(header::CONTENT_DISPOSITION, value(&disposition));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Who may read it can change (a thread hidden later): browsers keep it a short while,
    // shared caches never.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::{local_form_path, reply_page_thread};

    #[test]
    fn only_local_form_paths_are_gone_back_to() {
        assert_eq!(local_form_path("/c/3/new"), Some("/c/3/new"));
        assert_eq!(local_form_path("//evil.example/x"), None);
        assert_eq!(local_form_path("https://evil.example/"), None);
        assert_eq!(local_form_path("/p/1/edit?x=<"), None);
        assert_eq!(reply_page_thread("/t/12/reply"), Some(12));
        assert_eq!(reply_page_thread("/t/x/reply"), None);
        assert_eq!(reply_page_thread("/c/12/new"), None);
    }
}
