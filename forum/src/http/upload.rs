//! Reading an attachment upload (`multipart/form-data`: `file`, and `csrf`, `back` from the
//! page form) for the page and API doors alike, and the status of each refusal: 413 for a
//! file over the limit, 422 for a refused or unusable file, 503 when the store fails.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use bytes::Bytes;

use crate::attachments::UploadError;
use crate::error::AppError;
use crate::models::attachments::HARD_MAX_BYTES;

/// The request body limit of the upload routes: the highest size limit plus room for the
/// multipart framing and the other fields.
pub const UPLOAD_BODY_LIMIT: usize = HARD_MAX_BYTES as usize + 64 * 1024;

/// The fields of an upload.
#[derive(Debug, Default)]
pub struct UploadForm {
    /// The CSRF token (page form).
    pub csrf: String,
    /// The page to go back to (page form).
    pub back: String,
    /// The file name the browser sent (only used, cleaned, for the stored name).
    pub name: String,
    /// The bytes.
    pub file: Option<Bytes>,
}

fn refused(e: &MultipartError) -> UploadError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::TooLarge {
            limit: crate::attachments::readable_size(HARD_MAX_BYTES),
        }
    } else {
        UploadError::Invalid(format!("invalid upload: {}", e.body_text()))
    }
}

/// Reads the fields of `form` (unknown fields are skipped; short fields are capped).
pub async fn read(mut form: Multipart) -> Result<UploadForm, UploadError> {
    let mut out = UploadForm::default();
    while let Some(field) = form.next_field().await.map_err(|e| refused(&e))? {
        match field.name() {
            Some("csrf") => {
                out.csrf = field
                    .text()
                    .await
                    .map_err(|e| refused(&e))?
                    .chars()
                    .take(128)
                    .collect();
            }
            Some("back") => {
                out.back = field
                    .text()
                    .await
                    .map_err(|e| refused(&e))?
                    .chars()
                    .take(200)
                    .collect();
            }
            Some("file") => {
                out.name = field.file_name().unwrap_or("").chars().take(200).collect();
                out.file = Some(field.bytes().await.map_err(|e| refused(&e))?);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The status and public message of a refused upload (the cause of a 5xx is logged).
pub fn status_and_message(e: &UploadError) -> (StatusCode, String) {
    match e {
        UploadError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        UploadError::Type(_) | UploadError::Invalid(_) | UploadError::Disabled => {
            (StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        }
        UploadError::Storage(cause) => {
            tracing::error!(error = %cause, "attachment storage failed");
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        UploadError::App(inner) => (inner.status(), inner.public_message()),
    }
}

/// An [`AppError`] as an upload refusal (for the checks before the upload itself).
pub fn app(e: AppError) -> UploadError {
    UploadError::App(e)
}
