//! A cancelled workflow run (SIGINT/SIGTERM), listened for from the start of
//! the run so no signal falls between stages. A stage that owns cleanup —
//! the migration task from RunTask on, the deployments from UpdateService
//! on — *arms* it: the signal is then that stage's to handle (stop the task,
//! name the deployments); otherwise the run stops where it is, before
//! anything was started in AWS.
//!
//! One handle per run, carried by the run context: a
//! [`CancellationToken`] and the name of the signal that cancelled it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

#[derive(Clone, Default)]
pub struct Cancel {
    token: CancellationToken,
    signal: Arc<OnceLock<&'static str>>,
    armed: Arc<AtomicUsize>,
}

/// While alive, a signal is left to the stage holding it.
pub struct Armed(Arc<AtomicUsize>);

impl Drop for Armed {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Cancel {
    /// Cancelled by the process's first SIGINT or SIGTERM (call inside the
    /// runtime: the handlers are registered at once).
    pub fn on_signals() -> Self {
        let cancel = Self::default();
        let listening = listen();
        let fire = cancel.clone();
        tokio::spawn(async move { fire.cancel(listening.await) });
        cancel
    }

    /// Cancels the run, naming why (the signal).
    pub fn cancel(&self, signal: &'static str) {
        let _ = self.signal.set(signal);
        self.token.cancel();
    }

    pub fn arm(&self) -> Armed {
        self.armed.fetch_add(1, Ordering::SeqCst);
        Armed(self.armed.clone())
    }

    /// Resolves with the signal's name once the run is cancelled (at once if it already is).
    pub async fn signalled(&self) -> &'static str {
        self.token.cancelled().await;
        self.fired().unwrap_or("cancelled")
    }

    /// The signal, if one came.
    pub fn fired(&self) -> Option<&'static str> {
        self.signal.get().copied()
    }

    /// Resolves on a signal while no stage is armed.
    pub async fn unarmed(&self) -> &'static str {
        let signal = self.signalled().await;
        while self.armed.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        signal
    }
}

/// Registers for SIGINT and SIGTERM now; the future resolves on the first.
fn listen() -> impl std::future::Future<Output = &'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            let (Ok(mut term), Ok(mut int)) = (term, int) else {
                return std::future::pending().await;
            };
            tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            }
        }
    }
    #[cfg(not(unix))]
    async move {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_signal_goes_to_the_armed_stage_first_then_stops_the_run() {
        let cancel = Cancel::default();
        assert_eq!(cancel.fired(), None);
        let armed = cancel.arm();
        cancel.cancel("SIGTERM");
        assert_eq!(cancel.signalled().await, "SIGTERM");
        let unarmed = tokio::spawn({
            let cancel = cancel.clone();
            async move { cancel.unarmed().await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!unarmed.is_finished(), "the armed stage handles it");
        drop(armed);
        assert_eq!(unarmed.await.unwrap(), "SIGTERM");
        cancel.cancel("SIGINT");
        assert_eq!(
            cancel.fired(),
            Some("SIGTERM"),
            "the first signal is the one named"
        );
    }
}
