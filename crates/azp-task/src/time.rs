//! Time, injectable: the one place that reads the system clock or sleeps.
//!
//! Credential expiry, token age, retry budgets and backoff all ask a
//! [`Clock`]. Tasks use [`SystemClock`]; tests use [`ManualClock`], which
//! moves only when told to or when something sleeps on it, so a test of a
//! two-hour session or of five retries with backoff takes no real time.
//! clippy's `disallowed-methods` refuses `SystemTime::now` and
//! `Instant::now` everywhere else.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A pending sleep.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The time, and waiting for it to pass.
pub trait Clock: Send + Sync + Debug {
    /// Now (UTC).
    fn now(&self) -> SystemTime;

    /// Wait `duration`. The system clock sleeps on the async runtime; a
    /// manual clock moves itself forward at once.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The system clock and the runtime's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the wall clock
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    #[allow(clippy::disallowed_methods)] // the one sanctioned wait on the runtime's timer
    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A monotonic stopwatch, for measuring (benchmarks, the demo's step times);
/// never for decisions a test would need to control.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    /// Started now.
    #[must_use]
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the monotonic clock
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }

    /// The time since [`Stopwatch::start`].
    #[must_use]
    #[allow(clippy::disallowed_methods)]
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// A clock tests move by hand. Sleeping on it returns at once, moves it
/// forward by the duration, and is recorded, so tests can check a backoff
/// schedule without waiting for it.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
    slept: Arc<Mutex<Vec<Duration>>>,
}

impl ManualClock {
    /// A clock showing `start`.
    #[must_use]
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
            slept: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += by;
    }

    /// Every sleep so far, in order.
    #[must_use]
    pub fn slept(&self) -> Vec<Duration> {
        self.slept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.advance(duration);
        self.slept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// Exponential backoff with "equal jitter": the delay before attempt
/// `n + 1` is half of `min(base × 2^(n−1), max)` plus a random part of the
/// other half, so that many jobs failing together do not retry in lockstep
/// (the AWS Architecture Blog's "Exponential Backoff And Jitter").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The delay before the second attempt, before jitter; it doubles each time.
    pub base_delay: Duration,
    /// Upper bound of one delay, before jitter.
    pub max_delay: Duration,
}

impl Backoff {
    /// The delay before attempt `attempt + 1`; `attempt` counts from 1.
    #[must_use]
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = exp.min(self.max_delay);
        capped / 2 + capped.mul_f64(fastrand::f64() / 2.0)
    }

    /// Whether attempt `attempt` (counting from 1) may be followed by another.
    #[must_use]
    pub fn allows_another(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_jittered_and_capped() {
        let b = Backoff {
            max_attempts: 6,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(30),
        };
        for _ in 0..50 {
            let d1 = b.delay(1);
            assert!(
                d1 >= Duration::from_secs(1) && d1 <= Duration::from_secs(2),
                "{d1:?}"
            );
            let d3 = b.delay(3);
            assert!(
                d3 >= Duration::from_secs(4) && d3 <= Duration::from_secs(8),
                "{d3:?}"
            );
            let d9 = b.delay(9);
            assert!(
                d9 >= Duration::from_secs(15) && d9 <= Duration::from_secs(30),
                "{d9:?}"
            );
        }
        assert!(b.allows_another(5));
        assert!(!b.allows_another(6));
    }

    #[tokio::test]
    async fn a_manual_clock_moves_when_slept_on() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let c = ManualClock::new(start);
        c.sleep(Duration::from_secs(3)).await;
        c.advance(Duration::from_secs(2));
        assert_eq!(c.now(), start + Duration::from_secs(5));
        assert_eq!(c.slept(), vec![Duration::from_secs(3)]);
    }
}
