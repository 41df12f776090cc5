//! Follows log files through rotations and truncations and hands out blocks of complete lines.
//!
//! The tailer knows nothing of metrics: it reports through [`TailEvents`], which the
//! application implements. Each [`FileServer::poll`] re-expands the patterns (globs pick up new
//! files), notices when a path names another file (rename rotation: the old file is kept open
//! and drained until it has been idle for `rotate_wait`) or none (deleted or renamed away: same),
//! notices truncation (`size < offset`, or the first bytes changed: reading restarts at 0), and reads every file to its end.
//! [`run`] calls it on file events (`notify`) and on a polling interval, whichever comes first.

pub mod checkpoint;
pub mod fingerprint;
mod run;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use run::{TailerHandle, spawn};

use crate::lines::{Chunk, LineReader};
use checkpoint::{Checkpointer, Position};
use fingerprint::{Fingerprint, HEAD_BYTES, head, head_of_len};

/// Most bytes read from one file per poll, so one busy file cannot starve the others.
const MAX_READ_PER_POLL: u64 = 64 << 20;

/// What the tailer reports.
pub trait TailEvents {
    /// Complete lines (each ending with `\n`) read from a file of source `source`.
    fn lines(&mut self, source: usize, block: &[u8]);
    /// A line longer than the limit was dropped.
    fn too_long(&mut self, source: usize, bytes: u64);
    /// `path` now names another file, or none; the old file is drained.
    fn rotated(&mut self, path: &Path);
    /// The file at `path` shrank below the read offset; reading restarted at 0.
    fn truncated(&mut self, path: &Path);
    /// After each poll: the files followed (by path) and the bytes not yet read in each.
    fn watched(&mut self, files: &[(PathBuf, u64)]);
}

/// What to follow and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// `(path or glob, source index)` pairs.
    pub patterns: Vec<(String, usize)>,
    /// Read files found at startup from their start (else from their end), when no checkpoint
    /// applies. Files that appear later are always read from their start.
    pub from_start: bool,
    /// Checkpoint file.
    pub checkpoint: Option<PathBuf>,
    /// Longest line; longer ones are dropped.
    pub max_line: usize,
    /// How long a rotated-away or deleted file must stay idle before it is let go.
    pub rotate_wait: Duration,
}

struct Watched {
    path: PathBuf,
    source: usize,
    file: File,
    fingerprint: Fingerprint,
    offset: u64,
    reader: LineReader,
    /// Set when the path no longer names this file.
    draining: bool,
    last_growth: Instant,
    /// Length and hash of the file's first bytes, once it has [`HEAD_BYTES`] of them: a file
    /// truncated and rewritten past the offset between two polls is still caught.
    head: Option<(u64, u64)>,
}

/// Follows the files of [`Options`].
pub struct FileServer {
    options: Options,
    files: Vec<Watched>,
    first_scan: bool,
    resume: HashMap<Fingerprint, Position>,
    checkpointer: Option<Checkpointer>,
    buf: Vec<u8>,
    dirty: bool,
}

impl FileServer {
    /// A server for `options`; loads the checkpoint file if there is one.
    pub fn new(options: Options) -> anyhow::Result<FileServer> {
        let checkpointer = options.checkpoint.as_deref().map(Checkpointer::new);
        let resume = match &checkpointer {
            Some(c) => c.load()?.into_iter().map(|p| (p.fingerprint, p)).collect(),
            None => HashMap::new(),
        };
        Ok(FileServer {
            options,
            files: Vec::new(),
            first_scan: true,
            resume,
            checkpointer,
            buf: vec![0; 256 * 1024],
            dirty: false,
        })
    }

    /// Scans the patterns, reads every file to its end and reports.
    pub fn poll(&mut self, events: &mut impl TailEvents) {
        self.scan(events);
        let now = Instant::now();
        let mut report = Vec::with_capacity(self.files.len());
        for i in 0..self.files.len() {
            let w = &mut self.files[i];
            let size = match w.file.metadata() {
                Ok(m) => m.len(),
                Err(e) => {
                    tracing::warn!(path = %w.path.display(), error = %e, "cannot stat log file");
                    continue;
                }
            };
            let rewritten = match w.head {
                Some((len, hash)) => head_of_len(&w.file, len).ok().flatten() != Some(hash),
                None => false,
            };
            if size < w.offset || rewritten {
                tracing::info!(path = %w.path.display(), size, offset = w.offset, "log file truncated; reading from its start");
                events.truncated(&w.path);
                w.offset = 0;
                w.head = None;
                w.reader.reset();
                if let Err(e) = w.file.seek(SeekFrom::Start(0)) {
                    tracing::warn!(path = %w.path.display(), error = %e, "cannot seek log file");
                }
            }
            let before = w.offset;
            read_available(w, &mut self.buf, events);
            if w.offset != before {
                w.last_growth = now;
                self.dirty = true;
            }
            if w.head.is_none() && w.offset >= HEAD_BYTES as u64 {
                w.head = head(&w.file, HEAD_BYTES as u64)
                    .ok()
                    .filter(|(len, _)| *len == HEAD_BYTES as u64);
            }
            if !w.draining {
                report.push((w.path.clone(), size.saturating_sub(w.offset)));
            }
        }
        let wait = self.options.rotate_wait;
        self.files.retain(|w| {
            let keep = !w.draining || now.duration_since(w.last_growth) < wait;
            if !keep {
                tracing::debug!(path = %w.path.display(), "rotated log file drained and let go");
            }
            keep
        });
        events.watched(&report);
    }

