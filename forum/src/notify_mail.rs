//! The worker's notification mailer: drains the `outbox` (a row per notification of a member
//! who wants e-mail, written with the notification) into the `mails` queue, which
//! [`crate::mail::Sender`] delivers with its retries.
//!
//! Each step takes rows with `FOR UPDATE SKIP LOCKED`, queues their mail and marks them sent in
//! one transaction: a notification becomes one queued mail or none, whichever worker runs and
//! whenever one dies; an SMTP outage only delays the `mails` queue. The member's preference at
//! mailing time decides: `instant` gets one mail per notification; `digest` gets one mail when
//! their oldest unmailed notification is one digest period old, grouping all of them; `never`
//! (or a notification already read on the site, or an inactive account) gets none.
//!
//! Metrics (see [`NotifyMetrics`]): notifications written (`channel="site"`, counted from the
//! table, so every writer counts) and mailed (`channel="email"`) by kind, and the backlog of
//! the outbox: rows due to be mailed and the age of the oldest (a digest row is due once its
//! period is over).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::mail::compose::Told;
use crate::mail::{Composer, MailError, outbox};
use crate::models::notifications::Kind;

/// Rows mailed one by one per transaction.
const BATCH: i64 = 50;
/// Members whose digest is due, handled per step.
const DIGESTS_PER_STEP: i64 = 20;
/// The most notifications a digest lists; the rest are counted.
pub const DIGEST_LINES: usize = 50;

/// Labels of `forum_notifications_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotifyLabels {
    /// A notification kind.
    pub kind: &'static str,
    /// `site` (written) or `email` (mailed).
    pub channel: &'static str,
}

/// The notification metrics of the worker.
#[derive(Debug, Default)]
pub struct NotifyMetrics {
    total: Family<NotifyLabels, Counter>,
    due: Gauge,
    oldest: Gauge<f64, AtomicU64>,
    /// The newest notification id counted as written.
    seen: AtomicI64,
}

impl NotifyMetrics {
    /// The metrics, registered in `registry`; every kind and channel starts at 0.
    pub fn register(registry: &mut Registry) -> NotifyMetrics {
        let m = NotifyMetrics {
            seen: AtomicI64::new(-1),
            ..NotifyMetrics::default()
        };
        registry.register(
            "forum_notifications",
            "Notifications written (channel site) and mailed (channel email), by kind",
            m.total.clone(),
        );
        registry.register(
            "forum_notification_outbox_due",
            "Notification mails due to be queued (outbox rows whose time has come)",
            m.due.clone(),
        );
        registry.register(
            "forum_notification_outbox_oldest_due_seconds",
            "How long the oldest due notification mail has waited (0 when none)",
            m.oldest.clone(),
        );
        for kind in Kind::ALL {
            for channel in ["site", "email"] {
                m.total
                    .get_or_create(&NotifyLabels {
                        kind: kind.as_str(),
                        channel,
                    })
                    .get();
            }
        }
        m
    }

    fn count(&self, kind: Kind, channel: &'static str, n: u64) {
        self.total
            .get_or_create(&NotifyLabels {
                kind: kind.as_str(),
                channel,
            })
            .inc_by(n);
    }
}

/// What one [`NotifyMailer::step`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Mails queued, one per notification.
    pub instant: usize,
    /// Digest mails queued.
    pub digests: usize,
    /// Rows closed without a mail (preference `never`, already read, inactive account).
    pub skipped: usize,
}

impl Step {
    fn is_idle(&self) -> bool {
        *self == Step::default()
    }
}

/// Drains the outbox into the mail queue.
#[derive(Clone, Debug)]
pub struct NotifyMailer {
    pool: Pool,
    composer: Composer,
    digest_period: Duration,
    metrics: Option<Arc<NotifyMetrics>>,
}

/// A row of the outbox with what its mail needs.
struct Row {
    user_id: i64,
    email: String,
    username: String,
    preference: String,
    active: bool,
    read: bool,
    kind: Kind,
    told: Told,
}

