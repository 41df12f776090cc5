//! The `mails` table: queued by requests in their own transaction, claimed and marked by the
//! [`super::sender`].
//!
//! A claim counts the attempt and leases the mail (`locked_until`, [`LEASE`]) in one committed
//! statement, so two workers never send the same mail at once, and a worker that died mid-send
//! leaves the mail to be claimed again when the lease ends. The only way a mail can go out twice is a worker dying
//! after the SMTP server accepted it and before it was marked sent (delivery is at least once).
//! A mail that was sent or failed for good keeps its metadata but not its bodies, which hold
//! single-use links.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::compose::Mail;
use super::kind::MailKind;

/// How long a claimed mail is hidden from other workers; longer than the longest send
/// (bounded by the sender's own timeout).
pub const LEASE: Duration = Duration::from_secs(300);

/// Queues `mail` to be sent as soon as a worker is free; call it in the transaction of what
/// causes the mail.
pub async fn queue(client: &impl GenericClient, mail: &Mail) -> Result<i64, tokio_postgres::Error> {
    let row = client
        .query_one(
            "INSERT INTO mails (kind, recipient, subject, body_text, body_html)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &mail.kind.as_str(),
                &mail.to,
                &mail.subject,
                &mail.text,
                &mail.html,
            ],
        )
        .await?;
    Ok(row.get(0))
}

/// A mail claimed for one delivery attempt.
#[derive(Clone)]
pub struct Claimed {
    /// Its id.
    pub id: i64,
    /// Its kind (None: a kind this version does not know).
    pub kind: Option<MailKind>,
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Claimed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claimed")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// Claims the oldest due mail, if any: counts the attempt and leases it for [`LEASE`].
pub async fn claim(client: &impl GenericClient) -> Result<Option<Claimed>, tokio_postgres::Error> {
    let lease = LEASE.as_secs_f64();
    let row = client
        .query_opt(
            "UPDATE mails SET attempts = attempts + 1,
                    locked_until = now() + make_interval(secs => $1)
             WHERE id = (SELECT id FROM mails
                         WHERE status = 'queued' AND run_at <= now()
                           AND (locked_until IS NULL OR locked_until <= now())
                         ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id, kind, recipient, subject, body_text, body_html, attempts, created_at",
            &[&lease],
        )
        .await?;
    Ok(row.map(|r| Claimed {
        id: r.get(0),
        kind: MailKind::parse(r.get(1)),
        to: r.get(2),
        subject: r.get(3),
        text: r.get(4),
        html: r.get(5),
        attempts: r.get(6),
        created_at: r.get(7),
    }))
}

/// Marks mail `id` sent and erases its bodies.
pub async fn mark_sent(client: &impl GenericClient, id: i64) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE mails SET status = 'sent', finished_at = now(), last_error = NULL,
                    locked_until = NULL,
                    body_text = '', body_html = ''
             WHERE id = $1",
            &[&id],
        )
        .await?;
    Ok(())
}

/// Schedules mail `id` again in `delay`, noting `error`.
pub async fn mark_retry(
    client: &impl GenericClient,
    id: i64,
    delay: Duration,
    error: &str,
) -> Result<(), tokio_postgres::Error> {
    let error = truncate(error);
    client
        .execute(
            "UPDATE mails SET run_at = now() + make_interval(secs => $2), last_error = $3,
                    locked_until = NULL
             WHERE id = $1",
            &[&id, &delay.as_secs_f64(), &error],
        )
        .await?;
    Ok(())
}

/// Gives up on mail `id` (noting `error`) and erases its bodies.
pub async fn mark_failed(
    client: &impl GenericClient,
    id: i64,
    error: &str,
) -> Result<(), tokio_postgres::Error> {
    let error = truncate(error);
    client
        .execute(
            "UPDATE mails SET status = 'failed', finished_at = now(), last_error = $2,
                    locked_until = NULL,
                    body_text = '', body_html = ''
             WHERE id = $1",
            &[&id, &error],
        )
        .await?;
    Ok(())
}

/// Makes every mail waiting out a retry's backoff due now (the server is back). Leased mails
/// (`locked_until`, being sent) are left alone. Returns how many.
pub async fn retry_now(client: &impl GenericClient) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            "UPDATE mails SET run_at = now()
             WHERE status = 'queued' AND run_at > now() AND attempts > 0 AND locked_until IS NULL",
            &[],
        )
        .await
}

/// The queue at a glance.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QueueStats {
    /// Mails not sent yet.
    pub queued: i64,
    /// Age of the oldest of them, in seconds (0 when none).
    pub oldest_seconds: f64,
}

/// Counts the mails not sent yet (an index-only scan of the partial index's rows).
pub async fn stats(client: &impl GenericClient) -> Result<QueueStats, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT count(*),
                    coalesce(extract(epoch FROM now() - min(created_at))::float8, 0)
             FROM mails WHERE status = 'queued'",
            &[],
        )
        .await?;
    Ok(QueueStats {
        queued: row.get(0),
        oldest_seconds: row.get(1),
    })
}

/// Deletes the metadata of mails sent or failed more than `age` ago.
pub async fn prune(
    client: &impl GenericClient,
    age: Duration,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            "DELETE FROM mails WHERE status <> 'queued'
             AND finished_at < now() - make_interval(secs => $1)",
            &[&age.as_secs_f64()],
        )
        .await
}

fn truncate(s: &str) -> String {
    s.chars().take(1000).collect()
}
