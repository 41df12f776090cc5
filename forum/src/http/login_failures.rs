//! Failed logins by door and by the role of the account tried
//! (`forum_login_failures_total{door,account}`): a burst against an administrator's account is
//! an attack on the admin panel whichever door it comes through.

use crate::models::users;
use crate::state::AppState;

/// Where a login was tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    /// `POST /login`.
    Page,
    /// `POST /api/auth/login`.
    Api,
    /// `POST /admin/login`.
    Admin,
}

impl Door {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Door::Page => "page",
            Door::Api => "api",
            Door::Admin => "admin",
        }
    }
}

/// Counts a failed login through `door` for `username`, looking up the role of that account
/// (`unknown` when there is none).
pub async fn count(state: &AppState, door: Door, username: &str) {
    let account = match state.pool.get().await {
        Ok(client) => match users::credentials(&client, username.trim()).await {
            Ok(Some(creds)) => creds.role.as_str(),
            Ok(None) => "unknown",
            Err(e) => {
                tracing::debug!(error = %e, "the account of a failed login could not be read");
                "unknown"
            }
        },
        Err(e) => {
            tracing::debug!(error = %e, "the account of a failed login could not be read");
            "unknown"
        }
    };
    state.metrics.count_login_failure(door.as_str(), account);
}
