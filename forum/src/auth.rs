//! Who is asking and what they may do: the [`Viewer`] of a request (its user, session, CSRF
//! token and address) with the permission gates every handler calls, sessions (random tokens;
//! the database keeps only their SHA-256), and logins under the rate limits of
//! [`crate::ratelimit`]. Reading the viewer from a request's cookies is `http::viewer`.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::error::AppError;
use crate::models::permissions::Grants;
use crate::models::policy::Access;
use crate::models::users::{self, Credentials, User};
use crate::password::{self, random_token};
use crate::ratelimit::{self, LoginLimits};

/// What a session is for: the web pages (cookie), the admin panel (its own cookie), or an API
/// client (bearer token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionKind {
    /// A page session (`forum_session` cookie).
    User,
    /// An admin-panel session (`forum_admin` cookie).
    Admin,
    /// An API bearer token.
    Api,
}

impl SessionKind {
    /// The stored name (`sessions.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::User => "user",
            SessionKind::Admin => "admin",
            SessionKind::Api => "api",
        }
    }
}

/// Who is asking: the user of the session (cookie or API bearer token), the CSRF token, the
/// client address.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// The logged-in user, if any.
    pub user: Option<User>,
    /// The session token hash (for logout).
    pub session: Option<String>,
    /// The request's CSRF token.
    pub csrf: String,
    /// The client address (or the proxy's, unless `--trust-proxy`).
    pub ip: String,
    /// What the viewer's roles may do in each category.
    pub grants: Arc<Grants>,
    /// What the session lookup also read for the pages of a logged-in user (the bell, the
    /// unread marks); default for anonymous viewers.
    pub marks: SessionMarks,
}

/// Read with the session, in the same query, so a page needs no round trip of its own for
/// them: the unread notifications (counted up to [`SessionMarks::BELL_CAP`]) and the member's
/// "everything before this is read" time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionMarks {
    /// Unread notifications, at most [`SessionMarks::BELL_CAP`].
    pub unread_notifications: i64,
    /// Everything active before this is read (None: anonymous).
    pub read_all_before: Option<chrono::DateTime<chrono::Utc>>,
}

impl SessionMarks {
    /// The bell counts at most this many (shown as "99+").
    pub const BELL_CAP: i64 = 100;
}

impl Viewer {
    /// The viewer as the permission policy sees them ([`crate::models::policy`]).
    pub fn access(&self) -> Access<'_> {
        Access::new(self.user.as_ref(), &self.grants)
    }

    /// The user, or a login redirect / 401.
    pub fn require_user(&self) -> Result<&User, AppError> {
        self.user.as_ref().ok_or(AppError::LoginRequired)
    }

    /// The user, when they may write (logged in and not banned).
    pub fn require_writer(&self) -> Result<&User, AppError> {
        let user = self.require_user()?;
        if user.is_banned() {
            return Err(AppError::Forbidden("your account is banned".into()));
        }
        Ok(user)
    }

    /// A moderator who may write.
    pub fn require_moderator(&self) -> Result<&User, AppError> {
        let user = self.require_writer()?;
        if !user.is_moderator() {
            return Err(AppError::Forbidden("only moderators can do this".into()));
        }
        Ok(user)
    }

    /// Checks a submitted CSRF token (constant time).
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        if !submitted.is_empty() && bool::from(submitted.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }

    /// Whether the viewer's role is moderator or administrator (the global moderation queue;
    /// what they may moderate in a category is [`crate::models::policy::moderates`]'s).
    pub fn is_moderator(&self) -> bool {
        self.user.as_ref().is_some_and(User::is_moderator)
    }

    /// The id of the user or 0 (for queries with "liked by me" columns).
    pub fn user_id(&self) -> i64 {
        self.user.as_ref().map_or(0, |u| u.id)
    }
}

pub use crate::password::token_hash;

/// Looks up the session of `token` of `kind`; refreshes `last_seen_at` at most once a minute.
/// Returns the user and the token's hash.
pub async fn session_user(
    pool: &Pool,
    token: &str,
    kind: SessionKind,
) -> Result<Option<(User, String)>, AppError> {
    Ok(session_viewer(pool, token, kind)
        .await?
        .map(|(user, hash, _)| (user, hash)))
}

/// As [`session_user`], with the [`SessionMarks`] of the user, read in the same query. (The
/// pages read it through the read cache: [`crate::cache::ReadCache::session`].)
pub async fn session_viewer(
    pool: &Pool,
    token: &str,
    kind: SessionKind,
) -> Result<Option<(User, String, SessionMarks)>, AppError> {
    let hash = token_hash(token);
    Ok(load_session(pool, &hash, kind)
        .await?
        .map(|s| (s.user, hash, s.marks)))
}

