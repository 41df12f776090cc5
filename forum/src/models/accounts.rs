//! Accounts beyond the login: the registration mode an administrator set, accounts awaiting
//! activation or approval, the admin panel's user search, an administrator's edits, deleting an
//! account (its content kept anonymised or deleted), and a member's data as JSON.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use serde_json::Value;

use crate::error::AppError;
use crate::models::users::Role;
use crate::registration::RegistrationMode;

/// The `site_settings` key of the registration mode.
pub const REGISTRATION_KEY: &str = "registration";

/// The registration mode in force: the admin panel's choice, else `default` (the command
/// line's).
pub async fn registration_mode(
    client: &impl GenericClient,
    default: RegistrationMode,
) -> Result<RegistrationMode, AppError> {
    let row = client
        .query_opt(
            "SELECT value FROM site_settings WHERE key = $1",
            &[&REGISTRATION_KEY],
        )
        .await?;
    Ok(row
        .and_then(|r| RegistrationMode::parse(r.get(0)))
        .unwrap_or(default))
}

/// Sets the registration mode (the admin panel).
pub async fn set_registration_mode(
    client: &impl GenericClient,
    mode: RegistrationMode,
) -> Result<(), AppError> {
    client
        .execute(
            "INSERT INTO site_settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
            &[&REGISTRATION_KEY, &mode.as_str()],
        )
        .await?;
    Ok(())
}

/// What an inactive account waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Awaiting {
    /// Its owner's activation link.
    Email,
    /// An administrator.
    Admin,
}

impl Awaiting {
    /// The stored name (`users.awaiting`).
    pub fn as_str(self) -> &'static str {
        match self {
            Awaiting::Email => "email",
            Awaiting::Admin => "admin",
        }
    }
}

/// The account of an address.
#[derive(Clone, Debug)]
pub struct Owner {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub username: String,
    /// The address as stored.
    pub email: String,
    /// Whether it can log in.
    pub is_active: bool,
}

/// The account whose address is `email` (case-insensitive), if any.
pub async fn owner_of(client: &impl GenericClient, email: &str) -> Result<Option<Owner>, AppError> {
    let row = client
        .query_opt(
            "SELECT id, username, email, is_active FROM users WHERE lower(email) = lower($1)",
            &[&email],
        )
        .await?;
    Ok(row.map(|r| Owner {
        id: r.get(0),
        username: r.get(1),
        email: r.get(2),
        is_active: r.get(3),
    }))
}

/// The account `id` as an [`Owner`].
pub async fn owner(client: &impl GenericClient, id: i64) -> Result<Owner, AppError> {
    let row = client
        .query_opt(
            "SELECT id, username, email, is_active FROM users WHERE id = $1",
            &[&id],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Owner {
        id: row.get(0),
        username: row.get(1),
        email: row.get(2),
        is_active: row.get(3),
    })
}

/// Makes the new account `id` wait for `what` (it cannot log in meanwhile).
pub async fn set_awaiting(
    client: &impl GenericClient,
    id: i64,
    what: Awaiting,
) -> Result<(), AppError> {
    client
        .execute(
            "UPDATE users SET is_active = false, awaiting = $2 WHERE id = $1",
            &[&id, &what.as_str()],
        )
        .await?;
    Ok(())
}

/// Activates account `id` if it waits for `what`; returns whether it did.
pub async fn activate(
    client: &impl GenericClient,
    id: i64,
    what: Option<Awaiting>,
) -> Result<Option<Owner>, AppError> {
    let row = client
        .query_opt(
            "UPDATE users SET is_active = true, awaiting = NULL
             WHERE id = $1 AND awaiting IS NOT NULL AND ($2::text IS NULL OR awaiting = $2)
             RETURNING id, username, email",
            &[&id, &what.map(Awaiting::as_str)],
        )
        .await?;
    Ok(row.map(|r| Owner {
        id: r.get(0),
        username: r.get(1),
        email: r.get(2),
        is_active: true,
    }))
}