const ROW_SELECT: &str = "SELECT o.id, o.user_id, u.email, u.username, u.notify_email, u.is_active,
        n.read_at IS NOT NULL, n.kind, n.thread_id, n.post_id, t.title, a.username
     FROM outbox o
     JOIN users u ON u.id = o.user_id
     JOIN notifications n ON n.id = o.notification_id
     JOIN threads t ON t.id = n.thread_id
     LEFT JOIN users a ON a.id = n.actor_id";

fn row(r: &tokio_postgres::Row) -> Option<Row> {
    let kind = Kind::parse(r.get(7))?;
    let thread_id: i64 = r.get(8);
    let post_id: Option<i64> = r.get(9);
    let title: String = r.get(10);
    let actor: Option<String> = r.get(11);
    Some(Row {
        user_id: r.get(1),
        email: r.get(2),
        username: r.get(3),
        preference: r.get(4),
        active: r.get(5),
        read: r.get(6),
        kind,
        told: Told {
            text: format!(
                "{} {} “{title}”",
                actor.as_deref().unwrap_or("someone"),
                kind.verb()
            ),
            path: match post_id {
                Some(p) => format!("/p/{p}/"),
                None => format!("/t/{thread_id}/"),
            },
        },
    })
}

impl NotifyMailer {
    /// A mailer of the outbox of `pool`'s database, with links under `composer`'s URL, sending
    /// digests every `digest_period`.
    pub fn new(
        pool: Pool,
        composer: Composer,
        digest_period: Duration,
        metrics: Option<Arc<NotifyMetrics>>,
    ) -> NotifyMailer {
        NotifyMailer {
            pool,
            composer,
            digest_period,
            metrics,
        }
    }

    /// Queues the mails of due outbox rows: a batch of single notifications, then the due
    /// digests of a few members.
    pub async fn step(&self) -> Result<Step, MailError> {
        let mut step = self.instant().await?;
        let digest = self.digests().await?;
        step.digests = digest.digests;
        step.skipped += digest.skipped;
        Ok(step)
    }

