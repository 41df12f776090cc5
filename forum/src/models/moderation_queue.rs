//! The moderation queue: the first posts of new members (see `config::SpamRules`) wait here,
//! unseen, until a moderator approves them (then they are written as any post or thread is),
//! deletes them, or bans their author. Nothing waiting is in `posts` or `threads`, so no list,
//! count or search can show it.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::error::AppError;
use crate::models::notifications;
use crate::models::posts::{self, PostBody};
use crate::models::threads::{self, ThreadTitle};
use crate::models::users::{self, User};

/// A post or thread waiting for approval.
#[derive(Clone, Debug, Serialize)]
pub struct Queued {
    /// Its id in the queue.
    pub id: i64,
    /// The author.
    pub user_id: i64,
    /// The author's name.
    pub username: String,
    /// The thread of a reply.
    pub thread_id: Option<i64>,
    /// The thread's title (a reply) or the new thread's title.
    pub title: String,
    /// The category of a new thread.
    pub category_id: Option<i64>,
    /// The Markdown text.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// What an approval wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Approved {
    /// The thread (new or replied to).
    pub thread_id: i64,
    /// The post, for a reply.
    pub post_id: Option<i64>,
}

/// Queues a reply of `user` to `thread_id`; the caller checked
/// [`crate::models::policy::check_reply`]. Returns the queue id.
pub async fn enqueue_reply(
    client: &impl GenericClient,
    thread_id: i64,
    user: &User,
    body: &PostBody,
) -> Result<i64, AppError> {
    let row = client
        .query_one(
            "INSERT INTO moderation_queue (user_id, thread_id, body) VALUES ($1, $2, $3)
             RETURNING id",
            &[&user.id, &thread_id, &body.as_str()],
        )
        .await?;
    Ok(row.get(0))
}

/// Queues a new thread of `user_id` in `category_id` (404 when there is no such category).
pub async fn enqueue_thread(
    client: &impl GenericClient,
    category_id: i64,
    user_id: i64,
    title: &ThreadTitle,
    body: &PostBody,
) -> Result<i64, AppError> {
    let row = client
        .query_opt(
            "INSERT INTO moderation_queue (user_id, category_id, title, body)
             SELECT $1, id, $3, $4 FROM categories WHERE id = $2
             RETURNING id",
            &[&user_id, &category_id, &title.as_str(), &body.as_str()],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(row.get(0))
}

const QUEUED_COLUMNS: &str = "q.id, q.user_id, u.username, q.thread_id,
    coalesce(q.title, t.title, ''), q.category_id, q.body, q.created_at";

fn from_row(r: &tokio_postgres::Row) -> Queued {
    Queued {
        id: r.get(0),
        user_id: r.get(1),
        username: r.get(2),
        thread_id: r.get(3),
        title: r.get(4),
        category_id: r.get(5),
        body: r.get(6),
        created_at: r.get(7),
    }
}

/// What waits, oldest first (at most 200).
pub async fn list(client: &impl GenericClient) -> Result<Vec<Queued>, AppError> {
    let rows = client
        .query(
            &format!(
                "SELECT {QUEUED_COLUMNS} FROM moderation_queue q
                 JOIN users u ON u.id = q.user_id
                 LEFT JOIN threads t ON t.id = q.thread_id
                 ORDER BY q.id LIMIT 200"
            ),
            &[],
        )
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// How many posts and threads wait.
pub async fn count(client: &impl GenericClient) -> Result<i64, AppError> {
    Ok(client
        .query_one("SELECT count(*) FROM moderation_queue", &[])
        .await?
        .get(0))
}

/// Removes item `id` from the queue and returns it (404 when there is none); locks it, so two
/// moderators cannot both approve it.
async fn take(client: &impl GenericClient, id: i64) -> Result<Queued, AppError> {
    let row = client
        .query_opt(
            &format!(
                "WITH q AS (DELETE FROM moderation_queue WHERE id = $1 RETURNING *)
                 SELECT {QUEUED_COLUMNS} FROM q
                 JOIN users u ON u.id = q.user_id
                 LEFT JOIN threads t ON t.id = q.thread_id"
            ),
            &[&id],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(from_row(&row))
}

/// Approves item `id` in the transaction `tx`: writes the reply or the thread as its author
/// wrote it. A reply to a thread closed since is still written (a moderator approved it).
pub async fn approve(tx: &impl GenericClient, id: i64) -> Result<Approved, AppError> {
    let q = take(tx, id).await?;
    let body = PostBody::parse(&q.body)?;
    match (q.thread_id, q.category_id) {
        (Some(thread_id), _) => {
            let post_id = posts::insert(tx, thread_id, q.user_id, &body).await?;
            notifications::post_written(tx, thread_id, post_id, q.user_id, body.as_str()).await?;
            Ok(Approved {
                thread_id,
                post_id: Some(post_id),
            })
        }
        (None, Some(category_id)) => {
            let title = ThreadTitle::parse(&q.title)?;
            let thread_id =
                threads::create(tx, category_id, q.user_id, &title, &body, None).await?;
            let first = posts::first_id(tx, thread_id).await?;
            notifications::post_written(tx, thread_id, first, q.user_id, body.as_str()).await?;
            Ok(Approved {
                thread_id,
                post_id: None,
            })
        }
        (None, None) => Err(AppError::NotFound),
    }
}

/// Deletes item `id` unpublished.
pub async fn delete(client: &impl GenericClient, id: i64) -> Result<(), AppError> {
    take(client, id).await.map(|_| ())
}

/// Bans the author of item `id` for `days` with `reason` and deletes everything of theirs that
/// waits. Moderators cannot be banned from here (403). Returns the author's id.
pub async fn ban_author(
    tx: &impl GenericClient,
    id: i64,
    days: f64,
    reason: &str,
) -> Result<i64, AppError> {
    let q = take(tx, id).await?;
    let role: users::Role = tx
        .query_one("SELECT role FROM users WHERE id = $1", &[&q.user_id])
        .await?
        .get(0);
    if role.moderates() {
        return Err(AppError::Forbidden(
            "a moderator's posts do not wait in the queue; ban them from the admin panel".into(),
        ));
    }
    users::ban(tx, q.user_id, days, reason).await?;
    tx.execute(
        "DELETE FROM moderation_queue WHERE user_id = $1",
        &[&q.user_id],
    )
    .await?;
    Ok(q.user_id)
}
