//! Users: roles and what they permit, registration, profiles, bans, avatars.

use std::error::Error as StdError;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use crate::error::AppError;

/// What a user may do; stored as text (`member`, `moderator`, `admin`) in `users.role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Writes and edits their own posts.
    Member,
    /// Also moderates every thread and post.
    Moderator,
    /// Also reaches the admin panel.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Member, Role::Moderator, Role::Admin];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// The role named `s`; 422 for anything else.
    pub fn parse(s: &str) -> Result<Role, AppError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| AppError::invalid("unknown role"))
    }

    /// Moderators and admins moderate.
    pub fn moderates(self) -> bool {
        matches!(self, Role::Moderator | Role::Admin)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'a> FromSql<'a> for Role {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Role, Box<dyn StdError + Sync + Send>> {
        let s = <&str as FromSql>::from_sql(ty, raw)?;
        Ok(Role::parse(s)?)
    }
    fn accepts(ty: &Type) -> bool {
        <&str as FromSql>::accepts(ty)
    }
}

impl ToSql for Role {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        self.as_str().to_sql(ty, out)
    }
    fn accepts(ty: &Type) -> bool {
        <&str as ToSql>::accepts(ty)
    }
    to_sql_checked!();
}

/// A logged-in user, as a request sees them; the permission checks of every page, form and
/// API call start here.
#[derive(Clone, Debug)]
pub struct User {
    /// The user's id.
    pub id: i64,
    /// Their name.
    pub username: String,
    /// What they may do.
    pub role: Role,
    /// Banned until this time.
    pub banned_until: Option<DateTime<Utc>>,
    /// The custom roles an administrator assigned (ids of `roles`; see
    /// [`crate::models::permissions`]).
    pub custom_roles: Vec<i64>,
}

impl User {
    /// Moderators and admins moderate.
    pub fn is_moderator(&self) -> bool {
        self.role.moderates()
    }
    /// Admins reach `/admin/`.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
    /// Whether a ban is in force.
    pub fn is_banned(&self) -> bool {
        is_banned(self.banned_until)
    }
}

/// Whether a ban until `until` is in force now.
pub fn is_banned(until: Option<DateTime<Utc>>) -> bool {
    until.is_some_and(|t| t > Utc::now())
}

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

/// Checks a username: 3-32 characters of letters, digits, `_`, `-` and `.`, in NFKC (see
/// [`crate::models::names`]).
pub fn parse_username(s: &str) -> Result<String, AppError> {
    let s = crate::models::names::normalize(s);
    let s = s.as_str();
    let n = s.chars().count();
    if !(3..=32).contains(&n) || !s.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)) {
        return Err(AppError::invalid(
            "a username has 3 to 32 letters, digits, '_', '-' or '.'",
        ));
    }
    Ok(s.to_string())
}

/// Checks an e-mail address: an `@` with text on both sides, no spaces, at most 254
/// characters.
pub fn parse_email(s: &str) -> Result<String, AppError> {
    let email = s.trim().to_string();
    let at = email.find('@');
    if email.len() > 254
        || at.is_none_or(|i| i == 0 || i == email.len() - 1)
        || email.contains(char::is_whitespace)
    {
        return Err(AppError::invalid("enter a valid e-mail address"));
    }
    Ok(email)
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
        let email = parse_email(email)?;
        Ok(NewUser {
            username,
            email,
            password: parse_password(password)?,
        })
    }
}

/// Creates the user (hashing the password); 422 when the name (or one that looks like it) or
/// the e-mail is taken.
pub async fn create(
    client: &impl GenericClient,
    user: &NewUser,
    role: Role,
) -> Result<i64, AppError> {
    let hash = crate::password::hash_password_async(user.password.clone()).await?;
    let row = client
        .query_opt(
            "INSERT INTO users (username, email, password_hash, role, name_skeleton)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING RETURNING id",
            &[
                &user.username,
                &user.email,
                &hash,
                &role,
                &crate::models::names::skeleton(&user.username),
            ],
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
    pub role: Role,
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

const PROFILE_COLUMNS: &str =
    "id, username, role, created_at, last_seen_at, thread_count, post_count, banned_until, avatar";

impl Profile {
    fn from_row(row: &tokio_postgres::Row) -> Profile {
        Profile {
            id: row.get(0),
            username: row.get(1),
            role: row.get(2),
            created_at: row.get(3),
            last_seen_at: row.get(4),
            thread_count: row.get(5),
            post_count: row.get(6),
            banned_until: row.get(7),
            avatar: row.get(8),
        }
    }
}

/// The profile of user `id`.
pub async fn profile(client: &impl GenericClient, id: i64) -> Result<Profile, AppError> {
    let row = client
        .query_opt(
            &format!("SELECT {PROFILE_COLUMNS} FROM users WHERE id = $1"),
            &[&id],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Profile::from_row(&row))
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
            &format!(
                "SELECT {PROFILE_COLUMNS} FROM users WHERE username ILIKE $1 ORDER BY id DESC LIMIT $2"
            ),
            &[&pattern, &limit],
        )
        .await?;
    Ok(rows.iter().map(Profile::from_row).collect())
}

/// The e-mail address of user `id` (shown only to the user themself).
pub async fn email(client: &impl GenericClient, id: i64) -> Result<String, AppError> {
    let row = client
        .query_opt("SELECT email FROM users WHERE id = $1", &[&id])
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(row.get(0))
}

/// Sets the avatar URL path of user `id`; returns the previous one (its file can go).
pub async fn set_avatar(
    client: &impl GenericClient,
    id: i64,
    url: &str,
) -> Result<Option<String>, AppError> {
    let row = client
        .query_one(
            "UPDATE users u SET avatar = $2 FROM users o WHERE u.id = $1 AND o.id = u.id RETURNING o.avatar",
            &[&id, &url],
        )
        .await?;
    Ok(row.get(0))
}

/// Stores a new password hash for user `id` and ends every session of theirs but the one whose
/// token hash is `keep`.
pub async fn set_password_hash(
    client: &impl GenericClient,
    id: i64,
    hash: &str,
    keep: Option<&str>,
) -> Result<(), AppError> {
    client
        .execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            &[&id, &hash],
        )
        .await?;
    client
        .execute(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2",
            &[&id, &keep],
        )
        .await?;
    Ok(())
}

