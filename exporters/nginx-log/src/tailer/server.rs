//! [`FileServer`]: the files of the patterns, each followed by device and inode, read to its end
//! on every [`FileServer::poll`]; rotations, truncations and the checkpoint.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::lines::{Chunk, LineReader};

use super::checkpoint::{CheckpointError, Checkpointer, Position, Saved};
use super::events::TailEvents;
use super::fingerprint::{Fingerprint, HEAD_BYTES, head, head_of_len};
use super::pattern::LogPattern;

/// Most bytes read from one file per poll, so one busy file cannot starve the others.
const MAX_READ_PER_POLL: u64 = 64 << 20;

/// Bytes read at a time: a busy tick's worth of a busy log in a few reads.
const READ_BYTES: usize = 256 << 10;

/// What to follow and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// `(path or glob, source index)` pairs.
    pub patterns: Vec<(LogPattern, usize)>,
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
    /// The path a pattern matched; for a draining file, the path it was followed under.
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
    pub(super) options: Options,
    files: Vec<Watched>,
    first_scan: bool,
    /// Checkpointed positions not yet taken up.
    resume: HashMap<Fingerprint, Position>,
    /// Which of `resume` were being drained when the checkpoint was written.
    resume_draining: HashSet<Fingerprint>,
    /// Patterns that match a path of the checkpoint: a file one of them matches at startup that
    /// the checkpoint does not know appeared while the exporter was down (a new `access.log`
    /// after a rotation), and is read from its start.
    known_patterns: HashSet<LogPattern>,
    checkpointer: Option<Checkpointer>,
    buf: Vec<u8>,
    dirty: bool,
}

impl FileServer {
    /// A server for `options`; loads the checkpoint file if there is one.
    pub fn new(options: Options) -> Result<FileServer, CheckpointError> {
        let checkpointer = options.checkpoint.as_deref().map(Checkpointer::new);
        let saved = match &checkpointer {
            Some(c) => c.load()?,
            None => Saved::default(),
        };
        let known_patterns = options
            .patterns
            .iter()
            .map(|(pattern, _)| pattern)
            .filter(|pattern| {
                saved
                    .files
                    .iter()
                    .chain(&saved.draining)
                    .any(|p| pattern.matches(Path::new(&p.path)))
            })
            .cloned()
            .collect();
        let resume_draining = saved.draining.iter().map(|p| p.fingerprint).collect();
        let resume = saved
            .files
            .into_iter()
            .chain(saved.draining)
            .map(|p| (p.fingerprint, p))
            .collect();
        Ok(FileServer {
            options,
            files: Vec::new(),
            first_scan: true,
            resume,
            resume_draining,
            known_patterns,
            checkpointer,
            buf: vec![0; READ_BYTES],
            dirty: false,
        })
    }

    /// Scans the patterns, reads every file to its end and reports; returns the bytes read.
    pub fn poll(&mut self, events: &mut impl TailEvents) -> u64 {
        self.scan(events);
        let now = Instant::now();
        let mut read = 0;
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
                read += w.offset - before;
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
        let before = self.files.len();
        self.files.retain(|w| {
            let keep = !w.draining || now.duration_since(w.last_growth) < wait;
            if !keep {
                tracing::debug!(path = %w.path.display(), "rotated log file drained and let go");
            }
            keep
        });
        if self.files.len() != before {
            self.dirty = true;
        }
        events.watched(&report);
        read
    }

    fn scan(&mut self, events: &mut impl TailEvents) {
        let mut seen: HashSet<PathBuf> = HashSet::new();
        let mut seen_at: HashMap<Fingerprint, (PathBuf, usize)> = HashMap::new();
        let patterns = self.options.patterns.clone();
        for (pattern, source) in &patterns {
            for path in pattern.expand() {
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                if !meta.is_file() {
                    continue;
                }
                let fingerprint = Fingerprint::of(&meta);
                seen.insert(path.clone());
                seen_at
                    .entry(fingerprint)
                    .or_insert_with(|| (path.clone(), *source));
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
                if let Some(w) = self.files.iter_mut().find(|w| w.fingerprint == fingerprint) {
                    if w.draining {
                        // Rotated to a name a pattern matches too (`access.log*`): followed on
                        // from where it was, under that name.
                        tracing::info!(from = %w.path.display(), to = %path.display(), "rotated log file matched under its new name; following it");
                        w.draining = false;
                        w.path = path;
                        w.source = *source;
                        self.dirty = true;
                    }
                    // Else the same file under a second name.
                    continue;
                }
                let new_since_stop = self.first_scan && self.known_patterns.contains(pattern);
                self.open(
                    path,
                    *source,
                    fingerprint,
                    meta.len(),
                    new_since_stop,
                    events,
                );
            }
        }
        for w in self
            .files
            .iter_mut()
            .filter(|w| !w.draining && !seen.contains(&w.path))
        {
            if let Some((path, source)) = seen_at.get(&w.fingerprint) {
                // Renamed to another name the patterns match (`access.log.1` to `.2`).
                tracing::debug!(from = %w.path.display(), to = %path.display(), "log file renamed");
                w.path = path.clone();
                w.source = *source;
                self.dirty = true;
                continue;
            }
            tracing::info!(path = %w.path.display(), "log file renamed away or deleted; draining it");
            w.draining = true;
            events.rotated(&w.path);
        }
        if self.first_scan {
            self.find_rotated(events);
        }
        self.first_scan = false;
    }

    /// The source of the first pattern that matches `path`.
    fn source_of(&self, path: &Path) -> Option<usize> {
        self.options
            .patterns
            .iter()
            .find(|(pattern, _)| pattern.matches(path))
            .map(|(_, source)| *source)
    }

