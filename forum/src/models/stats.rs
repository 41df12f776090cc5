//! Counts shown on the admin panel's front page.

use deadpool_postgres::GenericClient;

use crate::error::AppError;

/// How much the forum holds, and the state of its job queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Users.
    pub users: i64,
    /// Threads (private threads are not counted).
    pub threads: i64,
    /// Posts (of private threads neither).
    pub posts: i64,
    /// Jobs waiting to run.
    pub jobs_queued: i64,
    /// Jobs that failed for good.
    pub jobs_failed: i64,
}

/// The counts now.
pub async fn counts(client: &impl GenericClient) -> Result<Counts, AppError> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM threads WHERE category_id <> 0), (SELECT count(*) FROM posts p JOIN threads t ON t.id = p.thread_id WHERE t.category_id <> 0),
                    (SELECT count(*) FROM jobs WHERE status = 'queued'), (SELECT count(*) FROM jobs WHERE status = 'failed')",
            &[],
        )
        .await?;
    Ok(Counts {
        users: row.get(0),
        threads: row.get(1),
        posts: row.get(2),
        jobs_queued: row.get(3),
        jobs_failed: row.get(4),
    })
}
