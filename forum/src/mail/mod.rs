//! E-mail: what the forum sends, how it is queued and how it leaves.
//!
//! - [`compose`]: the mails themselves, rendered from templates (`templates/mail/`) into a
//!   plain-text and an HTML part, with links under `--public-url`;
//! - [`outbox`]: the `mails` table. A request queues its mails in the same transaction as what
//!   causes them, so a mail exists exactly when its cause committed;
//! - [`transport`]: SMTP (`--smtp-url`: plain, STARTTLS or TLS, with or without AUTH) through
//!   `lettre`, or the log when no SMTP server is configured;
//! - [`sender`]: the worker's delivery loop, which claims due mails, sends them and retries with
//!   backoff while the server is unreachable, so an outage delays mails but loses none;
//! - [`metrics`]: `forum_emails_total{kind,result}` and the queue gauges.

pub mod compose;
pub mod metrics;
pub mod outbox;
pub mod sender;
pub mod transport;

pub use compose::{Composer, Mail};
pub use sender::{RetryPolicy, Sender};
pub use transport::{Mailer, SmtpUrl};

/// The kinds of mail, the `kind` label of `forum_emails_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// The link that activates a new account (registration mode `email`).
    Activation,
    /// A password reset link (valid one hour, single use).
    PasswordReset,
    /// The link, sent to the new address, that confirms an e-mail change.
    EmailChange,
    /// Told to the owner of an address someone tried to register again.
    AddressInUse,
    /// An administrator approved the account (registration mode `admin`).
    AccountApproved,
}

impl MailKind {
    /// Every kind.
    pub const ALL: [MailKind; 5] = [
        MailKind::Activation,
        MailKind::PasswordReset,
        MailKind::EmailChange,
        MailKind::AddressInUse,
        MailKind::AccountApproved,
    ];

    /// The name stored in `mails.kind` and used as a label.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Activation => "activation",
            MailKind::PasswordReset => "password_reset",
            MailKind::EmailChange => "email_change",
            MailKind::AddressInUse => "address_in_use",
            MailKind::AccountApproved => "account_approved",
        }
    }

    /// The kind named `s`, if any.
    pub fn parse(s: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What can go wrong configuring or running the mail service.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A setting is invalid (the message never holds a password).
    #[error("{0}")]
    Config(String),
    /// A template failed to render.
    #[error("cannot render a mail: {0}")]
    Template(#[from] askama::Error),
    /// The database refused a query.
    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No database connection.
    #[error("database pool error: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for kind in MailKind::ALL {
            assert_eq!(MailKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(MailKind::parse("spam"), None);
    }
}
