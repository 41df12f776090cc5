//! The tailer's thread: polls on file events (`notify`, on the directories of the patterns)
//! and on an interval (the fallback where events do not arrive: NFS, some containers), writes
//! the checkpoint at most once a second and once more on stop.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

use super::events::TailEvents;
use super::server::FileServer;

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

/// Starts the tailer on its own thread.
pub fn spawn<E: TailEvents + Send + 'static>(
    mut server: FileServer,
    mut events: E,
    interval: Duration,
) -> TailerHandle {
    // The first scan happens before this returns: "start at the end" means the end when the
    // exporter started, not whenever the thread first got scheduled.
    server.poll(&mut events);
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<()>();
    let dirs: Vec<PathBuf> = server
        .options
        .patterns
        .iter()
        .map(|(p, _)| p.watched_dir())
        .collect();
    let thread_stop = stop.clone();
    let event_tx = tx.clone();
    let thread = std::thread::Builder::new()
        .name("tailer".into())
        .spawn(move || {
            let watcher = notify::recommended_watcher(move |_res: notify::Result<notify::Event>| {
                let _ = event_tx.send(());
            });
            let _watcher = match watcher {
                Ok(mut w) => {
                    for dir in &dirs {
                        if let Err(e) = w.watch(dir, RecursiveMode::NonRecursive) {
                            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch directory; polling only");
                        }
                    }
                    Some(w)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "file events unavailable; polling only");
                    None
                }
            };
            let mut last_checkpoint = Instant::now();
            loop {
                server.poll(&mut events);
                if thread_stop.load(Ordering::SeqCst) {
                    server.checkpoint();
                    break;
                }
                if last_checkpoint.elapsed() >= Duration::from_secs(1) {
                    server.checkpoint();
                    last_checkpoint = Instant::now();
                }
                match rx.recv_timeout(interval) {
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
