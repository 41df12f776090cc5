//! The community forum the suite monitors: nested categories, threads, posts, polls, best
//! answers, moderation, an admin panel, a JSON API, and a background worker.
//!
//! Modules are layered; a module imports only modules on its floor or below (README: layout):
//! - [`config`], [`registration`], [`error`], [`password`], [`markdown`], [`attachment_html`], [`quote`], [`assets`], [`db`],
//!   [`safety_metrics`], [`moderation_metrics`]: settings, the error type, hashing, rendering, the embedded assets, the
//!   pool and migrations, the defences' counters;
//! - [`models`]: the domain types and their SQL;
//! - [`cache`], [`glance`], [`auth`], [`ratelimit`], [`antispam`], [`publish`], [`mail`], [`accounts`],
//!   [`attachments`],
//!   [`metrics`], [`worker`], [`seed`]: services taking a pool and plain values; [`state`]
//!   bundles them for the handlers;
//! - [`http`]: cookies, middleware, the viewer of a request, the HTML error page, health;
//! - [`web`] (pages, forms, admin panel) and [`api`] (JSON): handlers;
//! - [`app`]: the router; [`cli`] (clap) and [`startup`] (wiring); `main.rs` calls
//!   [`startup::run`].

#![forbid(unsafe_code)]

pub mod accounts;
pub mod antispam;
pub mod api;
pub mod app;
pub mod assets;
pub mod attachment_html;
pub mod attachments;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod glance;
pub mod http;
pub mod mail;
pub mod markdown;
pub mod mentions;
pub mod metrics;
pub mod models;
pub mod moderation_metrics;
pub mod notify_mail;
pub mod password;
pub mod publish;
pub mod quote;
pub mod ratelimit;
pub mod registration;
pub mod safety_metrics;
pub mod seed;
pub mod startup;
pub mod state;
pub mod web;
pub mod worker;

pub use app::{BODY_LIMIT, app};
pub use config::{Config, Role};
pub use state::AppState;