/// A live session as [`load_session`] reads it.
#[derive(Clone, Debug)]
pub struct LoadedSession {
    /// Its user.
    pub user: User,
    /// The user's marks.
    pub marks: SessionMarks,
    /// When it ends.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The live session of `kind` whose token hash is `hash` (None: none, expired, or its user
/// inactive), in one query; refreshes the user's `last_seen_at` when older than a minute.
pub async fn load_session(
    pool: &Pool,
    hash: &str,
    kind: SessionKind,
) -> Result<Option<LoadedSession>, AppError> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "SELECT u.id, u.username, u.role, u.banned_until,
                    (u.last_seen_at IS NULL OR u.last_seen_at < now() - interval '1 minute') AS stale,
                    ARRAY(SELECT role_id FROM user_roles WHERE user_id = u.id) AS custom_roles,
                    (SELECT count(*) FROM (SELECT 1 FROM notifications n
                        WHERE n.user_id = u.id AND n.read_at IS NULL LIMIT $3) b),
                    u.read_all_before, s.expires_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.kind = $2 AND s.expires_at > now() AND u.is_active",
        )
        .await?;
    let Some(row) = client
        .query_opt(&stmt, &[&hash, &kind.as_str(), &SessionMarks::BELL_CAP])
        .await?
    else {
        return Ok(None);
    };
    let marks = SessionMarks {
        unread_notifications: row.get(6),
        // A time chrono cannot hold (`-infinity` set by hand) is no mark, never a panic.
        read_all_before: row.try_get(7).ok(),
    };
    let user = User {
        id: row.get(0),
        username: row.get(1),
        role: row.get(2),
        banned_until: row.get(3),
        custom_roles: row.get(5),
    };
    // `infinity` set by hand: a session that never ends.
    let expires_at = row
        .try_get(8)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    if row.get::<_, bool>(4) {
        client
            .execute(
                "UPDATE users SET last_seen_at = now() WHERE id = $1",
                &[&user.id],
            )
            .await?;
    }
    Ok(Some(LoadedSession {
        user,
        marks,
        expires_at,
    }))
}

/// The token of the cookie session that an API login creates beside its bearer `api_token`:
/// derived from it one way, so an API logout can end both (the cookie's token does not
/// reveal the bearer token) without storing the pair.
pub fn paired_cookie_token(api_token: &str) -> String {
    hex::encode(Sha256::digest(format!(
        "forum cookie session of {api_token}"
    )))
}

/// Creates a session of `kind` for `user_id` lasting `ttl`; returns the token.
pub async fn create_session(
    pool: &Pool,
    user_id: i64,
    kind: SessionKind,
    ttl: Duration,
) -> Result<String, AppError> {
    create_session_with_token(pool, random_token(), user_id, kind, ttl).await
}

/// As [`create_session`] with a given `token` (see [`paired_cookie_token`]).
pub async fn create_session_with_token(
    pool: &Pool,
    token: String,
    user_id: i64,
    kind: SessionKind,
    ttl: Duration,
) -> Result<String, AppError> {
    let ttl = ttl.as_secs_f64();
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO sessions (token_hash, user_id, kind, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
            &[&token_hash(&token), &user_id, &kind.as_str(), &ttl],
        )
        .await?;
    Ok(token)
}

/// Deletes the session whose token hash is `hash`.
pub async fn delete_session(pool: &Pool, hash: &str) -> Result<(), AppError> {
    let client = pool.get().await?;
    client
        .execute("DELETE FROM sessions WHERE token_hash = $1", &[&hash])
        .await?;
    Ok(())
}

/// Checks `username` (in NFKC, without case) / `password` under `limits`; a failure answers
/// 401 (what the nginx exporter counts), a refused address 429, and a slowed one waits first.
pub async fn login(
    pool: &Pool,
    limits: LoginLimits,
    ip: &str,
    username: &str,
    password: &str,
) -> Result<Credentials, AppError> {
    let username = crate::models::names::normalize(username);
    let username = username.as_str();
    crate::antispam::check_login_address(pool, &limits.metrics, ip).await?;
    ratelimit::check_login(pool, &limits, ip, username).await?;
    let creds = {
        let client = pool.get().await?;
        users::credentials(&client, username).await?
    };
    // Verify against a dummy hash for unknown users so timing does not reveal which names exist.
    let hash = match &creds {
        Some(c) => c.password_hash.clone(),
        None => password::dummy_hash().await,
    };
    let ok = password::verify_password_async(password.to_owned(), hash).await;
    match creds {
        Some(c) if ok => Ok(c),
        _ => {
            ratelimit::record_failure(pool, ip, username).await?;
            Err(AppError::Unauthorized("wrong username or password".into()))
        }
    }
}

/// Changes the password of `user` (pages and API): validates `new` (422), checks `current`
/// through [`login`] (so guesses are rate limited: 401 when wrong, 429), stores the new hash,
/// and ends every other session of the user (all but the one whose token hash is `keep`).
pub async fn change_password(
    pool: &Pool,
    limits: LoginLimits,
    ip: &str,
    user: &User,
    keep: Option<&str>,
    current: &str,
    new: &str,
) -> Result<(), AppError> {
    let new = users::parse_password(new)?;
    let creds = login(pool, limits, ip, &user.username, current)
        .await
        .map_err(|e| match e {
            AppError::Unauthorized(_) => {
                AppError::Unauthorized("the current password is wrong".into())
            }
            e => e,
        })?;
    let hash = password::hash_password_async(new).await?;
    let client = pool.get().await?;
    users::set_password_hash(&client, creds.id, &hash, keep).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(csrf: &str) -> Viewer {
        Viewer {
            user: None,
            session: None,
            csrf: csrf.into(),
            ip: "127.0.0.1".into(),
            grants: Arc::new(Grants::none()),
            marks: SessionMarks::default(),
        }
    }

    #[test]
    fn a_csrf_token_must_match_and_never_be_empty() {
        assert!(viewer("abc").check_csrf("abc").is_ok());
        assert!(matches!(
            viewer("abc").check_csrf("abd"),
            Err(AppError::Csrf)
        ));
        assert!(matches!(viewer("").check_csrf(""), Err(AppError::Csrf)));
    }

    #[test]
    fn token_hashes_are_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
