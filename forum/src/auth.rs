//! Passwords (Argon2id), sessions (random tokens, stored hashed, in HttpOnly SameSite=Lax
//! cookies), the [`Viewer`] extractor, and CSRF protection (a double-submit token: a random
//! `forum_csrf` cookie that every form echoes in a hidden field).

use std::net::{IpAddr, SocketAddr};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::error::AppError;
use crate::state::AppState;

/// The cookie of a user session.
pub const SESSION_COOKIE: &str = "forum_session";
/// The cookie of an admin-panel session (path `/admin`).
pub const ADMIN_COOKIE: &str = "forum_admin";
/// The CSRF double-submit cookie.
pub const CSRF_COOKIE: &str = "forum_csrf";

/// Hashes `password` with Argon2id (blocking: call from `spawn_blocking`).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// Whether `password` matches `hash` (blocking).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// [`hash_password`] off the async threads.
pub async fn hash_password_async(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)
}

/// [`verify_password`] off the async threads.
pub async fn verify_password_async(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// A new random token (32 bytes, hex).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database stores of a session token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The value of cookie `name` in `headers`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when `secure`; `max_age` None deletes.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
    secure: bool,
) -> HeaderValue {
    let age = max_age.unwrap_or(0);
    let secure = if secure { "; Secure" } else { "" };
    let s = format!("{name}={value}; Path={path}; Max-Age={age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Whether cookies of this request must be `Secure`.
pub fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.secure_cookies
        || (state.config.trust_proxy
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                == Some("https"))
}

/// The CSRF token of the request, put in the extensions by [`csrf_cookie`].
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// Middleware: makes sure every browser has a `forum_csrf` cookie (set on the response when the
/// request had none), and makes the token available to handlers.
pub async fn csrf_cookie(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|t| t.len() == 64)
        .map(str::to_owned);
    let fresh = existing.is_none();
    let token = existing.unwrap_or_else(random_token);
    let https = secure(&state, req.headers());
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.run(req).await;
    if fresh {
        let value = set_cookie(CSRF_COOKIE, &token, "/", Some(365 * 24 * 3600), https);
        res.headers_mut().append(SET_COOKIE, value);
    }
    res
}

/// A logged-in user, as the request sees them.
#[derive(Clone, Debug)]
pub struct User {
    /// The user's id.
    pub id: i64,
    /// Their name.
    pub username: String,
    /// `member`, `moderator` or `admin`.
    pub role: String,
    /// Banned until this time.
    pub banned_until: Option<DateTime<Utc>>,
}

impl User {
    /// Moderators and admins moderate.
    pub fn is_moderator(&self) -> bool {
        self.role == "moderator" || self.role == "admin"
    }
    /// Admins reach `/admin/`.
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
    /// Whether a ban is in force.
    pub fn is_banned(&self) -> bool {
        self.banned_until.is_some_and(|t| t > Utc::now())
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
}

impl Viewer {
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

    /// The id of the user or 0 (for queries with "liked by me" columns).
    pub fn user_id(&self) -> i64 {
        self.user.as_ref().map_or(0, |u| u.id)
    }
}

/// The client address: the first `X-Forwarded-For` hop behind a trusted proxy, else the peer.
pub fn client_ip(parts: &Parts, trust_proxy: bool) -> String {
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    if let Some(ip) = forwarded.filter(|_| trust_proxy) {
        return ip.to_string();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string())
}

/// Looks up the session of `token` of `kind`; refreshes `last_seen_at` at most once a minute.
pub async fn session_user(
    state: &AppState,
    token: &str,
    kind: &str,
) -> Result<Option<(User, String)>, AppError> {
    let client = state.pool.get().await?;
    let hash = token_hash(token);
    let stmt = client
        .prepare_cached(
            "SELECT u.id, u.username, u.role, u.banned_until,
                    (u.last_seen_at IS NULL OR u.last_seen_at < now() - interval '1 minute') AS stale
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.kind = $2 AND s.expires_at > now() AND u.is_active",
        )
        .await?;
    let Some(row) = client.query_opt(&stmt, &[&hash, &kind]).await? else {
        return Ok(None);
    };
    let user = User {
        id: row.get(0),
        username: row.get(1),
        role: row.get(2),
        banned_until: row.get(3),
    };
    if row.get::<_, bool>(4) {
        client
            .execute(
                "UPDATE users SET last_seen_at = now() WHERE id = $1",
                &[&user.id],
            )
            .await?;
    }
    Ok(Some((user, hash)))
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let ip = client_ip(parts, state.config.trust_proxy);
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let found = match (bearer, cookie(&parts.headers, SESSION_COOKIE)) {
            (Some(token), _) => session_user(state, &token, "api").await?,
            (None, Some(token)) => session_user(state, token, "user").await?,
            (None, None) => None,
        };
        let (user, session) = match found {
            Some((u, h)) => (Some(u), Some(h)),
            None => (None, None),
        };
        Ok(Viewer {
            user,
            session,
            csrf,
            ip,
        })
    }
}

