//! How the API answers errors: an [`AppError`] as JSON `{"error": "..."}` (with `field` and
//! `fields` when one field of the body is wrong), and JSON bodies whose rejections are JSON too.

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::AppError;

/// An [`AppError`] rendered as JSON `{"error": "..."}` (the API's errors).
#[derive(Debug)]
pub struct ApiError(pub AppError);

/// An API handler result.
pub type ApiResult<T> = Result<T, ApiError>;

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = self.0.public_message();
        let body = match &self.0 {
            AppError::Field { field, .. } => json!({
                "error": message,
                "field": field,
                "fields": { *field: [&message] },
            }),
            _ => json!({ "error": message }),
        };
        (status, Json(body)).into_response()
    }
}

/// A JSON body whose rejection (bad JSON, missing fields, wrong content type) is a JSON error:
/// 415 without `Content-Type: application/json`, 422 otherwise.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                let status = match rejection.status() {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                Err((status, Json(json!({ "error": rejection.body_text() }))).into_response())
            }
        }
    }
}

/// An API client has no login page to go to: a missing login is a 401.
pub fn login_as_401(e: AppError) -> AppError {
    match e {
        AppError::LoginRequired => AppError::Unauthorized("log in first".into()),
        e => e,
    }
}
