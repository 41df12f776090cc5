//! Read marks: what a member has read. Three marks, each one row or column, so a list page
//! asks one indexed question for its threads:
//!
//! - `users.read_all_before`: everything active before it is read ("mark all read"; a new
//!   account starts with everything before it read);
//! - `category_reads`: per category, everything active before `read_before` is read;
//! - `thread_reads`: per thread, the newest post read and its time (written when a page of the
//!   thread is shown).
//!
//! A thread is *new* for a member when it was active after all of these and they never opened
//! it, *unread* when they opened it and it was active since.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::threads::{self, ThreadSummary};
use crate::models::users::User;
use crate::models::visibility;

/// The most threads the unread list shows.
pub const UNREAD_PAGE: i64 = 50;

/// The state of a thread for a member, where it is not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Active since the member's marks, never opened.
    New,
    /// Opened, and active since.
    Unread,
}

impl Mark {
    /// `new` or `unread`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::New => "new",
            Mark::Unread => "unread",
        }
    }
}

/// The marks of the threads of a list, by thread id (read threads are absent).
#[derive(Clone, Debug, Default)]
pub struct Marks(pub HashMap<i64, Mark>);

impl Marks {
    /// The mark of thread `id`.
    pub fn get(&self, id: i64) -> Option<Mark> {
        self.0.get(&id).copied()
    }
    /// `new`, `unread`, or empty for a read thread.
    pub fn of(&self, id: impl std::borrow::Borrow<i64>) -> &'static str {
        self.get(*id.borrow()).map_or("", Mark::as_str)
    }
}

/// The marks of `threads` for `user_id`, who read everything before `all_before`. Asks
/// PostgreSQL only about threads active since `all_before`.
pub async fn marks(
    client: &impl GenericClient,
    user_id: i64,
    all_before: DateTime<Utc>,
    threads: &[&ThreadSummary],
) -> Result<Marks, AppError> {
    let candidates: Vec<&&ThreadSummary> = threads
        .iter()
        .filter(|t| t.last_activity_at > all_before)
        .collect();
    if candidates.is_empty() {
        return Ok(Marks::default());
    }
    let ids: Vec<i64> = candidates.iter().map(|t| t.id).collect();
    let cats: Vec<i64> = candidates.iter().map(|t| t.category_id).collect();
    let ats: Vec<DateTime<Utc>> = candidates.iter().map(|t| t.last_activity_at).collect();
    let stmt = client
        .prepare_cached(
            "SELECT x.id, r.thread_id IS NOT NULL
             FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[]) AS x (id, cat, at)
             LEFT JOIN thread_reads r ON r.user_id = $1 AND r.thread_id = x.id
             LEFT JOIN category_reads c ON c.user_id = $1 AND c.category_id = x.cat
             WHERE x.at > coalesce(greatest(r.read_at, c.read_before), '-infinity')",
        )
        .await?;
    let rows = client.query(&stmt, &[&user_id, &ids, &cats, &ats]).await?;
    Ok(Marks(
        rows.iter()
            .map(|r| {
                let opened: bool = r.get(1);
                (r.get(0), if opened { Mark::Unread } else { Mark::New })
            })
            .collect(),
    ))
}

/// Notes that `user_id` has read thread `thread_id` up to the last post of page `page` of
/// `per_page` posts (a mark never moves back); returns whether the mark moved.
pub async fn mark_page_read(
    client: &impl GenericClient,
    user_id: i64,
    thread_id: i64,
    page: i64,
    per_page: i64,
) -> Result<bool, AppError> {
    let stmt = client
        .prepare_cached(
            "INSERT INTO thread_reads (user_id, thread_id, last_read_post_id, read_at)
             SELECT $1, $2, l.id, l.created_at
             FROM (SELECT s.id, s.created_at
                   FROM (SELECT id, created_at FROM posts WHERE thread_id = $2 ORDER BY id LIMIT $3) s
                   ORDER BY s.id DESC LIMIT 1) l
             -- Already read that far (a page shown again): no write and no row lock, so many
             -- requests for one thread by one member do not queue behind each other.
             WHERE NOT EXISTS (SELECT 1 FROM thread_reads r WHERE r.user_id = $1
                               AND r.thread_id = $2 AND r.last_read_post_id >= l.id)
             ON CONFLICT (user_id, thread_id) DO UPDATE
                SET last_read_post_id = EXCLUDED.last_read_post_id, read_at = EXCLUDED.read_at
                WHERE thread_reads.last_read_post_id < EXCLUDED.last_read_post_id",
        )
        .await?;
    let upto = page.max(1).saturating_mul(per_page);
    let moved = client
        .execute(&stmt, &[&user_id, &thread_id, &upto])
        .await?;
    Ok(moved > 0)
}

