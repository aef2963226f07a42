//! [`Sleep`], [`sleep`] and [`sleep_until`].

use crate::driver::{self, Shared};
use crate::wheel::Key;
use crate::Instant;
use corio_core::coop;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// Waits until `duration` has elapsed on the current loop's clock.
///
/// Like asyncio's `sleep`, which starts running when awaited, the duration
/// counts from the first poll: that poll fixes the deadline and registers the
/// timer. A sleep created early and awaited later still waits its full
/// duration, and one created outside the loop still reads the loop's
/// (possibly virtual) clock. (tokio counts from creation instead; use
/// [`sleep_until`] for that.)
///
/// `sleep(Duration::ZERO)` never touches the timer wheel or the clock: like
/// asyncio's `sleep(0)` it returns `Pending` exactly once, waking its task at
/// once, and is ready on the next poll. Durations up to [`Duration::MAX`] are
/// accepted (the deadline saturates).
///
/// # Panics
///
/// Polling the returned future panics unless a corio loop's timers are
/// entered on the current thread (see [`Timers::enter`](crate::Timers::enter)).
///
/// # Examples
///
/// ```
/// # corio_timer::doc_support::block_on(async {
/// use std::time::Duration;
///
/// let start = corio_timer::Instant::now();
/// corio_timer::sleep(Duration::from_millis(10)).await;
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// # });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let state = if duration.is_zero() {
        State::YieldOnce
    } else {
        State::After(duration)
    };
    Sleep {
        deadline: Instant::from_nanos(0),
        state,
        timer: None,
    }
}

/// A sleep of `duration` from its first poll that never just yields: a
/// zero duration is ready at once. For [`Timeout`](crate::Timeout).
pub(crate) fn sleep_after(duration: Duration) -> Sleep {
    Sleep {
        deadline: Instant::from_nanos(0),
        state: State::After(duration),
        timer: None,
    }
}

/// Waits until `deadline` on the current loop's clock.
///
/// A deadline that has passed when the future is first polled makes it ready
/// at once, without touching the timer wheel.
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
/// use corio_timer::Instant;
/// use std::time::Duration;
///
/// let deadline = Instant::now() + Duration::from_millis(5);
/// corio_timer::sleep_until(deadline).await;
/// assert!(Instant::now() >= deadline);
/// # });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        state: State::Unregistered,
        timer: None,
    }
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// It never completes before its deadline. With the real clock it completes
/// at the first firing of the loop's timers after the end of the 1 ms tick
/// holding the deadline, so at most one tick plus scheduling delay late.
/// Dropping it cancels its timer in O(1). It is a coop leaf: it completes only
/// while its task has budget left (see [`corio_core::coop`]).
///
/// # Examples
///
/// ```
/// # corio_timer::doc_support::block_on(async {
/// use std::time::Duration;
///
/// let deadline = corio_timer::Instant::now() + Duration::from_millis(1);
/// let sleep = corio_timer::sleep_until(deadline);
/// sleep.await;
/// assert!(corio_timer::Instant::now() >= deadline);
/// # });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    /// Meaningless in the states `After` and `YieldOnce`.
    deadline: Instant,
    state: State,
    /// The driver: set at creation for a bound sleep, else at first poll.
    timer: Option<Arc<Shared>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not polled yet: the deadline is this long after the first poll.
    After(Duration),
    /// Not polled yet: registers (or completes) on the next poll.
    Unregistered,
    /// A zero sleep not polled yet: yields once on the next poll.
    YieldOnce,
    /// Waiting in the wheel.
    Registered(Key),
    /// Completed; stays ready.
    Done,
}

impl Sleep {
    pub(crate) fn bound(timer: Arc<Shared>, deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            state: State::Unregistered,
            timer: Some(timer),
        }
    }

    /// The instant at which the sleep completes.
    ///
    /// For a [`sleep`] not yet polled, whose deadline is not fixed yet, it is
    /// the deadline it would get if it were first polled now.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::Instant;
    ///
    /// let deadline = Instant::now();
    /// assert_eq!(corio_timer::sleep_until(deadline).deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        let now = || {
            self.timer
                .as_ref()
                .map_or_else(Instant::now, |timer| timer.now())
        };
        match self.state {
            State::After(duration) => now() + duration,
            State::YieldOnce => now(),
            State::Unregistered | State::Registered(_) | State::Done => self.deadline,
        }
    }

    /// Moves the deadline, also after the sleep has completed (it becomes
    /// pending again). A registered timer is moved in O(1) and keeps waking
    /// the same task; a deadline that has passed makes it fire at the loop's
    /// next timer firing.
    ///
    /// # Examples
    ///
    /// ```
    /// # corio_timer::doc_support::block_on(async {
    /// use corio_timer::Instant;
    /// use std::time::Duration;
    ///
    /// let mut sleep = Box::pin(corio_timer::sleep(Duration::from_secs(3600)));
    /// let soon = Instant::now() + Duration::from_millis(2);
    /// sleep.as_mut().reset(soon);
    /// sleep.await;
    /// assert!(Instant::now() >= soon);
    /// # });
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        this.state = match (this.state, &this.timer) {
            (State::Registered(key), Some(timer)) => match timer.reset(key, deadline) {
                Some(key) => State::Registered(key),
                None => State::Unregistered,
            },
            _ => State::Unregistered,
        };
    }

    /// Polls without asking the coop budget: `Ready` once the deadline has
    /// been reached.
    pub(crate) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.state {
            State::Done => Poll::Ready(()),
            State::YieldOnce => {
                self.timer();
                self.state = State::Done;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            State::After(duration) => {
                let timer = self.timer();
                let now = timer.now();
                self.deadline = now + duration;
                self.register(now, cx)
            }
            State::Unregistered => {
                let now = self.timer().now();
                self.register(now, cx)
            }
            State::Registered(key) => {
                if self.timer().poll_fired(key, cx.waker()) {
                    self.state = State::Done;
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
        }
    }

    /// Completes at once if the deadline is not after `now`, else registers
    /// the timer.
    fn register(&mut self, now: Instant, cx: &mut Context<'_>) -> Poll<()> {
        if self.deadline <= now {
            self.state = State::Done;
            return Poll::Ready(());
        }
        let deadline = self.deadline;
        let key = self.timer().insert(deadline, cx.waker().clone());
        self.state = State::Registered(key);
        Poll::Pending
    }

    /// Reads the clock of the sleep's driver.
    pub(crate) fn now(&mut self) -> Instant {
        self.timer().now()
    }

    /// Removes the timer from the wheel, if registered.
    pub(crate) fn cancel(&mut self) {
        if let (State::Registered(key), Some(timer)) = (self.state, &self.timer) {
            timer.remove(key);
            self.state = State::Done;
        }
    }

    /// The driver, found through the current thread at first use.
    fn timer(&mut self) -> &Arc<Shared> {
        self.timer.get_or_insert_with(|| {
            driver::current().unwrap_or_else(|| {
                panic!(
                    "a corio timer (sleep, timeout or interval) was polled outside a corio event \
                     loop; it must run inside `corio::run` or a loop whose `Timers` are entered"
                )
            })
        })
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let permit = ready!(coop::poll_proceed(cx));
        let this = self.get_mut();
        ready!(this.poll_elapsed(cx));
        permit.made_progress();
        Poll::Ready(())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
