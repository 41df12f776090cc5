//! alert-relay: Alertmanager (webhook v4) and Grafana webhooks in, Discord messages out.
//!
//! The path of a notification: [`web`] authenticates and parses it ([`payload`]), drops
//! duplicates ([`dedup`]), routes it ([`config`]), renders it within Discord's limits
//! ([`render`], [`templates`], [`markdown`], [`discord`]), stores it durably ([`spool`]) and answers 200;
//! [`deliver`] then sends it, in order per target, through rate limits and retries, to Discord or
//! to the dead letters ([`deadletter`]). [`startup`] wires it together; [`cli`] holds the flags.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod config;
pub mod deadletter;
pub mod dedup;
pub mod deliver;
pub mod discord;
pub mod entry;
pub mod interactions;
pub mod markdown;
pub mod metrics;
pub mod payload;
pub mod render;
pub mod secret;
pub mod spool;
pub mod startup;
pub mod templates;
pub mod web;
