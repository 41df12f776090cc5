//! The checkpoint and rename rotations: a file rotated away and not yet read to its end when
//! the exporter stops is found again on restart and read from where it stopped, once; one that
//! is gone is reported, not fatal; a glob that matches the rotated name reads it once.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nginx_log_exporter::tailer::checkpoint::Checkpointer;
use nginx_log_exporter::tailer::{FileServer, Options, TailEvents};

#[derive(Default)]
struct Counter {
    lines: Vec<String>,
    rotations: u64,
    lost: Vec<PathBuf>,
}

impl TailEvents for Counter {
    fn lines(&mut self, _source: usize, block: &[u8]) {
        let text = std::str::from_utf8(block).unwrap();
        self.lines.extend(text.lines().map(str::to_owned));
    }
    fn too_long(&mut self, _source: usize, _bytes: u64) {
        panic!("no line is too long here");
    }
    fn rotated(&mut self, _path: &Path) {
        self.rotations += 1;
    }
    fn truncated(&mut self, path: &Path) {
        panic!("nothing is truncated here: {}", path.display());
    }
    fn watched(&mut self, _files: &[(PathBuf, u64)]) {}
    fn rotated_file_lost(&mut self, path: &Path) {
        self.lost.push(path.to_path_buf());
    }
}

struct Setup {
    dir: tempfile::TempDir,
    pattern: String,
    rotate_wait: Duration,
}

impl Setup {
    fn new(pattern: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("access.log"), b"before the start\n").unwrap();
        let pattern = dir.path().join(pattern).display().to_string();
        Setup {
            dir,
            pattern,
            rotate_wait: Duration::from_secs(3600),
        }
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn checkpoint(&self) -> PathBuf {
        self.log("checkpoint.json")
    }

    fn server(&self) -> FileServer {
        FileServer::new(Options {
            patterns: vec![(self.pattern.clone().into(), 0)],
            from_start: false,
            checkpoint: Some(self.checkpoint()),
            max_line: 1 << 16,
            rotate_wait: self.rotate_wait,
        })
        .unwrap()
    }
}

fn write(file: &mut File, lines: &[&str]) {
    for l in lines {
        writeln!(file, "{l}").unwrap();
    }
}

