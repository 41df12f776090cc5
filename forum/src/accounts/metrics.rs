//! The account metrics, served by the web and API processes:
//!
//! - `forum_registrations_total{mode,result}`: registration attempts by the mode in force
//!   (`open`, `email`, `admin`, `closed`) and what came of them (`active`, `awaiting_email`,
//!   `awaiting_admin`, `address_in_use`, `refused`, `invalid`, `error`);
//! - `forum_account_events_total{event}`: activations, approvals, reset links asked for,
//!   passwords reset or set by an administrator, e-mail changes asked for and confirmed,
//!   accounts deleted.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Labels of `forum_registrations_total`: both bounded.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RegistrationLabels {
    /// The registration mode in force.
    pub mode: &'static str,
    /// `active`, `awaiting_email`, `awaiting_admin`, `address_in_use`, `refused`, `invalid`,
    /// `error`.
    pub result: &'static str,
}

/// Labels of `forum_account_events_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    /// An [`Event`] name.
    pub event: &'static str,
}

/// Something that happened to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// An activation link was followed.
    Activated,
    /// An administrator approved an account.
    Approved,
    /// Someone asked for a reset link (whether or not the address has an account).
    ResetRequested,
    /// A password was set from a reset link.
    PasswordReset,
    /// An administrator set a password or sent a reset link.
    AdminPassword,
    /// A member asked to change their address.
    EmailChangeRequested,
    /// A new address was confirmed.
    EmailChanged,
    /// An account was deleted (by its owner or an administrator).
    Deleted,
}

impl Event {
    /// Every event, so each series exists (at 0) from the start.
    pub const ALL: [Event; 8] = [
        Event::Activated,
        Event::Approved,
        Event::ResetRequested,
        Event::PasswordReset,
        Event::AdminPassword,
        Event::EmailChangeRequested,
        Event::EmailChanged,
        Event::Deleted,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Activated => "activated",
            Event::Approved => "approved",
            Event::ResetRequested => "reset_requested",
            Event::PasswordReset => "password_reset",
            Event::AdminPassword => "admin_password",
            Event::EmailChangeRequested => "email_change_requested",
            Event::EmailChanged => "email_changed",
            Event::Deleted => "deleted",
        }
    }
}

/// The account metrics of one process.
#[derive(Debug, Default)]
pub struct AccountMetrics {
    registrations: Family<RegistrationLabels, Counter>,
    events: Family<EventLabels, Counter>,
}

impl AccountMetrics {
    /// The metrics, registered in `registry`.
    pub fn register(registry: &mut Registry) -> AccountMetrics {
        let m = AccountMetrics::default();
        registry.register(
            "forum_registrations",
            "Registration attempts, by registration mode and result",
            m.registrations.clone(),
        );
        registry.register(
            "forum_account_events",
            "Account events: activations, approvals, password resets, e-mail changes, deletions",
            m.events.clone(),
        );
        // Each event starts at 0: rates and dashboards see a quiet forum, not a missing metric.
        for event in Event::ALL {
            m.events
                .get_or_create(&EventLabels {
                    event: event.as_str(),
                })
                .inc_by(0);
        }
        m
    }

    /// Counts one registration attempt.
    pub fn registration(&self, mode: &'static str, result: &'static str) {
        self.registrations
            .get_or_create(&RegistrationLabels { mode, result })
            .inc();
    }

    /// Counts one account event.
    pub fn event(&self, event: Event) {
        self.events
            .get_or_create(&EventLabels {
                event: event.as_str(),
            })
            .inc();
    }
}