/// The first post of `thread_id` that `user_id` (who read everything before `all_before`)
/// has not read, or its last post when all are read (None: no posts).
pub async fn first_unread(
    client: &impl GenericClient,
    user_id: i64,
    thread_id: i64,
    all_before: DateTime<Utc>,
) -> Result<Option<i64>, AppError> {
    let row = client
        .query_one(
            "WITH r AS (SELECT last_read_post_id FROM thread_reads WHERE user_id = $1 AND thread_id = $2),
                  c AS (SELECT cr.read_before FROM category_reads cr JOIN threads t ON t.category_id = cr.category_id
                        WHERE cr.user_id = $1 AND t.id = $2)
             SELECT coalesce(
                (SELECT min(p.id) FROM posts p WHERE p.thread_id = $2 AND
                    CASE WHEN EXISTS (SELECT 1 FROM r) THEN p.id > (SELECT last_read_post_id FROM r)
                         ELSE p.created_at > greatest($3, (SELECT read_before FROM c)) END),
                (SELECT max(id) FROM posts WHERE thread_id = $2))",
            &[&user_id, &thread_id, &all_before],
        )
        .await?;
    Ok(row.get(0))
}

/// Marks the categories `ids` read for `user_id` (everything active in them until now).
pub async fn mark_categories_read(
    client: &impl GenericClient,
    user_id: i64,
    ids: &[i64],
) -> Result<(), AppError> {
    client
        .execute(
            "INSERT INTO category_reads (user_id, category_id, read_before)
             SELECT $1, c, now() FROM unnest($2::bigint[]) AS c
             WHERE EXISTS (SELECT 1 FROM categories WHERE id = c)
             ON CONFLICT (user_id, category_id) DO UPDATE SET read_before = now()",
            &[&user_id, &ids],
        )
        .await?;
    Ok(())
}

/// Marks everything read for `user_id`; the finer marks are no longer needed.
pub async fn mark_all_read(client: &impl GenericClient, user_id: i64) -> Result<(), AppError> {
    client
        .execute(
            "WITH u AS (UPDATE users SET read_all_before = now() WHERE id = $1 RETURNING id),
                  t AS (DELETE FROM thread_reads WHERE user_id = $1)
             DELETE FROM category_reads WHERE user_id = $1",
            &[&user_id],
        )
        .await?;
    Ok(())
}

/// The threads `user` may see that are new or unread for them, newest activity first (at most
/// [`UNREAD_PAGE`]; hidden threads only for the moderators of their categories).
pub async fn unread_threads(
    client: &impl GenericClient,
    user: &User,
    all_before: DateTime<Utc>,
) -> Result<Vec<(ThreadSummary, Mark)>, AppError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {}, r.thread_id IS NOT NULL AS opened FROM threads t
             JOIN categories c ON c.id = t.category_id LEFT JOIN users u ON u.id = t.user_id
             LEFT JOIN thread_reads r ON r.user_id = $1 AND r.thread_id = t.id
             LEFT JOIN category_reads cr ON cr.user_id = $1 AND cr.category_id = t.category_id
             WHERE (NOT t.is_hidden OR $4) AND t.last_activity_at > $2
               AND t.last_activity_at > coalesce(greatest(r.read_at, cr.read_before), '-infinity')
             ORDER BY t.last_activity_at DESC, t.id DESC LIMIT $3",
            threads::SUMMARY_COLUMNS
        ))
        .await?;
    let view = visibility::MemberView::load(client, user).await?;
    // Hidden threads are asked for only by who moderates somewhere; `sees` keeps those of
    // the categories they moderate.
    let hidden_too = view.moderates_any();
    Ok(client
        .query(&stmt, &[&user.id, &all_before, &UNREAD_PAGE, &hidden_too])
        .await?
        .iter()
        .map(|r| {
            let mark = if r.get::<_, bool>("opened") {
                Mark::Unread
            } else {
                Mark::New
            };
            (ThreadSummary::from_row(r), mark)
        })
        .filter(|(t, _)| view.sees(t))
        .collect())
}

/// When `user_id` read everything before (their "mark all read").
pub async fn all_read_before(
    client: &impl GenericClient,
    user_id: i64,
) -> Result<DateTime<Utc>, AppError> {
    Ok(client
        .query_one(
            "SELECT read_all_before FROM users WHERE id = $1",
            &[&user_id],
        )
        .await?
        .try_get(0)?)
}
