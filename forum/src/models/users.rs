//! Users: registration, profiles, passwords, roles and bans.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::error::AppError;

/// A validated new account.
#[derive(Clone)]
pub struct NewUser {
    /// 3-32 letters, digits, `_`, `-`, `.`.
    pub username: String,
    /// Contains `@`, at most 254 characters.
    pub email: String,
    /// At least 8 characters.
    pub password: String,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Checks a username: 3-32 characters of letters, digits, `_`, `-` and `.`.
pub fn parse_username(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    let n = s.chars().count();
    if !(3..=32).contains(&n) || !s.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)) {
        return Err(AppError::invalid(
            "a username has 3 to 32 letters, digits, '_', '-' or '.'",
        ));
    }
    Ok(s.to_string())
}

/// Checks a password: 8 to 1024 characters.
pub fn parse_password(s: &str) -> Result<String, AppError> {
    let n = s.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(AppError::invalid("a password has at least 8 characters"));
    }
    Ok(s.to_string())
}

impl NewUser {
    /// Validates the registration fields.
    pub fn parse(username: &str, email: &str, password: &str) -> Result<NewUser, AppError> {
        let username = parse_username(username)?;
        let email = email.trim().to_string();
        let at = email.find('@');
        if email.len() > 254
            || at.is_none_or(|i| i == 0 || i == email.len() - 1)
            || email.contains(char::is_whitespace)
        {
            return Err(AppError::invalid("enter a valid e-mail address"));
        }
        Ok(NewUser {
            username,
            email,
            password: parse_password(password)?,
        })
    }
}

/// Creates the user (hashing the password); 422 when the name or e-mail is taken.
pub async fn create(
    client: &impl GenericClient,
    user: &NewUser,
    role: &str,
) -> Result<i64, AppError> {
    let hash = crate::auth::hash_password_async(user.password.clone()).await?;
    let row = client
        .query_opt(
            "INSERT INTO users (username, email, password_hash, role) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING RETURNING id",
            &[&user.username, &user.email, &hash, &role],
        )
        .await?;
    row.map(|r| r.get(0))
        .ok_or_else(|| AppError::invalid("that username or e-mail address is already taken"))
}

/// A public profile.
#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    /// Id.
    pub id: i64,
    /// Name.
    pub username: String,
    /// Role.
    pub role: String,
    /// Joined.
    pub created_at: DateTime<Utc>,
    /// Last seen.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Threads started.
    pub thread_count: i32,
    /// Posts written.
    pub post_count: i32,
    /// Banned until.
    pub banned_until: Option<DateTime<Utc>>,
    /// Avatar URL path (`/media/avatars/...`).
    pub avatar: Option<String>,
}

/// The profile of user `id`.
pub async fn profile(client: &impl GenericClient, id: i64) -> Result<Profile, AppError> {
    let row = client
        .query_opt(
            "SELECT id, username, role, created_at, last_seen_at, thread_count, post_count, banned_until, avatar
             FROM users WHERE id = $1",
            &[&id],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Profile {
        id: row.get(0),
        username: row.get(1),
        role: row.get(2),
        created_at: row.get(3),
        last_seen_at: row.get(4),
        thread_count: row.get(5),
        post_count: row.get(6),
        banned_until: row.get(7),
        avatar: row.get(8),
    })
}

/// Users for the admin panel, newest first, optionally filtered by a name prefix.
pub async fn list(
    client: &impl GenericClient,
    prefix: &str,
    limit: i64,
) -> Result<Vec<Profile>, AppError> {
    let pattern = format!(
        "{}%",
        prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows = client
        .query(
            "SELECT id, username, role, created_at, last_seen_at, thread_count, post_count, banned_until, avatar
             FROM users WHERE username ILIKE $1 ORDER BY id DESC LIMIT $2",
            &[&pattern, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Profile {
            id: row.get(0),
            username: row.get(1),
            role: row.get(2),
            created_at: row.get(3),
            last_seen_at: row.get(4),
            thread_count: row.get(5),
            post_count: row.get(6),
            banned_until: row.get(7),
            avatar: row.get(8),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_with_markup_or_spaces_are_refused() {
        assert!(parse_username("<script>").is_err());
        assert!(parse_username("a b").is_err());
        assert!(parse_username("ab").is_err());
        assert_eq!(parse_username(" alice_1 ").unwrap(), "alice_1");
    }

    #[test]
    fn short_passwords_and_bad_emails_are_refused() {
        assert!(NewUser::parse("alice", "alice@example.com", "short").is_err());
        assert!(NewUser::parse("alice", "not-an-email", "long enough").is_err());
        assert!(NewUser::parse("alice", "alice@example.com", "long enough").is_ok());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let u = NewUser::parse("alice", "alice@example.com", "hunter2hunter2").unwrap();
        assert!(!format!("{u:?}").contains("hunter2"));
    }
}
