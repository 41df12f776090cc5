//! The tailer's thread and its pace. Idle, it waits for a file event (`notify`, on the
//! directories of the patterns) or the polling interval (the fallback where events do not
//! arrive: NFS, some containers), so a line written after a quiet spell is read at once. A poll
//! that finds new bytes less than a tick ([`Pace::busy_tick`]) after the last one that did
//! switches it to that tick, with the directory watches removed: while lines keep coming it
//! wakes once a tick and reads everything written since in large blocks, instead of once per
//! write, and nginx's writes stop waking the event thread (and cost nginx less: a watched
//! directory's writes each queue an event). The first poll that finds nothing puts the watches
//! back, polls once more (for writes made before the watches were back) and waits for events
//! again. The checkpoint is written at most once a second and once more on stop.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::events::TailEvents;
use super::server::FileServer;

/// When the tailer thread polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// Idle: the longest wait for a file event before polling anyway.
    pub interval: Duration,
    /// While lines keep arriving: the time between two polls. A line written under load is
    /// counted at most about this long after it was written.
    pub busy_tick: Duration,
}

impl Pace {
    /// Polls at least every `interval` when idle, and every [`Pace::DEFAULT_BUSY_TICK`] while
    /// lines keep arriving.
    pub fn new(interval: Duration) -> Pace {
        Pace {
            interval,
            busy_tick: Pace::DEFAULT_BUSY_TICK,
        }
    }

    /// The busy tick the exporter uses (chosen with the live benchmark, see the README).
    pub const DEFAULT_BUSY_TICK: Duration = Duration::from_millis(25);
}

/// A running tailer thread.
pub struct TailerHandle {
    stop: Arc<AtomicBool>,
    wake: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl TailerHandle {
    /// Stops the thread after a last poll and checkpoint, and waits for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.wake.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The directory watches, removed while the tailer is busy.
struct Watches {
    watcher: Option<RecommendedWatcher>,
    dirs: Vec<PathBuf>,
    on: bool,
}

impl Watches {
    fn new(dirs: Vec<PathBuf>, events: mpsc::Sender<()>) -> Watches {
        let watcher = notify::recommended_watcher(move |_res: notify::Result<notify::Event>| {
            let _ = events.send(());
        });
        let mut watches = match watcher {
            Ok(w) => Watches {
                watcher: Some(w),
                dirs,
                on: false,
            },
            Err(e) => {
                tracing::warn!(error = %e, "file events unavailable; polling only");
                Watches {
                    watcher: None,
                    dirs,
                    on: false,
                }
            }
        };
        watches.set(true, true);
        watches
    }

    /// Adds or removes the watches; `first` logs a directory that cannot be watched.
    fn set(&mut self, on: bool, first: bool) {
        let Some(watcher) = &mut self.watcher else {
            return;
        };
        if self.on == on {
            return;
        }
        for dir in &self.dirs {
            if on {
                match watcher.watch(dir, RecursiveMode::NonRecursive) {
                    Err(e) if first => {
                        tracing::warn!(dir = %dir.display(), error = %e, "cannot watch directory; polling only");
                    }
                    Err(e) => {
                        tracing::debug!(dir = %dir.display(), error = %e, "cannot watch directory");
                    }
                    Ok(()) => {}
                }
            } else {
                let _ = watcher.unwatch(dir);
            }
        }
        self.on = on;
    }
}

/// Starts the tailer on its own thread.
pub fn spawn<E: TailEvents + Send + 'static>(
    mut server: FileServer,
    mut events: E,
    pace: Pace,
) -> TailerHandle {
    // The first scan happens before this returns: "start at the end" means the end when the
    // exporter started, not whenever the thread first got scheduled.
    server.poll(&mut events);
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<()>();
    let mut dirs: Vec<PathBuf> = server
        .options
        .patterns
        .iter()
        .map(|(p, _)| p.watched_dir())
        .collect();
    dirs.sort();
    dirs.dedup();
    let thread_stop = stop.clone();
    let event_tx = tx.clone();
    let thread = std::thread::Builder::new()
        .name("tailer".into())
        .spawn(move || {
            let mut watches = Watches::new(dirs, event_tx);
            let mut last_checkpoint = Instant::now();
            let mut busy = false;
            let mut last_read: Option<Instant> = None;
            loop {
                let read = server.poll(&mut events);
                if thread_stop.load(Ordering::SeqCst) {
                    server.checkpoint();
                    break;
                }
                if last_checkpoint.elapsed() >= Duration::from_secs(1) {
                    server.checkpoint();
                    last_checkpoint = Instant::now();
                }
                let now = Instant::now();
                if read > 0 {
                    let previous = last_read.replace(now);
                    if !busy && previous.is_some_and(|p| now - p < pace.busy_tick) {
                        // Lines again within a tick: they keep arriving.
                        busy = true;
                        watches.set(false, false);
                        while rx.try_recv().is_ok() {}
                    }
                }
                if read > 0 && busy {
                    // Wakes early only to stop.
                    match rx.recv_timeout(pace.busy_tick) {
                        Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                    continue;
                }
                if busy {
                    // Idle again: events back on, then one more poll for what was written
                    // before they were.
                    busy = false;
                    watches.set(true, false);
                    while rx.try_recv().is_ok() {}
                    continue;
                }
                match rx.recv_timeout(pace.interval) {
                    // Coalesce a burst of events into one poll.
                    Ok(()) => while rx.try_recv().is_ok() {},
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        })
        .expect("spawn the tailer thread");
    TailerHandle {
        stop,
        wake: tx,
        thread: Some(thread),
    }
}
