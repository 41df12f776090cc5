//! Private threads: threads between invited members, in the private category
//! ([`PRIVATE_CATEGORY`], outside the tree, seen by no role). Their participants see, read and
//! reply to them; the owner (who started it, or the earliest participant after the owner
//! left) invites and removes participants; anyone may leave; the thread is deleted when its
//! last participant leaves. Nobody else, administrators included, sees them: they are in no
//! list, count, search or feed (every list is of categories a role may see, and no role sees
//! the private category).
//!
//! Invitations: [`invited`] is the one place where members are added to a thread (on
//! creation and on invitation); it returns whom it added, for their notifications.

use std::sync::LazyLock;

use deadpool_postgres::GenericClient;
use prometheus_client::metrics::counter::Counter;
use serde::Serialize;

use crate::error::AppError;
use crate::models::permissions::PRIVATE_CATEGORY;
use crate::models::posts::PostBody;
use crate::models::threads::{self, SUMMARY_COLUMNS, ThreadSummary, ThreadTitle};
use crate::models::users::User;

/// The most participants of a private thread, its owner included.
pub const MAX_PARTICIPANTS: usize = 20;

static CREATED: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Private threads started by this process (registered by [`crate::metrics`]).
pub fn created_metric() -> Counter {
    CREATED.clone()
}

/// A participant of a private thread.
#[derive(Clone, Debug, Serialize)]
pub struct Participant {
    /// Their id.
    pub user_id: i64,
    /// Their name.
    pub username: String,
    /// Whether they own the thread.
    pub is_owner: bool,
}

/// Whether user `user_id` takes part in private thread `thread_id`.
pub async fn is_participant(
    client: &impl GenericClient,
    thread_id: i64,
    user_id: i64,
) -> Result<bool, AppError> {
    let stmt = client
        .prepare_cached(
            "SELECT 1 FROM private_thread_participants WHERE thread_id = $1 AND user_id = $2",
        )
        .await?;
    Ok(client
        .query_opt(&stmt, &[&thread_id, &user_id])
        .await?
        .is_some())
}

/// The participants of `thread_id`, the owner first.
pub async fn participants(
    client: &impl GenericClient,
    thread_id: i64,
) -> Result<Vec<Participant>, AppError> {
    Ok(client
        .query(
            "SELECT p.user_id, u.username, p.is_owner FROM private_thread_participants p
             JOIN users u ON u.id = p.user_id WHERE p.thread_id = $1
             ORDER BY p.is_owner DESC, p.joined_at, p.user_id",
            &[&thread_id],
        )
        .await?
        .iter()
        .map(|r| Participant {
            user_id: r.get(0),
            username: r.get(1),
            is_owner: r.get(2),
        })
        .collect())
}

