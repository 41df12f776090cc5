//! A log file pattern: a path, or a glob whose wildcards stay within a path component
//! (`/var/log/nginx/*access.log`). It says which files it names now, whether a path is one of
//! them, and which directory to watch for changes.

use std::fmt;
use std::path::{Path, PathBuf};

/// Compression suffixes: `access.log.2.gz`, which logrotate's `compress` makes of a rotated
/// log, matches a glob like `access.log*` but is not text to read.
const COMPRESSED: [&str; 9] = ["gz", "bz2", "xz", "zst", "lz4", "lzma", "br", "zip", "Z"];

/// A path or glob naming log files.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LogPattern(String);

impl LogPattern {
    /// The pattern `pattern`; any string is one (a glob that does not parse matches nothing).
    pub fn new(pattern: impl Into<String>) -> LogPattern {
        LogPattern(pattern.into())
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the pattern has wildcards (else it is a plain path).
    pub fn is_glob(&self) -> bool {
        self.0.contains(['*', '?', '['])
    }

    /// The files the pattern names now: the glob's matches that are regular files and not
    /// compressed, or the path itself when it has no wildcard (it may not exist yet; a path
    /// named without wildcards is read whatever its name).
    pub fn expand(&self) -> Vec<PathBuf> {
        if !self.is_glob() {
            return vec![PathBuf::from(&self.0)];
        }
        match glob::glob(&self.0) {
            Ok(paths) => paths
                .flatten()
                .filter(|p| p.is_file() && !is_compressed(p))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Whether the pattern matches `path` (wildcards do not cross a `/`, as in
    /// [`LogPattern::expand`]).
    pub fn matches(&self, path: &Path) -> bool {
        if self.is_glob() {
            let options = glob::MatchOptions {
                require_literal_separator: true,
                ..glob::MatchOptions::new()
            };
            glob::Pattern::new(&self.0).is_ok_and(|g| g.matches_path_with(path, options))
        } else {
            Path::new(&self.0) == path
        }
    }

    /// The directory to watch for the pattern's files: its parent up to the first wildcard.
    pub fn watched_dir(&self) -> PathBuf {
        let fixed: PathBuf = Path::new(&self.0)
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
            .collect();
        let dir = if fixed.as_os_str() == self.0.as_str() {
            fixed.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            fixed
        };
        if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        }
    }
}

impl From<String> for LogPattern {
    fn from(pattern: String) -> LogPattern {
        LogPattern(pattern)
    }
}

impl From<&str> for LogPattern {
    fn from(pattern: &str) -> LogPattern {
        LogPattern(pattern.to_string())
    }
}

impl fmt::Display for LogPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file name with a compression suffix ([`COMPRESSED`]).
fn is_compressed(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| COMPRESSED.contains(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(pattern: &str) -> Vec<PathBuf> {
        LogPattern::new(pattern).expand()
    }

    fn watch_dir(pattern: &str) -> PathBuf {
        LogPattern::new(pattern).watched_dir()
    }

    #[test]
    fn a_glob_skips_compressed_rotations_but_a_named_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "access.log",
            "access.log.1",
            "access.log.2.gz",
            "access.log.3.zst",
        ] {
            std::fs::write(dir.path().join(name), "x\n").unwrap();
        }
        let mut found = expand(&format!("{}/access.log*", dir.path().display()));
        found.sort();
        assert_eq!(
            found,
            vec![
                dir.path().join("access.log"),
                dir.path().join("access.log.1")
            ]
        );
        let named = dir.path().join("access.log.2.gz");
        assert_eq!(expand(&named.display().to_string()), vec![named]);
    }

    #[test]
    fn the_watched_directory_is_the_fixed_part_of_a_pattern() {
        assert_eq!(
            watch_dir("/var/log/nginx/access.log"),
            PathBuf::from("/var/log/nginx")
        );
        assert_eq!(
            watch_dir("/var/log/nginx/*.log"),
            PathBuf::from("/var/log/nginx")
        );
        assert_eq!(watch_dir("/srv/*/logs/access.log"), PathBuf::from("/srv"));
        assert_eq!(watch_dir("access.log"), PathBuf::from("."));
    }

    #[test]
    fn a_glob_matches_within_a_path_component_and_a_path_only_itself() {
        let glob = LogPattern::new("/var/log/nginx/*.log");
        assert!(glob.matches(Path::new("/var/log/nginx/access.log")));
        assert!(!glob.matches(Path::new("/var/log/nginx/old/access.log")));
        assert!(!glob.matches(Path::new("/var/log/nginx/access.log.1")));
        let plain = LogPattern::new("/var/log/nginx/access.log");
        assert!(plain.matches(Path::new("/var/log/nginx/access.log")));
        assert!(!plain.matches(Path::new("/var/log/nginx/access.log.1")));
    }
}
