//! The tailer thread's pace: with the polling fallback set to a minute, a line appended to an
//! idle log is counted on its file event, and so is one appended after a burst (the tailer went
//! back from its busy timer to file events). The bounds are generous (seconds, against a
//! minute of polling): they tell event-driven reads from polling without timing them; the
//! benchmark measures the actual freshness.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nginx_log_exporter::tailer::{self, FileServer, Options, Pace, TailEvents};

const LINE: &[u8] =
    b"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 2 \"-\" \"t\"\n";
/// Far longer than any wait below: a line counted before it was read on a file event.
const FALLBACK: Duration = Duration::from_secs(60);
const GENEROUS: Duration = Duration::from_secs(10);

struct Counter(Arc<AtomicU64>);

impl TailEvents for Counter {
    fn lines(&mut self, _source: usize, block: &[u8]) {
        let n = memchr::memchr_iter(b'\n', block).count() as u64;
        self.0.fetch_add(n, Ordering::SeqCst);
    }
    fn too_long(&mut self, _source: usize, _bytes: u64) {
        panic!("no line is too long here");
    }
    fn rotated(&mut self, _path: &Path) {}
    fn truncated(&mut self, _path: &Path) {}
    fn watched(&mut self, _files: &[(PathBuf, u64)]) {}
}

/// Waits until `count` reaches `want`; how long it took, or None after [`GENEROUS`].
fn wait_for(count: &AtomicU64, want: u64) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < GENEROUS {
        let now = count.load(Ordering::SeqCst);
        assert!(now <= want, "counted {now} lines, {want} written");
        if now == want {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

fn append(file: &mut File, lines: usize) {
    file.write_all(&LINE.repeat(lines)).unwrap();
}

#[test]
fn lines_are_read_on_file_events_when_idle_and_again_after_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    std::fs::write(&path, b"").unwrap();
    let server = FileServer::new(Options {
        patterns: vec![(path.display().to_string().into(), 0)],
        from_start: false,
        checkpoint: None,
        max_line: 16 * 1024,
        rotate_wait: Duration::from_secs(10),
    })
    .unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let handle = tailer::spawn(server, Counter(count.clone()), Pace::new(FALLBACK));
    let mut log = OpenOptions::new().append(true).open(&path).unwrap();
    let mut written = 0;

    // Idle: one line.
    std::thread::sleep(Duration::from_millis(100));
    append(&mut log, 1);
    written += 1;
    let first = wait_for(&count, written);
    assert!(
        first.is_some(),
        "a line appended to an idle log was not counted within {GENEROUS:?} (file events \
         (inotify) must work here; the polling fallback is {FALLBACK:?})"
    );

    // A burst in many writes: the tailer polls on its busy timer, counting every line.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) {
        append(&mut log, 50);
        written += 50;
        std::thread::sleep(Duration::from_micros(200));
    }
    assert!(
        wait_for(&count, written).is_some(),
        "the burst was not counted within {GENEROUS:?}"
    );

    // Idle again, long enough for the tailer to put its file watches back: one line.
    std::thread::sleep(Duration::from_millis(500));
    append(&mut log, 1);
    written += 1;
    let after = wait_for(&count, written);
    assert!(
        after.is_some(),
        "after a burst, a line appended to the idle log was not counted within {GENEROUS:?}: \
         the tailer did not go back to file events (the polling fallback is {FALLBACK:?})"
    );
    handle.stop();
    assert_eq!(count.load(Ordering::SeqCst), written);
    eprintln!("counted after {first:?} (idle), {after:?} (after a burst)");
}
