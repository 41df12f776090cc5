//! The whole suite on one machine, on loopback: what `scripts/demo` runs and what the
//! end-to-end tests start.
//!
//! [`supervisor`] starts and stops processes; [`postgres`] runs a PostgreSQL cluster of the
//! stack's own; [`config`] derives the stack's Prometheus and Alertmanager configs from the
//! repository's files; [`nginx`] writes nginx's; [`stack`] starts everything in order;
//! [`traffic`] behaves like forum users; [`secrets`] keeps
//! the generated passwords in files only their owner reads.

#![forbid(unsafe_code)]

pub mod config;
pub mod nginx;
pub mod postgres;
pub mod secrets;
mod side;
pub mod stack;
pub mod supervisor;
pub mod traffic;
