//! The counters of the forum's defences: logins refused or slowed
//! (`forum_login_refused_total{reason}`, `forum_login_slowed_total{reason}`) and writes refused
//! as spam (`forum_spam_refused_total{reason}`). Every label value is one of the fixed reasons
//! below, never an address or a name.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// The label of the counters: a fixed reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Why.
    pub reason: &'static str,
}

/// Why a login was refused (429) or slowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginReason {
    /// Too many failures from the client's address, whatever the account.
    Address,
    /// Too many failures of this account from the client's address.
    AddressAccount,
    /// Many failures of this account from many addresses (slowed only, never refused).
    Account,
}

impl LoginReason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginReason::Address => "address",
            LoginReason::AddressAccount => "address_account",
            LoginReason::Account => "account",
        }
    }
}

/// Why a registration or a post was refused as spam.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpamReason {
    /// Too many registrations from one address.
    RegistrationRate,
    /// The registration form's hidden field was filled in.
    Honeypot,
    /// The registration form came back faster than a person types, or its stamp was forged or
    /// stale.
    FillTime,
    /// Posted again too soon.
    Flood,
    /// A new member's posts per hour.
    HourlyLimit,
    /// Too many links in a new member's post.
    Links,
    /// A ban of the address or of the e-mail address.
    Banned,
}

impl SpamReason {
    /// Every reason (each series starts at 0, so a rate exists before the first refusal).
    pub const ALL: [SpamReason; 7] = [
        SpamReason::RegistrationRate,
        SpamReason::Honeypot,
        SpamReason::FillTime,
        SpamReason::Flood,
        SpamReason::HourlyLimit,
        SpamReason::Links,
        SpamReason::Banned,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SpamReason::RegistrationRate => "registration_rate",
            SpamReason::Honeypot => "honeypot",
            SpamReason::FillTime => "fill_time",
            SpamReason::Flood => "flood",
            SpamReason::HourlyLimit => "hourly_limit",
            SpamReason::Links => "links",
            SpamReason::Banned => "banned",
        }
    }
}

/// The counters (cheap to clone: each family is shared).
#[derive(Clone, Debug, Default)]
pub struct SafetyMetrics {
    login_refused: Family<ReasonLabels, Counter>,
    login_slowed: Family<ReasonLabels, Counter>,
    spam_refused: Family<ReasonLabels, Counter>,
}

impl SafetyMetrics {
    /// The counters, registered in `registry`.
    pub fn register(registry: &mut Registry) -> SafetyMetrics {
        let m = SafetyMetrics::default();
        registry.register(
            "forum_login_refused",
            "Logins refused (429) without checking the password, by reason",
            m.login_refused.clone(),
        );
        registry.register(
            "forum_login_slowed",
            "Logins answered after a delay because of earlier failures, by reason",
            m.login_slowed.clone(),
        );
        registry.register(
            "forum_spam_refused",
            "Registrations and posts refused by the anti-spam rules, by reason",
            m.spam_refused.clone(),
        );
        for r in [
            LoginReason::Address,
            LoginReason::AddressAccount,
            LoginReason::Account,
        ] {
            let labels = ReasonLabels { reason: r.as_str() };
            if r != LoginReason::Account {
                let _ = m.login_refused.get_or_create(&labels);
            }
            let _ = m.login_slowed.get_or_create(&labels);
        }
        for r in SpamReason::ALL {
            let _ = m
                .spam_refused
                .get_or_create(&ReasonLabels { reason: r.as_str() });
        }
        m
    }

    /// Counts a refused login.
    pub fn login_refused(&self, reason: LoginReason) {
        self.login_refused
            .get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            })
            .inc();
    }

    /// Counts a slowed login.
    pub fn login_slowed(&self, reason: LoginReason) {
        self.login_slowed
            .get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            })
            .inc();
    }

    /// Counts a refused registration or post.
    pub fn spam_refused(&self, reason: SpamReason) {
        self.spam_refused
            .get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            })
            .inc();
    }
}
