//! The job queue in the `jobs` table: the kinds of job, queueing, claiming with a lease, marking
//! the outcome, and what each kind does. The loop that runs them is `worker`.
//!
//! A job is claimed with `SELECT ... FOR UPDATE SKIP LOCKED` in a short transaction that counts
//! the attempt and leases the job (`run_at` moves [`LEASE`] ahead, so no other worker claims it
//! meanwhile); it then runs in a second transaction that holds the job's row lock
//! ([`lock_claimed`]), so a job never runs twice at once and its effects commit together with
//! its `done` mark.

use std::time::Duration;

use deadpool_postgres::GenericClient;
use serde_json::Value;

use crate::error::AppError;

/// The kinds of job the worker knows (the `jobs.kind` text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Recompute every counter from the rows.
    Recount,
    /// Soft-delete a user's posts, hide their threads, drop their likes and votes
    /// (`{user_id}`).
    DeleteUserContent,
    /// Drop expired sessions, old login failures, old finished jobs, expired or used account
    /// tokens and the metadata of mails sent or failed a week ago.
    PruneSessions,
    /// Write the notifications of a new post (`{thread_id, post_id}`); queued by earlier
    /// versions, which did not write them with the post.
    NotifyWatchers,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 4] = [
        JobKind::Recount,
        JobKind::DeleteUserContent,
        JobKind::PruneSessions,
        JobKind::NotifyWatchers,
    ];

    /// The stored name (also the `kind` label of `forum_jobs_total`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Recount => "recount",
            JobKind::DeleteUserContent => "delete_user_content",
            JobKind::PruneSessions => "prune_sessions",
            JobKind::NotifyWatchers => "notify_watchers",
        }
    }

    /// The kind named `s`, if known.
    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the admin panel's buttons may queue it (the others need a payload).
    pub fn queued_by_admins(self) -> bool {
        matches!(self, JobKind::Recount | JobKind::PruneSessions)
    }
}

/// Queues a job of `kind` to run now.
pub async fn enqueue(
    client: &impl GenericClient,
    kind: JobKind,
    payload: Value,
) -> Result<i64, AppError> {
    let row = client
        .query_one(
            "INSERT INTO jobs (kind, payload) VALUES ($1, $2) RETURNING id",
            &[&kind.as_str(), &payload],
        )
        .await?;
    Ok(row.get(0))
}

/// The delay before attempt `attempts + 1`: 2^attempts seconds, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempts.clamp(0, 12) as u32).min(3600))
}

/// How long a claimed job is hidden from other workers. The running worker holds the job's row
/// lock, so a longer job is still never claimed twice; the lease only matters when the worker
/// died, and then it is the delay before the job is retried.
pub const LEASE: Duration = Duration::from_secs(30);

/// A job claimed by [`claim`]: its attempt is already counted.
#[derive(Debug)]
pub struct Claimed {
    /// Its id.
    pub id: i64,
    /// Its kind as stored (a row may hold a kind this version does not know).
    pub kind: String,
    /// Its payload.
    pub payload: Value,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
}

/// What [`claim`] found.
#[derive(Debug)]
pub enum Claim {
    /// No job was due.
    Idle,
    /// A job to run.
    Job(Claimed),
    /// A job whose earlier attempts all ended with their worker dying: now marked failed.
    Abandoned {
        /// Its id.
        id: i64,
        /// Its kind.
        kind: String,
    },
}

/// Claims the next due job in its own committed transaction: counts the attempt and leases the
/// job for [`LEASE`]. A due job that has used up its attempts was abandoned by dying workers
/// (a job that fails normally is marked failed by the worker): it is marked failed instead.
pub async fn claim(client: &mut deadpool_postgres::Client) -> Result<Claim, AppError> {
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt(
            "SELECT id, kind, payload, attempts, max_attempts FROM jobs
             WHERE status = 'queued' AND run_at <= now()
             ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
            &[],
        )
        .await?
    else {
        return Ok(Claim::Idle);
    };
    let (id, kind, payload, attempts, max_attempts): (i64, String, Value, i32, i32) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    if attempts >= max_attempts {
        let message =
            format!("the worker stopped while running this job ({attempts} attempts); giving up");
        tx.execute(
            "UPDATE jobs SET status = 'failed', last_error = $2, finished_at = now()
                 WHERE id = $1",
            &[&id, &message],
        )
        .await?;
        tracing::warn!(job = id, kind = %kind, attempts, "abandoned job marked failed");
        tx.commit().await?;
        return Ok(Claim::Abandoned { id, kind });
    }
    let lease = LEASE.as_secs_f64();
    tx.execute(
        "UPDATE jobs SET attempts = attempts + 1, run_at = now() + make_interval(secs => $2)
             WHERE id = $1",
        &[&id, &lease],
    )
    .await?;
    tx.commit().await?;
    Ok(Claim::Job(Claimed {
        id,
        kind,
        payload,
        attempts: attempts + 1,
        max_attempts,
    }))
}

/// Locks the claimed `job` in `tx` for its run; false when another worker claimed it again
/// after this one's lease ran out (the attempt count fences out a stale claim).
pub async fn lock_claimed(tx: &impl GenericClient, job: &Claimed) -> Result<bool, AppError> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM jobs WHERE id = $1 AND status = 'queued' AND attempts = $2
             FOR UPDATE SKIP LOCKED",
            &[&job.id, &job.attempts],
        )
        .await?
        .is_some())
}

