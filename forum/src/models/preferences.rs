//! A member's notification preferences: e-mail for notifications (each time, a daily digest, or
//! never) and whether posting in a thread watches it.

use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// When a member gets e-mail about their notifications (`users.notify_email`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailPreference {
    /// One mail per notification (the default).
    Instant,
    /// One mail per digest period with every notification since the last.
    Digest,
    /// No mail; the site only.
    Never,
}

impl EmailPreference {
    /// Every choice, as the settings page lists them.
    pub const ALL: [EmailPreference; 3] = [
        EmailPreference::Instant,
        EmailPreference::Digest,
        EmailPreference::Never,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailPreference::Instant => "instant",
            EmailPreference::Digest => "digest",
            EmailPreference::Never => "never",
        }
    }

    /// The choice named `s`; 422 otherwise.
    pub fn parse(s: &str) -> Result<EmailPreference, AppError> {
        EmailPreference::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| AppError::Field {
                field: "notify_email",
                message: "notify_email must be instant, digest or never".into(),
            })
    }

    /// How the settings page names it.
    pub fn label(self) -> &'static str {
        match self {
            EmailPreference::Instant => "each time",
            EmailPreference::Digest => "a daily digest",
            EmailPreference::Never => "never",
        }
    }
}

/// A member's notification preferences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// E-mail about notifications.
    pub notify_email: EmailPreference,
    /// Posting in a thread watches it.
    pub watch_on_post: bool,
}

/// The preferences of `user_id`.
pub async fn get(client: &impl GenericClient, user_id: i64) -> Result<Preferences, AppError> {
    let row = client
        .query_opt(
            "SELECT notify_email, watch_on_post FROM users WHERE id = $1",
            &[&user_id],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Preferences {
        notify_email: EmailPreference::parse(row.get(0))?,
        watch_on_post: row.get(1),
    })
}

/// Stores `p` as the preferences of `user_id`.
pub async fn set(
    client: &impl GenericClient,
    user_id: i64,
    p: &Preferences,
) -> Result<(), AppError> {
    client
        .execute(
            "UPDATE users SET notify_email = $2, watch_on_post = $3 WHERE id = $1",
            &[&user_id, &p.notify_email.as_str(), &p.watch_on_post],
        )
        .await?;
    Ok(())
}