    async fn instant(&self) -> Result<Step, MailError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                &format!(
                    "{ROW_SELECT}
                     WHERE o.sent_at IS NULL AND o.notification_id IS NOT NULL
                       AND u.notify_email <> 'digest'
                     ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED"
                ),
                &[&BATCH],
            )
            .await?;
        let mut step = Step::default();
        let mut done = Vec::with_capacity(rows.len());
        let mut mailed: Vec<Kind> = Vec::new();
        for r in &rows {
            let id: i64 = r.get(0);
            done.push(id);
            let Some(row) = row(r) else {
                step.skipped += 1;
                continue;
            };
            if row.preference != "instant" || !row.active || row.read {
                step.skipped += 1;
                continue;
            }
            let mail = self
                .composer
                .notification(&row.email, &row.username, &row.told)?;
            outbox::queue(&tx, &mail).await?;
            mailed.push(row.kind);
            step.instant += 1;
        }
        close(&tx, &done).await?;
        tx.commit().await?;
        self.count_mailed(&mailed);
        Ok(step)
    }

    async fn digests(&self) -> Result<Step, MailError> {
        let period = self.digest_period.as_secs_f64();
        let members: Vec<i64> = {
            let client = self.pool.get().await?;
            client
                .query(
                    "SELECT o.user_id FROM outbox o JOIN users u ON u.id = o.user_id
                     WHERE o.sent_at IS NULL AND o.notification_id IS NOT NULL
                       AND u.notify_email = 'digest'
                     GROUP BY o.user_id
                     HAVING min(o.created_at) <= now() - make_interval(secs => $1)
                     LIMIT $2",
                    &[&period, &DIGESTS_PER_STEP],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect()
        };
        let mut step = Step::default();
        for member in members {
            let s = self.digest_of(member).await?;
            step.digests += s.digests;
            step.skipped += s.skipped;
        }
        Ok(step)
    }

    /// One member's digest: every unmailed notification in one mail (the newest
    /// [`DIGEST_LINES`] listed, the rest counted).
    async fn digest_of(&self, member: i64) -> Result<Step, MailError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                &format!(
                    "{ROW_SELECT}
                     WHERE o.user_id = $1 AND o.sent_at IS NULL AND o.notification_id IS NOT NULL
                     ORDER BY o.id DESC FOR UPDATE OF o SKIP LOCKED"
                ),
                &[&member],
            )
            .await?;
        let mut step = Step::default();
        let done: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let rows: Vec<Row> = rows.iter().filter_map(row).collect();
        let wanted: Vec<&Row> = rows
            .iter()
            .filter(|r| r.preference == "digest" && r.active && !r.read)
            .collect();
        step.skipped = done.len() - wanted.len();
        if let Some(first) = wanted.first() {
            let told: Vec<Told> = wanted
                .iter()
                .take(DIGEST_LINES)
                .map(|r| r.told.clone())
                .collect();
            let more = wanted.len().saturating_sub(DIGEST_LINES);
            let mail = self
                .composer
                .digest(&first.email, &first.username, &told, more)?;
            outbox::queue(&tx, &mail).await?;
            step.digests = 1;
            tracing::debug!(
                member = first.user_id,
                notifications = wanted.len(),
                "digest queued"
            );
        }
        close(&tx, &done).await?;
        tx.commit().await?;
        let kinds: Vec<Kind> = wanted.iter().map(|r| r.kind).collect();
        self.count_mailed(&kinds);
        Ok(step)
    }

    fn count_mailed(&self, kinds: &[Kind]) {
        if let Some(m) = &self.metrics {
            for k in kinds {
                m.count(*k, "email", 1);
            }
        }
    }

    /// Counts the notifications written since the last call (`channel="site"`) and refreshes
    /// the backlog gauges. The first call only notes where counting starts.
    pub async fn update_metrics(&self) -> Result<(), MailError> {
        let Some(m) = &self.metrics else {
            return Ok(());
        };
        let client = self.pool.get().await?;
        let seen = m.seen.load(Ordering::Relaxed);
        if seen < 0 {
            let max: i64 = client
                .query_one("SELECT coalesce(max(id), 0) FROM notifications", &[])
                .await?
                .get(0);
            m.seen.store(max, Ordering::Relaxed);
        } else {
            let rows = client
                .query(
                    "SELECT kind, count(*), max(id) FROM notifications WHERE id > $1 GROUP BY kind",
                    &[&seen],
                )
                .await?;
            let mut newest = seen;
            for r in &rows {
                if let Some(kind) = Kind::parse(r.get(0)) {
                    m.count(kind, "site", u64::try_from(r.get::<_, i64>(1)).unwrap_or(0));
                }
                newest = newest.max(r.get(2));
            }
            m.seen.store(newest, Ordering::Relaxed);
        }
        let period = self.digest_period.as_secs_f64();
        let row = client
            .query_one(
                "SELECT count(*), coalesce(extract(epoch FROM max(now() - o.created_at
                        - CASE WHEN u.notify_email = 'digest'
                               THEN make_interval(secs => $1) ELSE interval '0' END))::float8, 0)
                 FROM outbox o JOIN users u ON u.id = o.user_id
                 WHERE o.sent_at IS NULL AND o.notification_id IS NOT NULL
                   AND (u.notify_email <> 'digest'
                        OR o.created_at <= now() - make_interval(secs => $1))",
                &[&period],
            )
            .await?;
        m.due.set(row.get(0));
        m.oldest.set(row.get::<_, f64>(1).max(0.0));
        Ok(())
    }

    /// Drains the outbox until `shutdown` resolves: on without pause while there is work,
    /// pausing `idle` otherwise.
    pub async fn run(self, idle: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let wait = match self.step().await {
                Ok(s) if s.is_idle() => idle,
                Ok(_) => Duration::ZERO,
                Err(e) => {
                    tracing::error!(error = %e, "notification mailer failed; will retry");
                    idle.max(Duration::from_secs(1))
                }
            };
            if !wait.is_zero()
                && let Err(e) = self.update_metrics().await
            {
                tracing::warn!(error = %e, "cannot count the notification outbox");
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!("notification mailer stopped");
    }
}

/// Marks outbox rows `ids` done.
async fn close(client: &impl GenericClient, ids: &[i64]) -> Result<(), MailError> {
    if !ids.is_empty() {
        client
            .execute(
                "UPDATE outbox SET sent_at = now() WHERE id = ANY($1)",
                &[&ids],
            )
            .await?;
    }
    Ok(())
}
