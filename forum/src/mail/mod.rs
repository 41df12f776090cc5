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
mod error;
mod kind;
pub mod metrics;
pub mod outbox;
pub mod sender;
pub mod transport;

pub use compose::{Composer, Mail};
pub use error::MailError;
pub use kind::MailKind;
pub use sender::{RetryPolicy, Sender};
pub use transport::{Mailer, SmtpUrl};
