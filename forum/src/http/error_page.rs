//! How an [`AppError`] answers a page request: a friendly HTML page with its status (a login
//! redirect when a login is needed); the cause of a 5xx is logged, never shown.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::error::AppError;

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: &'a str,
    /// What happened.
    pub message: &'a str,
}

impl ErrorPage<'_> {
    /// The HTML of an error page.
    pub fn render_page(status: StatusCode, message: &str) -> String {
        let t = ErrorPage {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error"),
            message,
        };
        t.render().unwrap_or_else(|_| "error".into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if matches!(self, AppError::LoginRequired) {
            return Redirect::to("/login").into_response();
        }
        let status = self.status();
        let message = self.public_message();
        let page = ErrorPage::render_page(status, &message);
        (status, Html(page)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_shows_the_status_and_escapes_the_message() {
        let html = ErrorPage::render_page(StatusCode::NOT_FOUND, "<b>gone</b>");
        assert!(html.contains("404"), "{html}");
        assert!(html.contains("&lt;b&gt;gone"), "{html}");
    }
}
