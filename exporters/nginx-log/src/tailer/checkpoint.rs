//! Where each file was read up to, saved atomically (temp file, fsync, rename) so a restart
//! resumes there. The format is versioned JSON: `files` are the files followed under the paths
//! the patterns match, `draining` the ones rotated away (renamed or deleted) and not yet read to
//! their end. A checkpoint written before `draining` existed loads with none.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;

const VERSION: u32 = 1;

/// Why a checkpoint cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file exists but cannot be read.
    #[error("cannot read checkpoint {}: {error}", path.display())]
    Read {
        /// The checkpoint file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Not a checkpoint.
    #[error("invalid checkpoint {}: {error} (delete it to start over)", path.display())]
    Invalid {
        /// The checkpoint file.
        path: PathBuf,
        /// Why.
        error: serde_json::Error,
    },
    /// Written by another version of the format.
    #[error("checkpoint {} has version {version}, this exporter reads {VERSION}", path.display())]
    Version {
        /// The checkpoint file.
        path: PathBuf,
        /// Its version.
        version: u32,
    },
}

/// One file's position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Device and inode.
    pub fingerprint: Fingerprint,
    /// Length of the head that was hashed.
    pub head_len: u64,
    /// Hash of the head.
    pub head_hash: u64,
    /// Offset of the first byte not yet counted (the start of a partial line).
    pub offset: u64,
    /// The path the file had (informative).
    pub path: String,
}

#[derive(Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    files: Vec<Position>,
    #[serde(default)]
    draining: Vec<Position>,
}

/// What a checkpoint holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Saved {
    /// Files followed under a path a pattern matched.
    pub files: Vec<Position>,
    /// Files rotated away from such a path and still being read; `path` is the path they were
    /// followed under, which tells where to look for them.
    pub draining: Vec<Position>,
}

/// Loads and saves the checkpoint file.
#[derive(Clone, Debug)]
pub struct Checkpointer {
    path: PathBuf,
}

impl Checkpointer {
    /// A checkpointer writing `path`.
    pub fn new(path: &Path) -> Checkpointer {
        Checkpointer {
            path: path.to_path_buf(),
        }
    }

    /// The saved positions; none when the file does not exist. A corrupt or newer file is an
    /// error (starting over silently would re-count or skip lines).
    pub fn load(&self) -> Result<Saved, CheckpointError> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Saved::default()),
            Err(error) => {
                return Err(CheckpointError::Read {
                    path: self.path.clone(),
                    error,
                });
            }
        };
        let parsed: FileFormat =
            serde_json::from_slice(&text).map_err(|error| CheckpointError::Invalid {
                path: self.path.clone(),
                error,
            })?;
        if parsed.version != VERSION {
            return Err(CheckpointError::Version {
                path: self.path.clone(),
                version: parsed.version,
            });
        }
        Ok(Saved {
            files: parsed.files,
            draining: parsed.draining,
        })
    }

    /// Writes `saved` atomically.
    pub fn save(&self, saved: &Saved) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let body = serde_json::to_vec(&FileFormat {
            version: VERSION,
            files: saved.files.clone(),
            draining: saved.draining.clone(),
        })
        .map_err(std::io::Error::other)?;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&body)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename is durable once the directory is synced; not all filesystems allow it.
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_survive_a_round_trip_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let cp = Checkpointer::new(&dir.path().join("cp.json"));
        assert_eq!(cp.load().unwrap(), Saved::default());
        let p = Position {
            fingerprint: Fingerprint { dev: 1, ino: 2 },
            head_len: 3,
            head_hash: 4,
            offset: 5,
            path: "/x".into(),
        };
        let saved = Saved {
            files: vec![p.clone()],
            draining: vec![Position {
                fingerprint: Fingerprint { dev: 1, ino: 7 },
                path: "/x.1".into(),
                ..p
            }],
        };
        cp.save(&saved).unwrap();
        assert_eq!(cp.load().unwrap(), saved);
        std::fs::write(dir.path().join("cp.json"), b"{garbage").unwrap();
        assert!(
            cp.load()
                .unwrap_err()
                .to_string()
                .contains("invalid checkpoint")
        );
    }

    #[test]
    fn a_checkpoint_without_draining_files_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        // Written by the exporter before it recorded the files being drained.
        std::fs::write(
            &path,
            br#"{"version":1,"files":[{"fingerprint":{"dev":1,"ino":2},"head_len":3,"head_hash":4,"offset":5,"path":"/x"}]}"#,
        )
        .unwrap();
        let saved = Checkpointer::new(&path).load().unwrap();
        assert_eq!(saved.files.len(), 1);
        assert_eq!(saved.files[0].offset, 5);
        assert!(saved.draining.is_empty());
    }
}
