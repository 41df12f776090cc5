//! nginx access logs to Prometheus metrics.
//!
//! The pieces, from the ground up (a module uses only the ones listed before it):
//!
//! - [`bytes`]: the word-at-a-time (SWAR) and SIMD byte searches the hot path is built on;
//!   [`hash`]: the hashes of paths and endpoints; [`lines`]: bytes to blocks of complete lines.
//! - [`record`]: one parsed line, its field parsers and [`record::ParseError`]; [`tailer`]:
//!   follows files through rotations and truncations ([`tailer::LogPattern`] names them).
//! - [`format`]: nginx `log_format` strings compiled into a parser; [`normalize`]: paths to
//!   endpoint templates; [`events`]: named events; [`topn`]: the top list; [`sources`]: the
//!   top client addresses of each event over a sliding window.
//! - [`lineformat`]: a `log_format` or JSON lines; [`aggregate`]: lines in, counts out.
//! - [`cli`] (flags), [`config`] (the config file, merged with the flags into a plan),
//!   [`collector`] (the shared state and its scrape), [`stub_status`].
//! - [`one_shot`] and [`serve`], the two modes; [`startup`] picks one.

#![forbid(unsafe_code)]

pub mod aggregate;
pub mod bytes;
pub mod cli;
pub mod collector;
pub mod config;
pub mod events;
pub mod format;
pub mod hash;
pub mod lineformat;
pub mod lines;
pub mod normalize;
pub mod one_shot;
pub mod record;
pub mod serve;
pub mod sources;
pub mod startup;
pub mod stub_status;
pub mod tailer;
pub mod topn;
