//! Waiting: adaptive, bounded polling.
//!
//! Quick at first — a stopped task or finished deployment is noticed within
//! about a second — then backing off gently so a long wait does not flood
//! the API: 1 s for the first 30 s, then growing by a fifth per poll up to
//! 5 s. Never a busy loop: every wait is at least the initial interval.

use std::time::Duration;

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
