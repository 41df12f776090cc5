//! What a member or an administrator does to an account beyond logging in, each step's writes
//! and the mail it causes committed in one transaction (so a mail exists exactly when its cause
//! does):
//!
//! - [`registration`]: registering under the registration mode (`open`, `email`, `admin`,
//!   `closed`), activation links, an administrator's approval. A taken address is answered as a
//!   free one and its owner is told by mail;
//! - [`recovery`]: password reset links (asked for by address, answered the same whether or not
//!   the address has an account; single use, one hour) and passwords set by an administrator;
//!   setting a password ends every session and API token of the account;
//! - [`email_change`]: a new address takes effect when its link, mailed to it, is followed;
//! - [`removal`]: deleting an account, its content kept anonymised or deleted;
//! - [`confirm`]: the password check of sensitive self-service steps, and the mail composer of
//!   the configured public URL;
//! - [`metrics`]: `forum_registrations_total{mode,result}` and
//!   `forum_account_events_total{event}`.

pub mod confirm;
pub mod email_change;
pub mod metrics;
pub mod recovery;
pub mod registration;
pub mod removal;