/// How many mails of `kind` went to `recipient` (case-insensitive) in the last hour; bounds
/// the mails anyone can make the forum send to an address.
pub async fn mails_last_hour(
    client: &impl GenericClient,
    kind: &str,
    recipient: &str,
) -> Result<i64, AppError> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM mails WHERE kind = $1 AND lower(recipient) = lower($2)
             AND created_at > now() - interval '1 hour'",
            &[&kind, &recipient],
        )
        .await?
        .get(0))
}

/// Sets the address of account `id`; 422 when another account has it.
pub async fn set_email(client: &impl GenericClient, id: i64, email: &str) -> Result<(), AppError> {
    let taken = client
        .query_opt(
            "SELECT 1 FROM users WHERE lower(email) = lower($1) AND id <> $2",
            &[&email, &id],
        )
        .await?
        .is_some();
    if taken {
        return Err(AppError::invalid(
            "that e-mail address belongs to another account",
        ));
    }
    client
        .execute("UPDATE users SET email = $2 WHERE id = $1", &[&id, &email])
        .await?;
    Ok(())
}

/// Renames account `id`; 422 when the name is taken.
pub async fn rename(client: &impl GenericClient, id: i64, username: &str) -> Result<(), AppError> {
    let taken = client
        .query_opt(
            "SELECT 1 FROM users WHERE lower(username) = lower($1) AND id <> $2",
            &[&username, &id],
        )
        .await?
        .is_some();
    if taken {
        return Err(AppError::invalid("that username is already taken"));
    }
    client
        .execute(
            "UPDATE users SET username = $2 WHERE id = $1",
            &[&id, &username],
        )
        .await?;
    Ok(())
}

/// Ends every session (pages, admin panel, API tokens) of account `id`.
pub async fn end_sessions(client: &impl GenericClient, id: i64) -> Result<u64, AppError> {
    Ok(client
        .execute("DELETE FROM sessions WHERE user_id = $1", &[&id])
        .await?)
}

/// A user as the admin panel lists them.
#[derive(Clone, Debug, Serialize)]
pub struct AdminUser {
    /// Id.
    pub id: i64,
    /// Name.
    pub username: String,
    /// Address.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Whether the account can log in.
    pub is_active: bool,
    /// What an inactive account waits for (`email`, `admin`).
    pub awaiting: Option<String>,
    /// Banned until.
    pub banned_until: Option<DateTime<Utc>>,
    /// Joined.
    pub created_at: DateTime<Utc>,
    /// Last seen.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Posts written.
    pub post_count: i32,
}

/// A page of the admin panel's user list.
#[derive(Clone, Debug)]
pub struct UserPage {
    /// The users of the page, newest first.
    pub users: Vec<AdminUser>,
    /// How many users match.
    pub total: i64,
}

/// The users whose name or address contains `q` (case-insensitive; all when empty), only
/// those awaiting approval when `awaiting_only`, newest first: page `page` (from 1) of
/// `per_page`.
pub async fn search(
    client: &impl GenericClient,
    q: &str,
    awaiting_only: bool,
    page: i64,
    per_page: i64,
) -> Result<UserPage, AppError> {
    let pattern = format!(
        "%{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let filter = "(username ILIKE $1 OR email ILIKE $1) AND (NOT $2 OR awaiting = 'admin')";
    let total: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM users WHERE {filter}"),
            &[&pattern, &awaiting_only],
        )
        .await?
        .get(0);
    let offset = (page.max(1) - 1) * per_page;
    let rows = client
        .query(
            &format!(
                "SELECT id, username, email, role, is_active, awaiting, banned_until, created_at,
                        last_seen_at, post_count
                 FROM users WHERE {filter} ORDER BY id DESC LIMIT $3 OFFSET $4"
            ),
            &[&pattern, &awaiting_only, &per_page, &offset],
        )
        .await?;
    let users = rows
        .iter()
        .map(|r| AdminUser {
            id: r.get(0),
            username: r.get(1),
            email: r.get(2),
            role: r.get(3),
            is_active: r.get(4),
            awaiting: r.get(5),
            banned_until: r.get(6),
            created_at: r.get(7),
            last_seen_at: r.get(8),
            post_count: r.get(9),
        })
        .collect();
    Ok(UserPage { users, total })
}