    /// At startup, after the patterns were scanned: the checkpointed files no pattern matched
    /// that were being drained, or whose path now names another file, were rotated away. Each
    /// is looked for in the directory of the path it was followed under (by device and inode,
    /// then head hash) and drained from its offset; one that is not there is reported lost.
    fn find_rotated(&mut self, events: &mut impl TailEvents) {
        let mut by_dir: HashMap<PathBuf, HashSet<Fingerprint>> = HashMap::new();
        for p in self.resume.values() {
            let path = Path::new(&p.path);
            if self.source_of(path).is_none() {
                continue;
            }
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            by_dir
                .entry(dir.to_path_buf())
                .or_default()
                .insert(p.fingerprint);
        }
        for (dir, wanted) in by_dir {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot list the directory of a rotated log file");
                    continue;
                }
            };
            for entry in entries.flatten() {
                use std::os::unix::fs::DirEntryExt;
                let ino = entry.ino();
                if !wanted.iter().any(|f| f.ino == ino) {
                    continue;
                }
                // Not following symlinks: the file itself, as the checkpoint knew it.
                let Ok(meta) = entry.metadata() else {
                    continue;
                };
                let fingerprint = Fingerprint::of(&meta);
                if !meta.is_file() || !wanted.contains(&fingerprint) {
                    continue;
                }
                self.drain_found(entry.path(), fingerprint, meta.len(), events);
            }
        }
        let gone: Vec<Fingerprint> = self
            .resume
            .values()
            .filter(|p| {
                self.resume_draining.contains(&p.fingerprint)
                    || self
                        .files
                        .iter()
                        .any(|w| !w.draining && w.path.as_os_str() == p.path.as_str())
            })
            .map(|p| p.fingerprint)
            .collect();
        for fingerprint in gone {
            let Some(p) = self.resume.remove(&fingerprint) else {
                continue;
            };
            self.resume_draining.remove(&fingerprint);
            report_lost(&p, events);
            self.dirty = true;
        }
    }

    /// Drains the checkpointed file with `fingerprint`, found at `found`, if its head is still
    /// the one the checkpoint saw (else the inode was reused by another file).
    fn drain_found(
        &mut self,
        found: PathBuf,
        fingerprint: Fingerprint,
        size: u64,
        events: &mut impl TailEvents,
    ) {
        let Some(p) = self.resume.get(&fingerprint) else {
            return;
        };
        let Some(source) = self.source_of(Path::new(&p.path)) else {
            return;
        };
        let mut file = match File::open(&found) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(path = %found.display(), error = %e, "cannot open rotated log file");
                return;
            }
        };
        if p.offset > size || head_of_len(&file, p.head_len).ok().flatten() != Some(p.head_hash) {
            return;
        }
        if let Err(e) = file.seek(SeekFrom::Start(p.offset)) {
            tracing::warn!(path = %found.display(), error = %e, "cannot seek rotated log file");
            return;
        }
        let Some(p) = self.resume.remove(&fingerprint) else {
            return;
        };
        let path = PathBuf::from(&p.path);
        if !self.resume_draining.remove(&fingerprint) {
            // It was followed under `path` when the exporter stopped: rotated since.
            events.rotated(&path);
        }
        tracing::info!(path = %found.display(), followed_as = %path.display(), offset = p.offset, "rotated log file found; reading it to its end");
        self.files.push(Watched {
            path,
            source,
            file,
            fingerprint,
            offset: p.offset,
            reader: LineReader::new(self.options.max_line),
            draining: true,
            last_growth: Instant::now(),
            head: None,
        });
        self.dirty = true;
    }

    fn open(
        &mut self,
        path: PathBuf,
        source: usize,
        fingerprint: Fingerprint,
        size: u64,
        new_since_stop: bool,
        events: &mut impl TailEvents,
    ) {
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot open log file");
                return;
            }
        };
        let was_draining = self.resume_draining.remove(&fingerprint);
        let offset = match self.resume.remove(&fingerprint) {
            Some(p)
                if p.offset <= size
                    && head_of_len(&file, p.head_len).ok().flatten() == Some(p.head_hash) =>
            {
                p.offset
            }
            // Same inode, other content: truncated or replaced while the exporter was down.
            Some(p) => {
                if was_draining {
                    // A rotated file deleted, its inode reused by the new one.
                    report_lost(&p, events);
                }
                0
            }
            None if self.first_scan && !self.options.from_start && !new_since_stop => size,
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
        let mut saved = Saved::default();
        for w in &self.files {
            let Ok((head_len, head_hash)) = head(&w.file, w.offset) else {
                continue;
            };
            let position = Position {
                fingerprint: w.fingerprint,
                head_len,
                head_hash,
                offset: w.offset - w.reader.pending().min(w.offset),
                path: w.path.display().to_string(),
            };
            if w.draining {
                saved.draining.push(position);
            } else {
                saved.files.push(position);
            }
        }
        // Files not seen this run keep their positions, in case they come back.
        for p in self.resume.values() {
            if self.resume_draining.contains(&p.fingerprint) {
                saved.draining.push(p.clone());
            } else {
                saved.files.push(p.clone());
            }
        }
        match checkpointer.save(&saved) {
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

fn report_lost(p: &Position, events: &mut impl TailEvents) {
    tracing::warn!(
        path = %p.path,
        dev = p.fingerprint.dev,
        ino = p.fingerprint.ino,
        offset = p.offset,
        "rotated log file not found (deleted or compressed?); its lines after the offset are not counted"
    );
    events.rotated_file_lost(Path::new(&p.path));
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
        if n < buf.len() {
            // A regular file reads short only at its end: no need for a read that returns 0.
            break;
        }
    }
}