/// Marks job `id` done.
pub async fn mark_done(tx: &impl GenericClient, id: i64) -> Result<(), AppError> {
    tx.execute(
        "UPDATE jobs SET status = 'done', finished_at = now() WHERE id = $1",
        &[&id],
    )
    .await?;
    Ok(())
}

/// Records the failure `message` of job `id`: `failed` for good when `last`, else queued again
/// after `delay`.
pub async fn mark_failed(
    tx: &impl GenericClient,
    id: i64,
    message: &str,
    last: bool,
    delay: Duration,
) -> Result<(), AppError> {
    tx.execute(
        "UPDATE jobs SET last_error = $2,
                status = CASE WHEN $3 THEN 'failed' ELSE 'queued' END,
                run_at = now() + make_interval(secs => $4),
                finished_at = CASE WHEN $3 THEN now() END
         WHERE id = $1",
        &[&id, &message, &last, &delay.as_secs_f64()],
    )
    .await?;
    Ok(())
}

fn id_field(payload: &Value, name: &str) -> Result<i64, AppError> {
    payload
        .get(name)
        .and_then(Value::as_i64)
        .ok_or_else(|| AppError::invalid(format!("payload needs `{name}`")))
}

/// Does the work of a job of `kind` (as stored) with `payload` in `tx`.
pub async fn run(tx: &impl GenericClient, kind: &str, payload: &Value) -> Result<(), AppError> {
    let Some(kind) = JobKind::parse(kind) else {
        return Err(AppError::invalid(format!("unknown job kind {kind:?}")));
    };
    match kind {
        JobKind::Recount => recount(tx).await,
        JobKind::PruneSessions => {
            tx.execute("DELETE FROM sessions WHERE expires_at < now()", &[])
                .await?;
            tx.execute(
                "DELETE FROM login_failures WHERE at < now() - interval '1 day'",
                &[],
            )
            .await?;
            tx.execute("DELETE FROM jobs WHERE status = 'done' AND finished_at < now() - interval '7 days'", &[]).await?;
            crate::models::tokens::prune(tx).await?;
            // Sent and failed mails keep only their metadata; a week of it is enough.
            tx.execute(
                "DELETE FROM mails WHERE status <> 'queued' AND finished_at < now() - interval '7 days'",
                &[],
            )
            .await?;
            Ok(())
        }
        JobKind::DeleteUserContent => {
            let user = id_field(payload, "user_id")?;
            tx.execute(
                "UPDATE posts SET is_deleted = true WHERE user_id = $1",
                &[&user],
            )
            .await?;
            tx.execute(
                "UPDATE threads SET is_hidden = true WHERE user_id = $1",
                &[&user],
            )
            .await?;
            tx.execute("DELETE FROM post_likes WHERE user_id = $1", &[&user])
                .await?;
            tx.execute("DELETE FROM poll_votes WHERE user_id = $1", &[&user])
                .await?;
            recount(tx).await
        }
        JobKind::NotifyWatchers => {
            // Queued by earlier versions after a reply; notifications are now written with the
            // post, and this writes those a queued job still owes (once: see
            // `notifications::notify_many`).
            let thread = id_field(payload, "thread_id")?;
            let post = id_field(payload, "post_id")?;
            let Some(row) = tx
                .query_opt(
                    "SELECT user_id, body FROM posts WHERE id = $1 AND thread_id = $2",
                    &[&post, &thread],
                )
                .await?
            else {
                return Ok(());
            };
            let (author, body): (Option<i64>, String) = (row.get(0), row.get(1));
            if let Some(author) = author {
                crate::models::notifications::post_written(tx, thread, post, author, &body).await?;
            }
            Ok(())
        }
    }
}

/// Recomputes every counter from the rows (threads, categories, users, likes).
pub async fn recount(tx: &impl GenericClient) -> Result<(), AppError> {
    tx.batch_execute(
        "UPDATE threads t SET post_count = s.n, last_activity_at = coalesce(s.last, t.created_at)
         FROM (SELECT t2.id, count(p.id) AS n, max(p.created_at) AS last
               FROM threads t2 LEFT JOIN posts p ON p.thread_id = t2.id GROUP BY t2.id) s
         WHERE s.id = t.id AND (t.post_count <> s.n OR t.last_activity_at IS DISTINCT FROM coalesce(s.last, t.created_at));
         UPDATE categories c SET thread_count = coalesce(s.threads, 0), post_count = coalesce(s.posts, 0), last_activity_at = s.last
         FROM categories c2 LEFT JOIN (SELECT category_id, count(*) AS threads, sum(post_count) AS posts, max(last_activity_at) AS last
                    FROM threads WHERE NOT is_hidden GROUP BY category_id) s ON s.category_id = c2.id
         WHERE c.id = c2.id;
         UPDATE users u SET thread_count = coalesce((SELECT count(*) FROM threads WHERE user_id = u.id AND NOT is_hidden), 0),
                            post_count = coalesce((SELECT count(*) FROM posts WHERE user_id = u.id AND NOT is_deleted), 0);
         UPDATE posts p SET like_count = s.n FROM (SELECT post_id, count(*) AS n FROM post_likes GROUP BY post_id) s
         WHERE s.post_id = p.id AND p.like_count <> s.n;",
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_at_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(50), Duration::from_secs(3600));
    }

    #[test]
    fn every_kind_round_trips_and_unknown_kinds_are_none() {
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(JobKind::parse("rm -rf"), None);
        assert!(JobKind::Recount.queued_by_admins());
        assert!(!JobKind::DeleteUserContent.queued_by_admins());
    }
}
