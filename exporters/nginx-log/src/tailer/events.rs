//! What the tailer reports to the application, which implements [`TailEvents`] (the tailer
//! knows nothing of metrics).

use std::path::{Path, PathBuf};

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
    /// At startup: a file the checkpoint says was rotated away from `path` with lines not yet
    /// read could not be found again (deleted or compressed); those lines are not counted. The
    /// tailer also logs a warning with the file's identity.
    fn rotated_file_lost(&mut self, path: &Path) {
        let _ = path;
    }
}
