//! Follows log files through rotations and truncations and hands out blocks of complete lines.
//!
//! The tailer knows nothing of metrics: it reports through [`TailEvents`], which the
//! application implements. Each [`FileServer::poll`] re-expands the patterns (globs pick up new
//! files), notices when a path names another file (rename rotation: the old file is kept open
//! and drained until it has been idle for `rotate_wait`) or none (deleted or renamed away: same),
//! notices truncation (`size < offset`, or the first bytes changed: reading restarts at 0),
//! and reads every file to its end. A rotated file that a pattern also matches under its new
//! name (`access.log*`) is followed on from where it was, never read again. [`spawn`] calls it
//! on its own thread: on file events (`notify`) or a polling interval when idle, and on a short
//! timer while lines keep arriving ([`Pace`]).
//!
//! The checkpoint records the files being drained too. On restart, a checkpointed file that no
//! pattern matches any more (rotated while being drained, or while the exporter was down) is
//! looked for in the directory of the path it was followed under, by device, inode and head
//! hash, and read from its offset to its end; one that is gone is reported
//! ([`TailEvents::rotated_file_lost`] and a warning) and forgotten.

pub mod checkpoint;
pub mod events;
pub mod fingerprint;
pub mod pattern;
mod run;
pub mod server;

pub use events::TailEvents;
pub use pattern::LogPattern;
pub use run::{Pace, TailerHandle, spawn};
pub use server::{FileServer, Options};
