//! Model test of the tailer: random sequences of writes (whole lines and lines in two pieces),
//! rename rotations (the writer keeps writing to the old file until it reopens, as nginx does
//! until `nginx -s reopen`), copytruncates, and graceful stops and starts with a checkpoint
//! (nginx writes, rotates and reopens while the exporter is down, so a restart can fall between
//! a rename rotation and the end of the old file); with a plain path and with a glob that also
//! matches the rotated names. After each sequence the lines counted must equal the lines
//! written, exactly.

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
    Stop,
    Start,
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
        1 => Just(Action::Stop),
        1 => Just(Action::Start),
    ]
}

struct Model {
    dir: tempfile::TempDir,
    /// `access.log`, or `access.log*` (which matches the rotated files too).
    pattern: &'static str,
    writer: File,
    written: u64,
    /// The writer's file was renamed and it has not reopened yet.
    rotated_pending: bool,
    /// The exporter has seen the writer's file (it existed at a poll of a running exporter).
    writer_seen: bool,
    rotations_done: u32,
    /// None while the exporter is stopped.
    server: Option<FileServer>,
    counter: Counter,
    line_no: u64,
}

impl Model {
    fn path(&self) -> PathBuf {
        self.dir.path().join("access.log")
    }

    fn options(&self) -> Options {
        Options {
            patterns: vec![(
                self.dir
                    .path()
                    .join(self.pattern)
                    .display()
                    .to_string()
                    .into(),
                0,
            )],
            from_start: false,
            checkpoint: Some(self.dir.path().join("checkpoint.json")),
            max_line: 1 << 16,
            rotate_wait: Duration::from_secs(3600),
        }
    }

    fn new(pattern: &'static str) -> Model {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        // Lines from before the exporter started are not counted (it starts at the end).
        std::fs::write(&path, b"old line\nold line\n").unwrap();
        let writer = OpenOptions::new().append(true).open(&path).unwrap();
        let mut m = Model {
            dir,
            pattern,
            writer,
            written: 0,
            rotated_pending: false,
            writer_seen: false,
            rotations_done: 0,
            server: None,
            counter: Counter::default(),
            line_no: 0,
        };
        m.apply(&Action::Start);
        m
    }

    fn line(&mut self) -> String {
        self.line_no += 1;
        format!(
            "127.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET /t/{}/ HTTP/1.1\" 200 12 \"-\" \"model\"\n",
            self.line_no
        )
    }

    /// A poll, if the exporter runs.
    fn poll(&mut self) {
        if let Some(server) = &mut self.server {
            server.poll(&mut self.counter);
            if !self.rotated_pending {
                self.writer_seen = true;
            }
        }
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
                self.poll();
                self.writer.write_all(b.as_bytes()).unwrap();
                self.written += 1;
            }
            Action::Poll => self.poll(),
            Action::Rotate if !self.rotated_pending => {
                // logrotate runs rarely: a running exporter has seen the current file by then.
                self.poll();
                // A file created and rotated away while the exporter was down is not in the
                // checkpoint (nor at a path a plain pattern matches): its lines would be lost.
                if !self.writer_seen {
                    return;
                }
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
                    self.writer_seen = false;
                }
            }
            Action::CopyTruncate => {
                // Lines the exporter had not read when the file is truncated are only in the
                // copy; a tailer reads faster than logrotate runs, so let it catch up first. A
                // stopped one cannot: no copytruncate then.
                if self.server.is_some() {
                    self.poll();
                    self.writer.set_len(0).unwrap();
                }
            }
            Action::Restart => {
                self.apply(&Action::Stop);
                self.apply(&Action::Start);
            }
            Action::Stop => {
                // A graceful stop: a last poll, then the checkpoint.
                self.poll();
                if let Some(mut server) = self.server.take() {
                    server.checkpoint();
                }
            }
            Action::Start => {
                if self.server.is_none() {
                    self.server = Some(FileServer::new(self.options()).unwrap());
                    self.poll();
                }
            }
        }
    }
}

fn run_model(pattern: &'static str, actions: &[Action]) -> Model {
    let mut m = Model::new(pattern);
    for a in actions {
        m.apply(a);
    }
    m.apply(&Action::Start);
    m.apply(&Action::Reopen);
    m.poll();
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_line_written_is_counted_exactly_once(
        glob in any::<bool>(),
        actions in proptest::collection::vec(action(), 1..40),
    ) {
        let pattern = if glob { "access.log*" } else { "access.log" };
        let m = run_model(pattern, &actions);
        prop_assert_eq!(m.counter.lines, m.written, "pattern {}, actions: {:?}", pattern, actions);
    }
}

#[test]
fn a_restart_between_a_rotation_and_the_end_of_the_old_file_counts_its_lines_once() {
    use Action::*;
    for pattern in ["access.log", "access.log*"] {
        // Rotated, stopped; nginx writes on to the old file, reopens, writes to the new one.
        let m = run_model(
            pattern,
            &[
                Write(3),
                Rotate,
                Write(2),
                Stop,
                Write(4),
                Reopen,
                Write(1),
                Start,
                Poll,
            ],
        );
        assert_eq!((m.counter.lines, m.written), (10, 10), "{pattern}");
        // Rotated while stopped.
        let m = run_model(
            pattern,
            &[
                Write(3),
                Stop,
                Write(2),
                Rotate,
                Write(4),
                Reopen,
                Write(1),
                Restart,
            ],
        );
        assert_eq!((m.counter.lines, m.written), (10, 10), "{pattern}");
    }
}

#[test]
fn rotation_and_truncation_are_reported() {
    let mut m = Model::new("access.log");
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
        patterns: vec![(dir.path().join("*.log").display().to_string().into(), 0)],
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
