//! The HTTP layer under every handler: cookies, the middleware of the router (metrics, CSRF
//! cookie, cache invalidation, browser protections), reading the [`crate::auth::Viewer`] of a
//! request, the HTML page of an [`crate::error::AppError`], the health and metrics endpoints
//! of every role, and the count of failed logins by door and account.

pub mod cookies;
pub mod error_page;
pub mod health;
pub mod login_failures;
pub mod middleware;
pub mod upload;
pub mod viewer;

use crate::error::AppError;

/// Parses a path id; anything but a positive integer is a 404.
pub fn parse_id(s: &str) -> Result<i64, AppError> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn only_positive_integers_are_ids() {
        assert_eq!(parse_id("42").unwrap(), 42);
        for bad in ["0", "-1", "1.5", "x", "", "1 OR 1=1"] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
    }
}
