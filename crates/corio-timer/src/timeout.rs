//! [`Timeout`], [`timeout`] and [`timeout_at`]: asyncio's `wait_for`.

use crate::sleep::sleep_after;
use crate::{sleep_until, Instant, Sleep};
use corio_core::coop;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The error of a [`Timeout`] whose deadline passed before its future
/// completed.
///
/// # Examples
///
/// ```
/// assert_eq!(corio_timer::TimeoutError.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("deadline has elapsed")]
pub struct TimeoutError;

/// Runs `future` with a time limit of `duration`, like asyncio's
/// `wait_for`: the output of `future` if it completes first, otherwise
/// [`TimeoutError`], and then `future` has been dropped (cancelled).
///
/// As with [`sleep`](crate::sleep), the time limit counts from the first
/// poll.
///
/// The inner future is polled before the deadline is checked, so a future
/// that is ready at once wins even against a zero duration.
///
/// # Panics
///
/// Polling the returned future panics unless a corio loop's timers are
/// entered on the current thread.
///
/// # Examples
///
/// ```
/// # corio_timer::doc_support::block_on(async {
/// use corio_timer::{sleep, timeout, TimeoutError};
/// use std::time::Duration;
///
/// assert_eq!(timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
/// let slow = sleep(Duration::from_secs(3600));
/// assert_eq!(timeout(Duration::from_millis(1), slow).await, Err(TimeoutError));
/// # });
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: Some(future.into_future()),
        sleep: sleep_after(duration),
    }
}

/// Like [`timeout`] with a deadline instead of a duration.
///
/// # Panics
///
/// Polling the returned future panics unless a corio loop's timers are
/// entered on the current thread.
///
/// # Examples
///
/// ```
/// # corio_timer::doc_support::block_on(async {
/// use corio_timer::{timeout_at, Instant};
/// use std::time::Duration;
///
/// let deadline = Instant::now() + Duration::from_secs(1);
/// assert_eq!(timeout_at(deadline, async { "done" }).await, Ok("done"));
/// # });
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: Some(future.into_future()),
        sleep: sleep_until(deadline),
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`]; its output is
    /// `Result<F::Output, TimeoutError>`.
    ///
    /// Dropping it drops the inner future and cancels the timer in O(1).
    /// The deadline is checked even when the inner future used up its task's
    /// coop budget, so a busy inner future cannot outrun its timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// # corio_timer::doc_support::block_on(async {
    /// use std::time::Duration;
    ///
    /// let limited: corio_timer::Timeout<_> = corio_timer::timeout(Duration::from_secs(1), async { 1 });
    /// assert_eq!(limited.await, Ok(1));
    /// # });
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        future: Option<F>,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The instant at which the timeout expires (for a [`timeout`] not yet
    /// polled, the one it would get if first polled now).
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::{timeout_at, Instant};
    ///
    /// let deadline = Instant::now();
    /// assert_eq!(timeout_at(deadline, async {}).deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            panic!("`Timeout` polled after completion");
        };
        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(output) = future.poll(cx) {
            this.future.set(None);
            this.sleep.cancel();
            return Poll::Ready(Ok(output));
        }
        // If the inner future spent the last of the budget, still check the
        // deadline, or a future that always exhausts it would never time out.
        let expired = if had_budget && !coop::has_budget_remaining() {
            this.sleep.poll_elapsed(cx)
        } else {
            Pin::new(&mut *this.sleep).poll(cx)
        };
        if expired.is_pending() {
            return Poll::Pending;
        }
        this.future.set(None);
        Poll::Ready(Err(TimeoutError))
    }
}
