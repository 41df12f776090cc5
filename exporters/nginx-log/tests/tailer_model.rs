//! Model test of the tailer: random sequences of writes (whole lines and lines in two pieces),
//! rename rotations (the writer keeps writing to the old file until it reopens, as nginx does
//! until `nginx -s reopen`), copytruncates, and graceful restarts with a checkpoint; after each
//! sequence the lines counted must equal the lines written, exactly.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nginx_log_exporter::tailer::{FileServer, Options, TailEvents};
use proptest::prelude::*;

#[derive(Default)]
struct Counter {
    lines: u64,
    rotations: u64,
    truncations: u64,
}

impl TailEvents for Counter {
    fn lines(&mut self, _source: usize, block: &[u8]) {
        assert_eq!(block.last(), Some(&b'\n'), "blocks hold complete lines");
        self.lines += memchr::memchr_iter(b'\n', block).count() as u64;
    }
    fn too_long(&mut self, _source: usize, _bytes: u64) {
        panic!("no line is too long in this model");
    }
    fn rotated(&mut self, _path: &Path) {
        self.rotations += 1;
    }
    fn truncated(&mut self, _path: &Path) {
        self.truncations += 1;
    }
    fn watched(&mut self, _files: &[(PathBuf, u64)]) {}
}

#[derive(Clone, Debug)]
enum Action {
    Write(u8),
    WriteInTwoPieces,
    Poll,
    Rotate,
    Reopen,
    CopyTruncate,
    Restart,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (1u8..20).prop_map(Action::Write),
        1 => Just(Action::WriteInTwoPieces),
        3 => Just(Action::Poll),
        1 => Just(Action::Rotate),
        1 => Just(Action::Reopen),
        1 => Just(Action::CopyTruncate),
        1 => Just(Action::Restart),
    ]
}

struct Model {
    dir: tempfile::TempDir,
    writer: File,
    written: u64,
    rotated_pending: bool,
    rotations_done: u32,
    server: FileServer,
    counter: Counter,
    line_no: u64,
}

impl Model {
    fn path(&self) -> PathBuf {
        self.dir.path().join("access.log")
    }

    fn options(dir: &Path) -> Options {
        Options {
            patterns: vec![(dir.join("access.log").display().to_string(), 0)],
            from_start: false,
            checkpoint: Some(dir.join("checkpoint.json")),
            max_line: 1 << 16,
            rotate_wait: Duration::from_secs(3600),
        }
    }

    fn new() -> Model {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        // Lines from before the exporter started are not counted (it starts at the end).
        std::fs::write(&path, b"old line\nold line\n").unwrap();
        let writer = OpenOptions::new().append(true).open(&path).unwrap();
        let server = FileServer::new(Model::options(dir.path())).unwrap();
        let mut m = Model {
            dir,
            writer,
            written: 0,
            rotated_pending: false,
            rotations_done: 0,
            server,
            counter: Counter::default(),
            line_no: 0,
        };
        m.server.poll(&mut m.counter);
        m
    }

    fn line(&mut self) -> String {
        self.line_no += 1;
        format!(
            "127.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET /t/{}/ HTTP/1.1\" 200 12 \"-\" \"model\"\n",
            self.line_no
        )
    }

    fn apply(&mut self, action: &Action) {
        match action {
            Action::Write(n) => {
                for _ in 0..*n {
                    let line = self.line();
                    self.writer.write_all(line.as_bytes()).unwrap();
                    self.written += 1;
                }
            }
            Action::WriteInTwoPieces => {
                let line = self.line();
                let (a, b) = line.split_at(line.len() / 2);
                self.writer.write_all(a.as_bytes()).unwrap();
                self.server.poll(&mut self.counter);
                self.writer.write_all(b.as_bytes()).unwrap();
                self.written += 1;
            }
            Action::Poll => self.server.poll(&mut self.counter),
            Action::Rotate if !self.rotated_pending => {
                // logrotate runs rarely: the exporter has seen the current file by then.
                self.server.poll(&mut self.counter);
                self.rotations_done += 1;
                let to = self
                    .dir
                    .path()
                    .join(format!("access.log.{}", self.rotations_done));
                std::fs::rename(self.path(), to).unwrap();
                self.rotated_pending = true;
            }
            Action::Rotate => {}
            Action::Reopen => {
                if self.rotated_pending {
                    self.writer = OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(self.path())
                        .unwrap();
                    self.rotated_pending = false;
                }
            }
            Action::CopyTruncate => {
                // Lines the exporter had not read when the file is truncated are only in the
                // copy; a tailer reads faster than logrotate runs, so let it catch up first.
                self.server.poll(&mut self.counter);
                self.writer.set_len(0).unwrap();
            }
            Action::Restart if !self.rotated_pending => {
                self.server.poll(&mut self.counter);
                self.server.checkpoint();
                self.server = FileServer::new(Model::options(self.dir.path())).unwrap();
                self.server.poll(&mut self.counter);
            }
            Action::Restart => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_line_written_is_counted_exactly_once(actions in proptest::collection::vec(action(), 1..40)) {
        let mut m = Model::new();
        for a in &actions {
            m.apply(a);
        }
        m.apply(&Action::Reopen);
        m.server.poll(&mut m.counter);
        prop_assert_eq!(m.counter.lines, m.written, "actions: {:?}", actions);
    }
}

#[test]
fn rotation_and_truncation_are_reported() {
    let mut m = Model::new();
    m.apply(&Action::Write(3));
    m.apply(&Action::Rotate);
    m.apply(&Action::Write(2));
    m.apply(&Action::Reopen);
    m.apply(&Action::Write(1));
    m.apply(&Action::CopyTruncate);
    m.apply(&Action::Write(4));
    m.apply(&Action::Poll);
    assert_eq!(m.counter.lines, 10);
    assert_eq!(m.counter.rotations, 1);
    assert_eq!(m.counter.truncations, 1);
}

#[test]
fn globs_pick_up_new_files_from_their_start_and_existing_ones_from_their_end() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), b"before start\n").unwrap();
    let options = Options {
        patterns: vec![(dir.path().join("*.log").display().to_string(), 0)],
        from_start: false,
        checkpoint: None,
        max_line: 1 << 16,
        rotate_wait: Duration::from_secs(3600),
    };
    let mut server = FileServer::new(options.clone()).unwrap();
    let mut counter = Counter::default();
    server.poll(&mut counter);
    assert_eq!(counter.lines, 0);
    std::fs::write(dir.path().join("b.log"), b"one\ntwo\n").unwrap();
    std::fs::write(dir.path().join("ignored.txt"), b"x\n").unwrap();
    OpenOptions::new()
        .append(true)
        .open(dir.path().join("a.log"))
        .unwrap()
        .write_all(b"after\n")
        .unwrap();
    server.poll(&mut counter);
    assert_eq!(counter.lines, 3);
    assert_eq!(server.paths().len(), 2);

    let mut from_start = FileServer::new(Options {
        from_start: true,
        ..options
    })
    .unwrap();
    let mut counter = Counter::default();
    from_start.poll(&mut counter);
    assert_eq!(counter.lines, 4);
}