fn append(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

/// The lines counted, in order: files are read one after the other, not in writing order.
fn sorted(counter: &Counter) -> Vec<String> {
    let mut lines = counter.lines.clone();
    lines.sort();
    lines
}

/// A graceful stop: a last poll, then the checkpoint.
fn stop(mut server: FileServer, counter: &mut Counter) {
    server.poll(counter);
    server.checkpoint();
}

#[test]
fn lines_written_to_a_rotated_file_after_the_stop_are_read_on_restart_once() {
    let s = Setup::new("access.log");
    let mut counter = Counter::default();
    let mut server = s.server();
    server.poll(&mut counter);
    let mut nginx = append(&s.log("access.log"));
    write(&mut nginx, &["a1", "a2"]);
    server.poll(&mut counter);
    // logrotate renames; nginx writes on to the old file until it reopens.
    std::fs::rename(s.log("access.log"), s.log("access.log.1")).unwrap();
    write(&mut nginx, &["a3"]);
    server.poll(&mut counter);
    assert_eq!(counter.rotations, 1);
    stop(server, &mut counter);
    let saved = Checkpointer::new(&s.checkpoint()).load().unwrap();
    assert_eq!(saved.draining.len(), 1, "{saved:?}");
    assert_eq!(
        saved.draining[0].path,
        s.log("access.log").display().to_string()
    );

    // While the exporter is down, nginx writes on, then reopens.
    write(&mut nginx, &["a4", "a5"]);
    let mut nginx = append(&s.log("access.log"));
    write(&mut nginx, &["b1"]);

    let mut server = s.server();
    server.poll(&mut counter);
    assert_eq!(sorted(&counter), ["a1", "a2", "a3", "a4", "a5", "b1"]);
    assert!(counter.lost.is_empty());

    // And once only: another restart reads nothing again.
    stop(server, &mut counter);
    let mut server = s.server();
    server.poll(&mut counter);
    write(&mut nginx, &["b2"]);
    server.poll(&mut counter);
    assert_eq!(sorted(&counter), ["a1", "a2", "a3", "a4", "a5", "b1", "b2"]);
}

#[test]
fn a_file_rotated_while_the_exporter_was_down_is_read_to_its_end() {
    let s = Setup::new("access.log");
    let mut counter = Counter::default();
    let mut server = s.server();
    server.poll(&mut counter);
    let mut nginx = append(&s.log("access.log"));
    write(&mut nginx, &["a1"]);
    stop(server, &mut counter);
    let saved = Checkpointer::new(&s.checkpoint()).load().unwrap();
    assert_eq!((saved.files.len(), saved.draining.len()), (1, 0));

    write(&mut nginx, &["a2"]);
    std::fs::rename(s.log("access.log"), s.log("access.log.1")).unwrap();
    write(&mut nginx, &["a3"]);
    let mut nginx = append(&s.log("access.log"));
    // The new file at the followed path is read from its start.
    write(&mut nginx, &["b1"]);

    let mut server = s.server();
    server.poll(&mut counter);
    assert_eq!(sorted(&counter), ["a1", "a2", "a3", "b1"]);
    assert_eq!(counter.rotations, 1);
    assert!(counter.lost.is_empty());
}

#[test]
fn a_rotated_file_gone_before_the_restart_is_reported_and_forgotten() {
    let s = Setup::new("access.log");
    let mut counter = Counter::default();
    let mut server = s.server();
    server.poll(&mut counter);
    let mut nginx = append(&s.log("access.log"));
    write(&mut nginx, &["a1"]);
    std::fs::rename(s.log("access.log"), s.log("access.log.1")).unwrap();
    // The poll that notices the rotation checkpoints the old file as draining...
    server.poll(&mut counter);
    server.checkpoint();
    drop(server);
    // ...and nginx writes to it after the exporter stopped.
    write(&mut nginx, &["a2"]);
    let saved = Checkpointer::new(&s.checkpoint()).load().unwrap();
    assert_eq!(saved.draining.len(), 1, "{saved:?}");

    // Compressed while the exporter was down: another inode, the old one deleted.
    let old = std::fs::read(s.log("access.log.1")).unwrap();
    std::fs::write(s.log("access.log.1.gz"), old).unwrap();
    std::fs::remove_file(s.log("access.log.1")).unwrap();
    drop(nginx);
    let mut nginx = append(&s.log("access.log"));
    write(&mut nginx, &["b1"]);

    let mut server = s.server();
    server.poll(&mut counter);
    assert_eq!(sorted(&counter), ["a1", "b1"]);
    assert_eq!(counter.lost, [s.log("access.log")]);
    server.checkpoint();
    let saved = Checkpointer::new(&s.checkpoint()).load().unwrap();
    assert!(saved.draining.is_empty(), "{saved:?}");
    assert_eq!(saved.files.len(), 1);

    // Reported once: the next restart does not look for it again.
    let mut server = s.server();
    server.poll(&mut counter);
    assert_eq!(counter.lost.len(), 1);
}

#[test]
fn a_file_of_the_same_inode_with_other_content_is_not_taken_for_the_rotated_one() {
    let s = Setup::new("access.log");
    std::fs::remove_file(s.log("access.log")).unwrap();
    std::fs::write(s.log("access.log.1"), b"another file\n").unwrap();
    let meta = std::fs::metadata(s.log("access.log.1")).unwrap();
    let checkpoint = format!(
        r#"{{"version":1,"files":[],"draining":[{{"fingerprint":{{"dev":{},"ino":{}}},"head_len":12,"head_hash":1,"offset":3,"path":"{}"}}]}}"#,
        meta.dev(),
        meta.ino(),
        s.log("access.log").display()
    );
    std::fs::write(s.checkpoint(), checkpoint).unwrap();
    let mut counter = Counter::default();
    let mut server = s.server();
    server.poll(&mut counter);
    assert!(counter.lines.is_empty(), "{:?}", counter.lines);
    assert_eq!(counter.lost, [s.log("access.log")]);
}

#[test]
fn a_glob_that_matches_the_rotated_name_reads_it_once() {
    let mut s = Setup::new("access.log*");
    s.rotate_wait = Duration::ZERO;
    let mut counter = Counter::default();
    let mut server = s.server();
    server.poll(&mut counter);
    let mut nginx = append(&s.log("access.log"));
    write(&mut nginx, &["a1", "a2"]);
    server.poll(&mut counter);
    std::fs::rename(s.log("access.log"), s.log("access.log.1")).unwrap();
    write(&mut nginx, &["a3"]);
    std::fs::write(s.log("access.log"), b"b1\n").unwrap();
    // Even with the old file let go at once, it is not read again under its new name.
    for _ in 0..3 {
        server.poll(&mut counter);
    }
    assert_eq!(counter.rotations, 1);
    assert_eq!(sorted(&counter), ["a1", "a2", "a3", "b1"]);

    // Nor after a restart, and the lines written meanwhile are read.
    stop(server, &mut counter);
    write(&mut nginx, &["a4"]);
    std::fs::rename(s.log("access.log.1"), s.log("access.log.2")).unwrap();
    let mut server = s.server();
    server.poll(&mut counter);
    server.poll(&mut counter);
    assert_eq!(sorted(&counter), ["a1", "a2", "a3", "a4", "b1"]);
    assert!(counter.lost.is_empty());
}

#[test]
fn a_draining_file_a_new_glob_matches_is_resumed_not_reread() {
    // A checkpoint written with `access.log` and read with `access.log*`: the draining file
    // is matched by the pattern at startup and resumed from its offset.
    let s = Setup::new("access.log");
    let mut counter = Counter::default();
    let mut server = s.server();
    server.poll(&mut counter);
    let mut nginx = append(&s.log("access.log"));
    write(&mut nginx, &["a1"]);
    server.poll(&mut counter);
    std::fs::rename(s.log("access.log"), s.log("access.log.1")).unwrap();
    stop(server, &mut counter);
    write(&mut nginx, &["a2"]);

    let glob = Setup {
        pattern: s.log("access.log*").display().to_string(),
        ..s
    };
    let mut server = glob.server();
    server.poll(&mut counter);
    assert_eq!(counter.lines, ["a1", "a2"]);
    assert!(counter.lost.is_empty());
}

#[test]
fn with_a_glob_two_rotations_while_the_exporter_was_down_lose_nothing() {
    let s = Setup::new("access.log*");
    let mut counter = Counter::default();
    let mut server = s.server();
    server.poll(&mut counter);
    let mut nginx = append(&s.log("access.log"));
    write(&mut nginx, &["a1"]);
    stop(server, &mut counter);

    write(&mut nginx, &["a2"]);
    std::fs::rename(s.log("access.log"), s.log("access.log.1")).unwrap();
    let mut nginx = append(&s.log("access.log"));
    write(&mut nginx, &["b1"]);
    std::fs::rename(s.log("access.log"), s.log("access.log.2")).unwrap();
    let mut nginx = append(&s.log("access.log"));
    write(&mut nginx, &["c1"]);

    let mut server = s.server();
    server.poll(&mut counter);
    assert_eq!(sorted(&counter), ["a1", "a2", "b1", "c1"]);
    assert!(counter.lost.is_empty());
}
