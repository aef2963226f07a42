//! [`Interval`], [`interval`] and [`interval_at`].

use crate::sleep::sleep_after;
use crate::{sleep_until, Instant, Sleep};
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// Ticks every `period`, the first tick at once: the schedule starts at the
/// first poll, as [`sleep`](crate::sleep)'s duration does.
///
/// # Panics
///
/// Panics if `period` is zero.
///
/// # Examples
///
/// ```
/// # corio_timer::doc_support::block_on(async {
/// use std::time::Duration;
///
/// let mut interval = corio_timer::interval(Duration::from_millis(2));
/// let first = interval.tick().await; // at once
/// let second = interval.tick().await;
/// assert_eq!(second - first, Duration::from_millis(2));
/// # });
/// ```
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "an interval's period must be non-zero");
    Interval {
        period,
        sleep: sleep_after(Duration::ZERO),
    }
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
///
/// Panics if `period` is zero.
///
/// # Examples
///
/// ```
/// # corio_timer::doc_support::block_on(async {
/// use corio_timer::Instant;
/// use std::time::Duration;
///
/// let start = Instant::now() + Duration::from_millis(3);
/// let mut interval = corio_timer::interval_at(start, Duration::from_secs(1));
/// assert_eq!(interval.tick().await, start);
/// # });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "an interval's period must be non-zero");
    Interval {
        period,
        sleep: sleep_until(start),
    }
}

/// A stream of ticks at `start + k * period`, from [`interval`] or
/// [`interval_at`].
///
/// Missed ticks are **skipped**: when a tick is taken late by more than a
/// period, the next tick is the first one of the schedule that is still
/// ahead, not a burst of catch-up ticks. Ticks stay aligned to
/// `start + k * period`.
///
/// # Examples
///
/// ```
/// # corio_timer::doc_support::block_on(async {
/// use std::time::Duration;
///
/// let mut interval = corio_timer::interval(Duration::from_millis(1));
/// for _ in 0..3 {
///     interval.tick().await;
/// }
/// assert_eq!(interval.period(), Duration::from_millis(1));
/// # });
/// ```
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    /// Sleeps until the next tick; its deadline is that tick.
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// Cancel-safe: dropping the future before it completes loses no tick.
    ///
    /// # Panics
    ///
    /// Panics unless a corio loop's timers are entered on the current
    /// thread.
    ///
    /// # Examples
    ///
    /// See [`interval`].
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; `Ready` with its scheduled instant.
    ///
    /// # Panics
    ///
    /// Panics unless a corio loop's timers are entered on the current
    /// thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # corio_timer::doc_support::block_on(async {
    /// use std::time::Duration;
    ///
    /// let mut interval = corio_timer::interval(Duration::from_millis(1));
    /// let tick = std::future::poll_fn(|cx| interval.poll_tick(cx)).await;
    /// assert!(tick <= corio_timer::Instant::now());
    /// # });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.sleep).poll(cx));
        let tick = self.sleep.deadline();
        let now = self.sleep.now().max(tick);
        let period = self.period.as_nanos();
        let missed = (now - tick).as_nanos() / period;
        let next = u128::from(tick.as_nanos()) + period * (missed + 1);
        let next = Instant::from_nanos(u64::try_from(next).unwrap_or(u64::MAX));
        Pin::new(&mut self.sleep).reset(next);
        Poll::Ready(tick)
    }

    /// The time between ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let interval = corio_timer::interval(Duration::from_secs(5));
    /// assert_eq!(interval.period(), Duration::from_secs(5));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}
