//! Where each file was read up to, saved atomically (temp file, fsync, rename) so a restart
//! resumes there. The format is versioned JSON.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;

const VERSION: u32 = 1;

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
    pub fn load(&self) -> anyhow::Result<Vec<Position>> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => anyhow::bail!("cannot read checkpoint {}: {e}", self.path.display()),
        };
        let parsed: FileFormat = serde_json::from_slice(&text).map_err(|e| {
            anyhow::anyhow!(
                "invalid checkpoint {}: {e} (delete it to start over)",
                self.path.display()
            )
        })?;
        if parsed.version != VERSION {
            anyhow::bail!(
                "checkpoint {} has version {}, this exporter reads {VERSION}",
                self.path.display(),
                parsed.version
            );
        }
        Ok(parsed.files)
    }

    /// Writes `positions` atomically.
    pub fn save(&self, positions: &[Position]) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let body = serde_json::to_vec(&FileFormat {
            version: VERSION,
            files: positions.to_vec(),
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
        assert!(cp.load().unwrap().is_empty());
        let p = Position {
            fingerprint: Fingerprint { dev: 1, ino: 2 },
            head_len: 3,
            head_hash: 4,
            offset: 5,
            path: "/x".into(),
        };
        cp.save(std::slice::from_ref(&p)).unwrap();
        assert_eq!(cp.load().unwrap(), vec![p]);
        std::fs::write(dir.path().join("cp.json"), b"{garbage").unwrap();
        assert!(
            cp.load()
                .unwrap_err()
                .to_string()
                .contains("invalid checkpoint")
        );
    }
}
