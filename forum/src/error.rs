//! One error type for every handler and the models below them: [`AppError`] says what went
//! wrong and which HTTP status that is. How it is shown lives above: an HTML page in
//! `http::error_page`, JSON in `api::error`; the cause of a 5xx is logged and never shown.

use axum::http::StatusCode;

/// What can go wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such page or object.
    #[error("not found")]
    NotFound,
    /// Login required (web: redirect to the login page).
    #[error("you need to log in")]
    LoginRequired,
    /// Wrong credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Logged in but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// CSRF token missing or wrong, or a cross-origin API call.
    #[error("the form expired or came from another site; reload the page and try again")]
    Csrf,
    /// Invalid input (422).
    #[error("{0}")]
    Invalid(String),
    /// Invalid input in one named field (422; the API names the field).
    #[error("{message}")]
    Field {
        /// The field of the request body, e.g. `body`.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The request conflicts with the current state (409), e.g. a second vote in a poll
    /// without revotes.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts (429).
    #[error("too many attempts; try again later")]
    RateLimited,
    /// A database error (500, logged).
    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No database connection (503, logged).
    #[error("database pool error: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// Anything else (500, logged).
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

/// A handler result.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::LoginRequired | AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::Invalid(_) | AppError::Field { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::Pool(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Db(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to the user: the cause of a 5xx is logged, never shown.
    pub fn public_message(&self) -> String {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            if status == StatusCode::SERVICE_UNAVAILABLE {
                return "the forum is busy; try again in a moment".into();
            }
            return "something went wrong on our side; it has been logged".into();
        }
        self.to_string()
    }

    /// Shorthand for [`AppError::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> AppError {
        AppError::Invalid(msg.into())
    }

    /// Attaches `field` to an [`AppError::Invalid`] (other errors pass unchanged), so the API
    /// can say which field of the body is wrong: `.map_err(AppError::in_field("body"))`.
    pub fn in_field(field: &'static str) -> impl Fn(AppError) -> AppError {
        move |e| match e {
            AppError::Invalid(message) => AppError::Field { field, message },
            e => e,
        }
    }
}
