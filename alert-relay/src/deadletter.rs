//! Dead letters: messages Discord refused for good or that failed `--delivery.max-attempts`
//! times. Kept in `dead-letters.jsonl` (one JSON object per line, fsync'd), listed with
//! `alert-relay dead-letters list` and put back in the spool with `... replay`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::entry::Entry;

/// One dead letter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The message and its target.
    pub entry: Entry,
    /// Why it was given up (Discord's answer or the last error; never the webhook token).
    pub reason: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// When it was given up (RFC 3339).
    pub failed_at: String,
}

/// The dead-letter file.
#[derive(Debug)]
pub struct DeadLetters {
    path: PathBuf,
    letters: Vec<DeadLetter>,
}

impl DeadLetters {
    /// Reads `dir/dead-letters.jsonl` (absent means none).
    pub fn open(dir: &Path) -> std::io::Result<DeadLetters> {
        let path = dir.join("dead-letters.jsonl");
        let mut letters = Vec::new();
        if path.exists() {
            for line in BufReader::new(File::open(&path)?).lines() {
                match serde_json::from_str(&line?) {
                    Ok(l) => letters.push(l),
                    Err(e) => tracing::warn!(error = %e, "skipping an unreadable dead letter"),
                }
            }
        }
        Ok(DeadLetters { path, letters })
    }

    /// All dead letters, oldest first.
    pub fn list(&self) -> &[DeadLetter] {
        &self.letters
    }

    /// The highest spool sequence number among them (0 if none).
    pub fn max_seq(&self) -> u64 {
        self.letters.iter().map(|l| l.entry.seq).max().unwrap_or(0)
    }

    /// Appends one, durably.
    pub fn append(&mut self, letter: &DeadLetter) -> std::io::Result<()> {
        let mut line = serde_json::to_string(letter).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(line.as_bytes())?;
        f.sync_data()?;
        self.letters.push(letter.clone());
        Ok(())
    }

    /// Removes the letters whose seq is in `seqs` (atomic rewrite: temp, fsync, rename).
    pub fn remove(&mut self, seqs: &[u64]) -> std::io::Result<()> {
        self.letters.retain(|l| !seqs.contains(&l.entry.seq));
        let tmp = self.path.with_extension("tmp");
        let mut f = File::create(&tmp)?;
        for l in &self.letters {
            let mut line = serde_json::to_string(l).map_err(std::io::Error::other)?;
            line.push('\n');
            f.write_all(line.as_bytes())?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}