/// How many administrators other than `id` exist.
pub async fn other_admins(client: &impl GenericClient, id: i64) -> Result<i64, AppError> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM users WHERE role = 'admin' AND id <> $1",
            &[&id],
        )
        .await?
        .get(0))
}

/// Deletes account `id`. With `with_content`, the threads it started (with their replies) and
/// its posts go too; without, they stay, anonymised (no author). Its likes, votes, sessions and
/// tokens go either way. Counters are left to a recount.
pub async fn delete_user(
    client: &impl GenericClient,
    id: i64,
    with_content: bool,
) -> Result<(), AppError> {
    if with_content {
        client
            .execute("DELETE FROM threads WHERE user_id = $1", &[&id])
            .await?;
        client
            .execute("DELETE FROM posts WHERE user_id = $1", &[&id])
            .await?;
    }
    let gone = client
        .execute("DELETE FROM users WHERE id = $1", &[&id])
        .await?;
    if gone == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Everything the forum holds about account `id`, as JSON: the account (not its password
/// hash), its threads, posts (deleted ones included), earlier versions of its posts, likes,
/// poll votes, watched threads and sessions (when, not their tokens).
pub async fn export(client: &impl GenericClient, id: i64) -> Result<Value, AppError> {
    let row = client
        .query_opt(
            "SELECT jsonb_build_object(
                'account', jsonb_build_object(
                    'id', u.id, 'username', u.username, 'email', u.email, 'role', u.role,
                    'is_active', u.is_active, 'created_at', u.created_at,
                    'last_seen_at', u.last_seen_at, 'banned_until', u.banned_until,
                    'ban_reason', u.ban_reason, 'avatar', u.avatar,
                    'thread_count', u.thread_count, 'post_count', u.post_count),
                'threads', coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'id', t.id, 'category_id', t.category_id, 'title', t.title,
                    'created_at', t.created_at, 'is_hidden', t.is_hidden) ORDER BY t.id)
                    FROM threads t WHERE t.user_id = u.id), '[]'),
                'posts', coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'id', p.id, 'thread_id', p.thread_id, 'body', p.body,
                    'created_at', p.created_at, 'edited_at', p.edited_at,
                    'is_deleted', p.is_deleted) ORDER BY p.id)
                    FROM posts p WHERE p.user_id = u.id), '[]'),
                'edits', coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'post_id', e.post_id, 'old_body', e.old_body, 'edited_at', e.edited_at)
                    ORDER BY e.id)
                    FROM post_edits e WHERE e.user_id = u.id), '[]'),
                'likes', coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'post_id', l.post_id, 'created_at', l.created_at) ORDER BY l.created_at)
                    FROM post_likes l WHERE l.user_id = u.id), '[]'),
                'poll_votes', coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'poll_id', v.poll_id, 'choice_id', v.choice_id, 'created_at', v.created_at)
                    ORDER BY v.id)
                    FROM poll_votes v WHERE v.user_id = u.id), '[]'),
                'watched_threads', coalesce((SELECT jsonb_agg(w.thread_id ORDER BY w.thread_id)
                    FROM thread_watchers w WHERE w.user_id = u.id), '[]'),
                'sessions', coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'kind', s.kind, 'created_at', s.created_at, 'expires_at', s.expires_at)
                    ORDER BY s.created_at)
                    FROM sessions s WHERE s.user_id = u.id), '[]'))
             FROM users u WHERE u.id = $1",
            &[&id],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(row.get(0))
}
