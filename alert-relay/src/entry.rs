//! A message in the relay's keeping: what the spool journals and a dead letter holds.

use serde::{Deserialize, Serialize};

use crate::discord::WebhookMessage;

/// A message waiting for delivery to one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Its position in the spool (delivery order within a target).
    pub seq: u64,
    /// The target's name.
    pub target: String,
    /// When the relay accepted it (Unix milliseconds), for the latency histogram.
    pub accepted_ms: i64,
    /// The notification's dedup key.
    #[serde(default)]
    pub dedup_key: String,
    /// The message itself.
    pub message: WebhookMessage,
}

/// A message to spool (the spool numbers it).
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// The target's name.
    pub target: String,
    /// The dedup key of its notification.
    pub dedup_key: String,
    /// The message.
    pub message: WebhookMessage,
}