/// Fails with 404 unless user `id` exists.
pub async fn ensure_exists(client: &impl GenericClient, id: i64) -> Result<(), AppError> {
    client
        .query_opt("SELECT 1 FROM users WHERE id = $1", &[&id])
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

/// Bans user `id` for `days` (more than 0, at most 36,500) with `reason` (cut to 500
/// characters), and ends their sessions.
pub async fn ban(
    client: &impl GenericClient,
    id: i64,
    days: f64,
    reason: &str,
) -> Result<(), AppError> {
    if !(days > 0.0 && days <= 36500.0) {
        return Err(AppError::invalid("ban length: 1 to 36500 days"));
    }
    let reason: String = reason.chars().take(500).collect();
    client
        .execute(
            "UPDATE users SET banned_until = now() + make_interval(secs => $2::float8 * 86400), ban_reason = $3 WHERE id = $1",
            &[&id, &days, &reason],
        )
        .await?;
    client
        .execute("DELETE FROM sessions WHERE user_id = $1", &[&id])
        .await?;
    Ok(())
}

/// Lifts the ban of user `id`.
pub async fn unban(client: &impl GenericClient, id: i64) -> Result<(), AppError> {
    client
        .execute(
            "UPDATE users SET banned_until = NULL, ban_reason = NULL WHERE id = $1",
            &[&id],
        )
        .await?;
    Ok(())
}

/// Gives user `id` `role`.
pub async fn set_role(client: &impl GenericClient, id: i64, role: Role) -> Result<(), AppError> {
    client
        .execute("UPDATE users SET role = $2 WHERE id = $1", &[&id, &role])
        .await?;
    Ok(())
}

/// The id of the user named `username` (case-insensitive), if any.
pub async fn find_by_name(
    client: &impl GenericClient,
    username: &str,
) -> Result<Option<i64>, AppError> {
    Ok(client
        .query_opt(
            "SELECT id FROM users WHERE lower(username) = lower($1)",
            &[&username],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Whether any administrator exists.
pub async fn admin_exists(client: &impl GenericClient) -> Result<bool, AppError> {
    Ok(client
        .query_opt("SELECT 1 FROM users WHERE role = 'admin'", &[])
        .await?
        .is_some())
}

/// What a login checks of the account named `username` (case-insensitive, active only).
pub struct Credentials {
    /// The user's id.
    pub id: i64,
    /// Their name.
    pub username: String,
    /// Their role.
    pub role: Role,
    /// The stored hash.
    pub password_hash: String,
    /// A ban, if any.
    pub banned_until: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .field("banned_until", &self.banned_until)
            .finish()
    }
}

/// The [`Credentials`] of the active account named `username`.
pub async fn credentials(
    client: &impl GenericClient,
    username: &str,
) -> Result<Option<Credentials>, AppError> {
    let row = client
        .query_opt(
            "SELECT id, username, role, password_hash, banned_until FROM users
             WHERE lower(username) = lower($1) AND is_active",
            &[&username],
        )
        .await?;
    Ok(row.map(|r| Credentials {
        id: r.get(0),
        username: r.get(1),
        role: r.get(2),
        password_hash: r.get(3),
        banned_until: r.get(4),
    }))
}

/// The active members named `names` (lower case), by lower-case name (`@mentions`).
pub async fn members_named(
    client: &impl GenericClient,
    names: &[String],
) -> Result<std::collections::HashMap<String, i64>, AppError> {
    if names.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let stmt = client
        .prepare_cached(
            "SELECT lower(username), id FROM users WHERE lower(username) = ANY($1) AND is_active",
        )
        .await?;
    Ok(client
        .query(&stmt, &[&names])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
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
        assert_eq!(parse_username("ａｌｉｃｅ").unwrap(), "alice");
    }

    #[test]
    fn short_passwords_and_bad_emails_are_refused() {
        assert!(NewUser::parse("alice", "alice@example.com", "short").is_err());
        assert!(NewUser::parse("alice", "not-an-email", "long enough").is_err());
        assert!(NewUser::parse("alice", "alice@example.com", "long enough").is_ok());
    }

    #[test]
    fn roles_round_trip_and_only_moderators_and_admins_moderate() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("root").is_err());
        assert!(!Role::Member.moderates());
        assert!(Role::Moderator.moderates() && Role::Admin.moderates());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let u = NewUser::parse("alice", "alice@example.com", "hunter2hunter2").unwrap();
        assert!(!format!("{u:?}").contains("hunter2"));
        let c = Credentials {
            id: 1,
            username: "alice".into(),
            role: Role::Member,
            password_hash: "$argon2id$secret".into(),
            banned_until: None,
        };
        assert!(!format!("{c:?}").contains("secret"));
    }
}
