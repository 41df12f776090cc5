//! The worker's delivery loop: claims due mails one at a time, sends each, and marks it sent,
//! scheduled again, or failed.
//!
//! A transient failure (server unreachable, 4xx, timeout, authentication refused) schedules the
//! mail again after a backoff that doubles from [`RetryPolicy::first`] up to
//! [`RetryPolicy::max`]; a mail is given up only when the server refuses it for good (5xx on its
//! address or content) or when it has waited [`RetryPolicy::give_up_after`]. After a failure the
//! loop pauses instead of trying every due mail against a server that is down, and the first
//! success after a failure makes every mail waiting out a backoff due at once, so a recovered
//! server receives the backlog without waiting for each mail's next turn.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use deadpool_postgres::Pool;

use super::error::MailError;
use super::metrics::{MailMetrics, Outcome};
use super::outbox;
use super::transport::{Mailer, Outgoing, SendError, Sent};

/// When to try a mail again, and when to give up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay after the first failure; each further failure doubles it.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
    /// A mail that still fails after waiting this long is given up.
    pub give_up_after: Duration,
    /// The longest a single send may take (connection, TLS, dialogue) before it counts as a
    /// transient failure; shorter than the claim's lease.
    pub send_timeout: Duration,
}

impl Default for RetryPolicy {
    /// 10 s, doubling to 10 minutes; given up after 3 days; 60 s per send.
    fn default() -> Self {
        RetryPolicy {
            first: Duration::from_secs(10),
            max: Duration::from_secs(600),
            give_up_after: Duration::from_secs(3 * 86_400),
            send_timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempts` (1 for the first).
    pub fn delay(&self, attempts: i32) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        self.first
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max)
    }
}

/// What one [`Sender::deliver_one`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// No mail was due.
    Idle,
    /// Mail `id` left (or was logged).
    Sent(i64),
    /// Mail `id` failed and will be tried again.
    Retry(i64),
    /// Mail `id` was given up.
    Failed(i64),
}

/// Sends the queued mails.
#[derive(Clone, Debug)]
pub struct Sender {
    pool: Pool,
    mailer: Arc<Mailer>,
    policy: RetryPolicy,
    metrics: Option<Arc<MailMetrics>>,
}

impl Sender {
    /// A sender of the mails queued in `pool`'s database through `mailer`.
    pub fn new(
        pool: Pool,
        mailer: Mailer,
        policy: RetryPolicy,
        metrics: Option<Arc<MailMetrics>>,
    ) -> Sender {
        Sender {
            pool,
            mailer: Arc::new(mailer),
            policy,
            metrics,
        }
    }

    /// Claims and sends the oldest due mail, if any.
    pub async fn deliver_one(&self) -> Result<Delivered, MailError> {
        let client = self.pool.get().await?;
        let Some(mail) = outbox::claim(&client).await? else {
            return Ok(Delivered::Idle);
        };
        // The connection goes back to the pool while the SMTP dialogue runs.
        drop(client);
        let outgoing = Outgoing {
            to: &mail.to,
            subject: &mail.subject,
            text: &mail.text,
            html: &mail.html,
        };
        let result = match tokio::time::timeout(
            self.policy.send_timeout,
            self.mailer.send(outgoing),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(SendError::Transient(format!(
                "no answer within {:?}",
                self.policy.send_timeout
            ))),
        };
        let client = self.pool.get().await?;
        let (delivered, outcome) = match result {
            Ok(sent) => {
                outbox::mark_sent(&client, mail.id).await?;
                tracing::info!(mail = mail.id, kind = ?mail.kind, "mail sent");
                let outcome = match sent {
                    Sent::Smtp => Outcome::Sent,
                    Sent::Logged => Outcome::Logged,
                };
                (Delivered::Sent(mail.id), outcome)
            }
            Err(SendError::Transient(error))
                if Utc::now() - mail.created_at
                    < chrono::Duration::from_std(self.policy.give_up_after)
                        .unwrap_or(chrono::Duration::MAX) =>
            {
                let delay = self.policy.delay(mail.attempts);
                outbox::mark_retry(&client, mail.id, delay, &error).await?;
                tracing::warn!(mail = mail.id, kind = ?mail.kind, attempts = mail.attempts,
                    retry_in = ?delay, %error, "mail not sent; will retry");
                (Delivered::Retry(mail.id), Outcome::Retry)
            }
            Err(e) => {
                let error = e.to_string();
                outbox::mark_failed(&client, mail.id, &error).await?;
                tracing::error!(mail = mail.id, kind = ?mail.kind, attempts = mail.attempts,
                    %error, "mail given up");
                (Delivered::Failed(mail.id), Outcome::Failed)
            }
        };
        if let Some(m) = &self.metrics {
            m.count(mail.kind, outcome);
        }
        Ok(delivered)
    }

    /// Refreshes the queue gauges.
    pub async fn update_gauges(&self) -> Result<(), MailError> {
        if let Some(m) = &self.metrics {
            let client = self.pool.get().await?;
            m.set_queue(outbox::stats(&client).await?);
        }
        Ok(())
    }

    /// Sends mails until `shutdown` resolves: on without pause while mails are due and the
    /// server takes them, pausing `idle` when none is due or after a failure.
    pub async fn run(self, idle: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tracing::info!("{}", self.mailer.describe());
        tokio::pin!(shutdown);
        let mut failing = false;
        loop {
            let wait = match self.deliver_one().await {
                Ok(Delivered::Sent(_)) => {
                    if std::mem::take(&mut failing) {
                        self.flush_backlog().await;
                    }
                    Duration::ZERO
                }
                Ok(Delivered::Failed(_)) => Duration::ZERO,
                Ok(Delivered::Retry(_)) => {
                    failing = true;
                    idle
                }
                Ok(Delivered::Idle) => idle,
                Err(e) => {
                    tracing::error!(error = %e, "mail sender cannot reach the database");
                    idle.max(Duration::from_secs(1))
                }
            };
            if !wait.is_zero()
                && let Err(e) = self.update_gauges().await
            {
                tracing::warn!(error = %e, "cannot count the queued mails");
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!("mail sender stopped");
    }

    async fn flush_backlog(&self) {
        let result = match self.pool.get().await {
            Ok(client) => outbox::retry_now(&client).await.map_err(MailError::from),
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                mails = n,
                "the mail server is back: retrying the backlog now"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot reschedule the mail backlog"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_the_maximum() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1), Duration::from_secs(10));
        assert_eq!(p.delay(2), Duration::from_secs(20));
        assert_eq!(p.delay(4), Duration::from_secs(80));
        assert_eq!(p.delay(7), Duration::from_secs(600));
        assert_eq!(p.delay(1000), Duration::from_secs(600));
    }
}