    fn scan(&mut self, events: &mut impl TailEvents) {
        let mut seen: HashSet<PathBuf> = HashSet::new();
        let patterns = self.options.patterns.clone();
        for (pattern, source) in &patterns {
            for path in crate::app::expand(pattern) {
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                if !meta.is_file() {
                    continue;
                }
                let fingerprint = Fingerprint::of(&meta);
                seen.insert(path.clone());
                if let Some(w) = self
                    .files
                    .iter_mut()
                    .find(|w| w.path == path && !w.draining)
                {
                    if w.fingerprint == fingerprint {
                        continue;
                    }
                    tracing::info!(path = %path.display(), "log file rotated; draining the old one");
                    w.draining = true;
                    events.rotated(&path);
                }
                if self.files.iter().any(|w| w.fingerprint == fingerprint) {
                    // The same file under a second name (a rotated name the glob also matches).
                    continue;
                }
                self.open(path, *source, fingerprint, meta.len());
            }
        }
        for w in self
            .files
            .iter_mut()
            .filter(|w| !w.draining && !seen.contains(&w.path))
        {
            tracing::info!(path = %w.path.display(), "log file renamed away or deleted; draining it");
            w.draining = true;
            events.rotated(&w.path);
        }
        self.first_scan = false;
    }

    fn open(&mut self, path: PathBuf, source: usize, fingerprint: Fingerprint, size: u64) {
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot open log file");
                return;
            }
        };
        let offset = match self.resume.remove(&fingerprint) {
            Some(p)
                if p.offset <= size
                    && head_of_len(&file, p.head_len).ok().flatten() == Some(p.head_hash) =>
            {
                p.offset
            }
            // Same inode, other content: truncated or replaced while the exporter was down.
            Some(_) => 0,
            None if self.first_scan && !self.options.from_start => size,
            None => 0,
        };
        if let Err(e) = file.seek(SeekFrom::Start(offset)) {
            tracing::warn!(path = %path.display(), error = %e, "cannot seek log file");
            return;
        }
        tracing::info!(path = %path.display(), offset, "following log file");
        self.files.push(Watched {
            path,
            source,
            file,
            fingerprint,
            offset,
            reader: LineReader::new(self.options.max_line),
            draining: false,
            last_growth: Instant::now(),
            head: None,
        });
        self.dirty = true;
    }

    /// Saves the checkpoint if there is one and anything moved since the last save.
    pub fn checkpoint(&mut self) {
        let Some(checkpointer) = &self.checkpointer else {
            return;
        };
        if !self.dirty {
            return;
        }
        let mut positions: Vec<Position> = self
            .files
            .iter()
            .filter(|w| !w.draining)
            .filter_map(|w| {
                let (head_len, head_hash) = head(&w.file, w.offset).ok()?;
                Some(Position {
                    fingerprint: w.fingerprint,
                    head_len,
                    head_hash,
                    offset: w.offset - w.reader.pending().min(w.offset),
                    path: w.path.display().to_string(),
                })
            })
            .collect();
        // Files not seen this run keep their positions, in case they come back.
        positions.extend(self.resume.values().cloned());
        match checkpointer.save(&positions) {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::warn!(error = %e, "cannot write the checkpoint file"),
        }
    }

    /// Paths of the files followed now (not the drained ones).
    pub fn paths(&self) -> Vec<PathBuf> {
        self.files
            .iter()
            .filter(|w| !w.draining)
            .map(|w| w.path.clone())
            .collect()
    }
}

fn read_available(w: &mut Watched, buf: &mut [u8], events: &mut impl TailEvents) {
    let mut read_now = 0;
    while read_now < MAX_READ_PER_POLL {
        let n = match w.file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(path = %w.path.display(), error = %e, "cannot read log file");
                break;
            }
        };
        w.offset += n as u64;
        read_now += n as u64;
        let source = w.source;
        w.reader.feed(&buf[..n], |chunk| match chunk {
            Chunk::Lines(block) => events.lines(source, block),
            Chunk::TooLong(bytes) => events.too_long(source, bytes),
        });
    }
}
