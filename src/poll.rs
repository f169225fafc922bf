//! Waiting: adaptive, bounded polling, and the signal of a cancelled run.
//!
//! Quick at first — a stopped task or finished deployment is noticed within
//! about a second — then backing off gently so a long wait does not flood
//! the API: 1 s for the first 30 s, then growing by a fifth per poll up to
//! 5 s. Never a busy loop: every wait is at least the initial interval.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct PollSchedule {
    pub initial: Duration,
    pub quick_for: Duration,
    pub max: Duration,
    elapsed: Duration,
    current: Duration,
    wait_first: bool,
}

impl Default for PollSchedule {
    fn default() -> Self {
        Self::new(
            Duration::from_secs(1),
            Duration::from_secs(30),
            Duration::from_secs(5),
        )
    }
}

impl PollSchedule {
    pub fn new(initial: Duration, quick_for: Duration, max: Duration) -> Self {
        Self {
            initial,
            quick_for,
            max: max.max(initial),
            elapsed: Duration::ZERO,
            current: initial,
            wait_first: false,
        }
    }

    /// The first poll waits one interval too: for a wait that starts right
    /// after a call whose answer already told the state (RunTask,
    /// UpdateService), an immediate poll would only repeat it.
    pub fn waiting_first(mut self) -> Self {
        self.wait_first = true;
        self
    }

    /// The wait before the first poll: nothing, unless `waiting_first`.
    pub fn first_delay(&mut self) -> Duration {
        if self.wait_first {
            self.next_delay()
        } else {
            Duration::ZERO
        }
    }

    /// The wait before the next poll.
    pub fn next_delay(&mut self) -> Duration {
        let delay = if self.elapsed < self.quick_for {
            self.initial
        } else {
            self.current = (self.current.mul_f64(1.2)).min(self.max);
            self.current
        };
        self.elapsed += delay;
        delay
    }

    /// Back to quick polling (something is changing).
    pub fn reset(&mut self) {
        self.elapsed = Duration::ZERO;
        self.current = self.initial;
    }
}

/// A cancelled workflow run (SIGINT/SIGTERM), listened for from the start of
/// the run so no signal falls between stages. A stage that owns cleanup —
/// the migration task from RunTask on, the deployments from UpdateService
/// on — *arms* it: the signal is then that stage's to handle (stop the task,
/// name the deployments); otherwise the run stops where it is, before
/// anything was started in AWS.
#[derive(Clone)]
pub struct Cancel {
    signal: watch::Receiver<Option<&'static str>>,
    armed: Arc<AtomicUsize>,
}

/// While alive, a signal is left to the stage holding it.
pub struct Armed(Arc<AtomicUsize>);

impl Drop for Armed {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

static CANCEL: OnceLock<Cancel> = OnceLock::new();

impl Cancel {
    /// Starts listening for SIGINT/SIGTERM for the whole process (inside the runtime).
    pub fn install() -> Cancel {
        CANCEL
            .get_or_init(|| {
                let (tx, rx) = watch::channel(None);
                let listening = listen();
                tokio::spawn(async move {
                    let signal = listening.await;
                    let _ = tx.send(Some(signal));
                    // Keep the sender: the value stays readable.
                    std::future::pending::<()>().await;
                });
                Cancel {
                    signal: rx,
                    armed: Arc::default(),
                }
            })
            .clone()
    }

    /// The process's handle, or one that never fires (library use, tests).
    pub fn current() -> Cancel {
        CANCEL.get().cloned().unwrap_or_else(Cancel::never)
    }

    pub fn never() -> Cancel {
        let (tx, rx) = watch::channel(None);
        std::mem::forget(tx);
        Cancel {
            signal: rx,
            armed: Arc::default(),
        }
    }

    pub fn arm(&self) -> Armed {
        self.armed.fetch_add(1, Ordering::SeqCst);
        Armed(self.armed.clone())
    }

    /// Resolves with the signal's name once one came (at once if it already did).
    pub async fn signalled(&self) -> &'static str {
        let mut rx = self.signal.clone();
        loop {
            if let Some(signal) = *rx.borrow_and_update() {
                return signal;
            }
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// The signal, if one came.
    pub fn fired(&self) -> Option<&'static str> {
        *self.signal.borrow()
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

    #[test]
    fn quick_then_backing_off_to_the_bound() {
        let mut s = PollSchedule::default();
        let delays: Vec<Duration> = (0..60).map(|_| s.next_delay()).collect();
        assert!(delays[..30].iter().all(|d| *d == Duration::from_secs(1)));
        assert!(delays[30] > Duration::from_secs(1) && delays[30] < Duration::from_secs(2));
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*delays.last().unwrap(), Duration::from_secs(5));
        let calls_in_first_10_minutes = {
            let mut s = PollSchedule::default();
            let mut t = Duration::ZERO;
            let mut n = 0;
            while t < Duration::from_secs(600) {
                t += s.next_delay();
                n += 1;
            }
            n
        };
        assert!(
            calls_in_first_10_minutes < 150,
            "{calls_in_first_10_minutes} polls in 10 minutes"
        );
        s.reset();
        assert_eq!(s.next_delay(), Duration::from_secs(1));
        assert_eq!(PollSchedule::default().first_delay(), Duration::ZERO);
        let mut w = PollSchedule::default().waiting_first();
        assert_eq!(w.first_delay(), Duration::from_secs(1));
        assert_eq!(w.next_delay(), Duration::from_secs(1));
    }
}