/// The ids of the active members named `names` (case-insensitive, each once); 422 naming the
/// first unknown name, or when there are more than [`MAX_PARTICIPANTS`].
pub async fn resolve_names(
    client: &impl GenericClient,
    names: &[String],
) -> Result<Vec<i64>, AppError> {
    let mut wanted: Vec<String> = names
        .iter()
        .map(|n| crate::models::names::normalize(n.trim()).to_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    wanted.sort();
    wanted.dedup();
    if wanted.len() > MAX_PARTICIPANTS {
        return Err(field(format!(
            "a private thread has at most {MAX_PARTICIPANTS} participants"
        )));
    }
    let rows = client
        .query(
            "SELECT id, lower(username) FROM users WHERE lower(username) = ANY($1) AND is_active",
            &[&wanted],
        )
        .await?;
    if let Some(missing) = wanted
        .iter()
        .find(|w| !rows.iter().any(|r| r.get::<_, String>(1) == **w))
    {
        return Err(field(format!("there is no member named {missing}")));
    }
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

fn field(message: String) -> AppError {
    AppError::Field {
        field: "participants",
        message,
    }
}

/// Adds `user_ids` to private thread `thread_id` (those already in it are left as they are)
/// and returns the ids of the members it added: the members to notify of their invitation.
pub async fn invited(
    tx: &impl GenericClient,
    thread_id: i64,
    user_ids: &[i64],
) -> Result<Vec<i64>, AppError> {
    Ok(tx
        .query(
            "INSERT INTO private_thread_participants (thread_id, user_id)
             SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING RETURNING user_id",
            &[&thread_id, &user_ids],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Starts a private thread of `owner` with the members named `names` in the transaction
/// `tx`; returns the thread's id and the ids of the invited members.
pub async fn create(
    tx: &impl GenericClient,
    owner: &User,
    title: &ThreadTitle,
    body: &PostBody,
    names: &[String],
) -> Result<(i64, Vec<i64>), AppError> {
    let ids: Vec<i64> = resolve_names(tx, names)
        .await?
        .into_iter()
        .filter(|id| *id != owner.id)
        .collect();
    if ids.is_empty() {
        return Err(field("invite at least one other member".into()));
    }
    if ids.len() + 1 > MAX_PARTICIPANTS {
        return Err(field(format!(
            "a private thread has at most {MAX_PARTICIPANTS} participants"
        )));
    }
    let thread_id = threads::create(tx, PRIVATE_CATEGORY, owner.id, title, body, None).await?;
    tx.execute(
        "INSERT INTO private_thread_participants (thread_id, user_id, is_owner) VALUES ($1, $2, true)",
        &[&thread_id, &owner.id],
    )
    .await?;
    let invited = invited(tx, thread_id, &ids).await?;
    CREATED.inc();
    Ok((thread_id, invited))
}

/// 404 unless `user` takes part in private thread `thread_id`; 403 unless they own it.
async fn check_owner(tx: &impl GenericClient, thread_id: i64, user: &User) -> Result<(), AppError> {
    let row = tx
        .query_opt(
            "SELECT p.is_owner FROM private_thread_participants p
             JOIN threads t ON t.id = p.thread_id
             WHERE p.thread_id = $1 AND p.user_id = $2 AND t.category_id = $3 FOR UPDATE OF p",
            &[&thread_id, &user.id, &PRIVATE_CATEGORY],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    if !row.get::<_, bool>(0) {
        return Err(AppError::Forbidden(
            "only the owner of this private thread can do this".into(),
        ));
    }
    Ok(())
}

/// Invites the members named `names` to `thread_id` as `user` (its owner); returns the ids of
/// the members added.
pub async fn invite(
    tx: &impl GenericClient,
    thread_id: i64,
    user: &User,
    names: &[String],
) -> Result<Vec<i64>, AppError> {
    check_owner(tx, thread_id, user).await?;
    let ids = resolve_names(tx, names).await?;
    if ids.is_empty() {
        return Err(field("name a member to invite".into()));
    }
    let count: i64 = tx
        .query_one(
            "SELECT count(*) FROM private_thread_participants
             WHERE thread_id = $1 AND NOT user_id = ANY($2)",
            &[&thread_id, &ids],
        )
        .await?
        .get(0);
    if count as usize + ids.len() > MAX_PARTICIPANTS {
        return Err(field(format!(
            "a private thread has at most {MAX_PARTICIPANTS} participants"
        )));
    }
    invited(tx, thread_id, &ids).await
}

/// Removes `user_id` from `thread_id` as `user` (its owner; the owner leaves instead).
pub async fn remove(
    tx: &impl GenericClient,
    thread_id: i64,
    user: &User,
    user_id: i64,
) -> Result<(), AppError> {
    check_owner(tx, thread_id, user).await?;
    if user_id == user.id {
        return Err(AppError::invalid(
            "to remove yourself, leave the thread instead",
        ));
    }
    let n = drop_participant(tx, thread_id, user_id).await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

async fn drop_participant(
    tx: &impl GenericClient,
    thread_id: i64,
    user_id: i64,
) -> Result<u64, AppError> {
    let n = tx
        .execute(
            "DELETE FROM private_thread_participants WHERE thread_id = $1 AND user_id = $2",
            &[&thread_id, &user_id],
        )
        .await?;
    tx.execute(
        "DELETE FROM thread_watchers WHERE thread_id = $1 AND user_id = $2",
        &[&thread_id, &user_id],
    )
    .await?;
    Ok(n)
}

/// What became of a thread its participant left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Left {
    /// Others remain.
    Kept,
    /// The last participant left: the thread is deleted.
    Deleted,
}

/// `user_id` leaves `thread_id` (404 unless they take part). An owner who leaves hands the
/// thread to the earliest remaining participant; the last to leave deletes it.
pub async fn leave(
    tx: &impl GenericClient,
    thread_id: i64,
    user_id: i64,
) -> Result<Left, AppError> {
    let row = tx
        .query_opt(
            "SELECT p.is_owner FROM private_thread_participants p
             JOIN threads t ON t.id = p.thread_id
             WHERE p.thread_id = $1 AND p.user_id = $2 AND t.category_id = $3
             FOR UPDATE OF t",
            &[&thread_id, &user_id, &PRIVATE_CATEGORY],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    let was_owner: bool = row.get(0);
    drop_participant(tx, thread_id, user_id).await?;
    let next = tx
        .query_opt(
            "SELECT user_id FROM private_thread_participants WHERE thread_id = $1
             ORDER BY joined_at, user_id LIMIT 1",
            &[&thread_id],
        )
        .await?;
    match next {
        None => {
            let row = tx
                .query_one(
                    "DELETE FROM threads WHERE id = $1 RETURNING post_count",
                    &[&thread_id],
                )
                .await?;
            let posts: i32 = row.get(0);
            tx.execute(
                "UPDATE categories SET thread_count = thread_count - 1, post_count = post_count - $2
                 WHERE id = $1",
                &[&PRIVATE_CATEGORY, &posts],
            )
            .await?;
            Ok(Left::Deleted)
        }
        Some(r) => {
            if was_owner {
                let next: i64 = r.get(0);
                tx.execute(
                    "UPDATE private_thread_participants SET is_owner = true
                     WHERE thread_id = $1 AND user_id = $2",
                    &[&thread_id, &next],
                )
                .await?;
            }
            Ok(Left::Kept)
        }
    }
}

/// The private threads of `user_id`, newest activity first.
pub async fn of_user(
    client: &impl GenericClient,
    user_id: i64,
    limit: i64,
) -> Result<Vec<ThreadSummary>, AppError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM private_thread_participants p
             JOIN threads t ON t.id = p.thread_id
             JOIN categories c ON c.id = t.category_id LEFT JOIN users u ON u.id = t.user_id
             WHERE p.user_id = $1 AND t.category_id = $2
             ORDER BY t.last_activity_at DESC, t.id DESC LIMIT $3"
        ))
        .await?;
    Ok(client
        .query(&stmt, &[&user_id, &PRIVATE_CATEGORY, &limit])
        .await?
        .iter()
        .map(ThreadSummary::from_row)
        .collect())
}
