//! The signal every server of the workspace stops on.

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// A shutdown signal (SIGTERM or Ctrl-C) listened for from the moment it is registered, for
/// several tasks to wait on. Separate [`shutdown_signal`] futures only start listening when
/// first polled, so a signal that comes while a task has not waited yet (just after a process
/// starts serving) is lost to that task and it never stops; every clone of one `Shutdown`
/// sees a signal whenever it came.
#[derive(Clone, Debug)]
pub struct Shutdown(tokio::sync::watch::Receiver<bool>);

impl Shutdown {
    /// Starts listening now (call it inside the runtime, before serving).
    pub fn register() -> std::io::Result<Shutdown> {
        #[cfg(unix)]
        let (mut term, mut interrupt) = {
            use tokio::signal::unix::{SignalKind, signal};
            (
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            )
        };
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            #[cfg(unix)]
            tokio::select! {
                _ = term.recv() => {},
                _ = interrupt.recv() => {},
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
            let _ = tx.send(true);
        });
        Ok(Shutdown(rx))
    }

    /// Resolves once the signal has come (at once if it came already).
    pub async fn wait(self) {
        let mut rx = self.0;
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::Duration;

    use super::Shutdown;

    #[tokio::test]
    async fn a_signal_before_a_task_waits_is_still_seen_by_it() {
        let shutdown = Shutdown::register().unwrap();
        let late = shutdown.clone();
        // SIGTERM to this test process: the handler registered above takes it.
        let pid = std::process::id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        tokio::time::timeout(Duration::from_secs(10), shutdown.wait())
            .await
            .expect("the first waiter sees the signal");
        // A task that begins waiting only now still stops.
        tokio::time::timeout(Duration::from_secs(10), late.wait())
            .await
            .expect("a waiter that came after the signal sees it too");
    }
}