/// Creates a session of `kind` for `user_id`; returns the token.
pub async fn create_session(
    state: &AppState,
    user_id: i64,
    kind: &str,
) -> Result<String, AppError> {
    let token = random_token();
    let ttl = state.config.session_ttl.as_secs_f64();
    let client = state.pool.get().await?;
    client
        .execute(
            "INSERT INTO sessions (token_hash, user_id, kind, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
            &[&token_hash(&token), &user_id, &kind, &ttl],
        )
        .await?;
    Ok(token)
}

/// Deletes the session whose token hash is `hash`.
pub async fn delete_session(state: &AppState, hash: &str) -> Result<(), AppError> {
    let client = state.pool.get().await?;
    client
        .execute("DELETE FROM sessions WHERE token_hash = $1", &[&hash])
        .await?;
    Ok(())
}

/// The user row a login needs.
#[derive(Debug)]
pub struct Credentials {
    /// The user's id.
    pub id: i64,
    /// Their name.
    pub username: String,
    /// Their role.
    pub role: String,
    /// The stored hash.
    pub password_hash: String,
    /// A ban in force.
    pub banned_until: Option<DateTime<Utc>>,
}

/// Checks `username` / `password` with the rate limits of [`crate::ratelimit`]; a failure
/// answers 401 (what the nginx exporter counts) and a blocked client 429.
pub async fn login(
    state: &AppState,
    ip: &str,
    username: &str,
    password: &str,
) -> Result<Credentials, AppError> {
    let username = username.trim();
    crate::ratelimit::check_login(state, ip, username).await?;
    let client = state.pool.get().await?;
    let row = client
        .query_opt(
            "SELECT id, username, role, password_hash, banned_until FROM users
             WHERE lower(username) = lower($1) AND is_active",
            &[&username],
        )
        .await?;
    drop(client);
    let creds = row.map(|r| Credentials {
        id: r.get(0),
        username: r.get(1),
        role: r.get(2),
        password_hash: r.get(3),
        banned_until: r.get(4),
    });
    // Verify against a dummy hash for unknown users so timing does not reveal which names exist.
    let hash = match &creds {
        Some(c) => c.password_hash.clone(),
        None => tokio::task::spawn_blocking(|| dummy_hash().to_string())
            .await
            .unwrap_or_default(),
    };
    let ok = verify_password_async(password.to_owned(), hash).await;
    match creds {
        Some(c) if ok => Ok(c),
        _ => {
            crate::ratelimit::record_failure(state, ip, username).await?;
            Err(AppError::Unauthorized("wrong username or password".into()))
        }
    }
}

/// Changes the password of `user` (pages and API): validates `new` (422), checks `current`
/// through [`login`] (so guesses are rate limited: 401 when wrong, 429), stores the new hash,
/// and ends every other session of the user (all but the one whose token hash is `keep`).
pub async fn change_password(
    state: &AppState,
    ip: &str,
    user: &User,
    keep: Option<&str>,
    current: &str,
    new: &str,
) -> Result<(), AppError> {
    let new = crate::models::users::parse_password(new)?;
    let creds = login(state, ip, &user.username, current)
        .await
        .map_err(|e| match e {
            AppError::Unauthorized(_) => {
                AppError::Unauthorized("the current password is wrong".into())
            }
            e => e,
        })?;
    let hash = hash_password_async(new).await?;
    let client = state.pool.get().await?;
    client
        .execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            &[&creds.id, &hash],
        )
        .await?;
    client
        .execute(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2",
            &[&creds.id, &keep],
        )
        .await?;
    Ok(())
}

/// An Argon2id hash of a random password, verified against when the user does not exist, so
/// the time of a failed login does not reveal which names exist.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}
