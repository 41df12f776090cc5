//! The mail metrics, served by the worker that sends mails:
//!
//! - `forum_emails_total{kind,result}`: delivery attempts by mail kind and result (`sent`,
//!   `logged` without an SMTP server, `retry` after a transient failure, `failed` for good);
//! - `forum_emails_queued`: mails not sent yet;
//! - `forum_emails_oldest_queued_seconds`: how long the oldest of them has waited.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::kind::MailKind;
use super::outbox::QueueStats;

/// Labels of `forum_emails_total`: both bounded enums.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EmailLabels {
    /// A [`MailKind`] name, or `unknown`.
    pub kind: &'static str,
    /// `sent`, `logged`, `retry` or `failed`.
    pub result: &'static str,
}

/// The result of one delivery attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The SMTP server accepted it.
    Sent,
    /// Written to the log (no SMTP server).
    Logged,
    /// A transient failure: tried again later.
    Retry,
    /// Given up.
    Failed,
}

impl Outcome {
    /// The `result` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Logged => "logged",
            Outcome::Retry => "retry",
            Outcome::Failed => "failed",
        }
    }
}

/// The mail metrics of one worker.
#[derive(Debug, Default)]
pub struct MailMetrics {
    emails: Family<EmailLabels, Counter>,
    queued: Gauge,
    oldest: Gauge<f64, AtomicU64>,
}

impl MailMetrics {
    /// The metrics, registered in `registry`.
    pub fn register(registry: &mut Registry) -> MailMetrics {
        let m = MailMetrics::default();
        registry.register(
            "forum_emails",
            "Mail delivery attempts, by kind and result",
            m.emails.clone(),
        );
        registry.register(
            "forum_emails_queued",
            "Mails waiting to be sent",
            m.queued.clone(),
        );
        // Registered without a unit argument: the name already ends in `_seconds`.
        registry.register(
            "forum_emails_oldest_queued_seconds",
            "Age of the oldest mail waiting to be sent (0 when none)",
            m.oldest.clone(),
        );
        for kind in MailKind::ALL {
            for result in [Outcome::Sent, Outcome::Failed] {
                // Known series start at zero, so `increase()` sees the first failure.
                let _ = m.emails.get_or_create(&EmailLabels {
                    kind: kind.as_str(),
                    result: result.as_str(),
                });
            }
        }
        m
    }

    /// Counts one attempt.
    pub fn count(&self, kind: Option<MailKind>, outcome: Outcome) {
        self.emails
            .get_or_create(&EmailLabels {
                kind: kind.map_or("unknown", MailKind::as_str),
                result: outcome.as_str(),
            })
            .inc();
    }

    /// Sets the queue gauges.
    pub fn set_queue(&self, stats: QueueStats) {
        self.queued.set(stats.queued);
        self.oldest.set(stats.oldest_seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_kind_and_result() {
        let mut registry = Registry::default();
        let m = MailMetrics::register(&mut registry);
        m.count(Some(MailKind::PasswordReset), Outcome::Retry);
        m.count(None, Outcome::Sent);
        m.set_queue(QueueStats {
            queued: 3,
            oldest_seconds: 12.5,
        });
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("forum_emails_total{kind=\"password_reset\",result=\"retry\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("forum_emails_total{kind=\"activation\",result=\"failed\"} 0"),
            "{text}"
        );
        assert!(text.contains("forum_emails_total{kind=\"unknown\",result=\"sent\"} 1"));
        assert!(text.contains("forum_emails_queued 3"), "{text}");
        assert!(
            text.contains("forum_emails_oldest_queued_seconds 12.5"),
            "{text}"
        );
    }
}
