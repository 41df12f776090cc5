//! nginx access logs to Prometheus metrics.
//!
//! The pieces, from file to scrape: [`tailer`] follows files through rotations and truncations
//! and hands out blocks of complete lines ([`lines`]); [`lineformat`] and [`format`] parse them
//! into [`record::Record`]s; [`aggregate`] normalises paths ([`normalize`]), fires named events
//! ([`events`]), keeps the top list ([`topn`]) and counts; [`collector`] encodes a snapshot of
//! the counts on each scrape. [`config`] and [`cli`] say what to read and how; [`app`] wires it.

#![forbid(unsafe_code)]

pub mod aggregate;
pub mod app;
pub mod cli;
pub mod collector;
pub mod config;
pub mod events;
pub mod format;
pub mod hash;
pub mod lineformat;
pub mod lines;
pub mod normalize;
pub mod record;
pub mod scan;
pub mod serve;
pub mod stub_status;
pub mod tailer;
pub mod topn;
