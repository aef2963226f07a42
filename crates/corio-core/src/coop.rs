//! Cooperative scheduling budget.
//!
//! A task whose awaits are always ready (a socket that always has data, a
//! channel that is never empty) would otherwise never return to its executor
//! and starve every other task on the loop. Executors run each poll inside
//! [`with_budget`]; corio's leaf futures (timers, sockets, queues, promises)
//! call [`poll_proceed`] before doing work and [`Permit::made_progress`] when
//! they complete. Once a task has completed [`BUDGET`] leaf operations in one
//! poll, every further leaf returns `Pending` once and wakes its task, which
//! goes to the back of the ready queue.
//!
//! Outside [`with_budget`] (a future polled by some other executor) the budget
//! is unlimited, so corio's futures never spin there.

use std::cell::Cell;
use std::task::{Context, Poll};

/// The number of leaf operations a task may complete in one poll.
///
/// ```
/// assert_eq!(corio_core::coop::BUDGET, 128);
/// ```
pub const BUDGET: u8 = 128;

thread_local! {
    // `None` means unconstrained (not inside `with_budget`).
    static REMAINING: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Runs `f` with a fresh budget of [`BUDGET`] leaf operations, restoring the
/// previous budget afterwards.
///
/// # Examples
///
/// ```
/// use corio_core::coop;
///
/// assert!(coop::has_budget_remaining());
/// coop::with_budget(|| assert!(coop::has_budget_remaining()));
/// ```
pub fn with_budget<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u8>);
    impl Drop for Restore {
        fn drop(&mut self) {
            REMAINING.with(|cell| cell.set(self.0));
        }
    }
    let _restore = Restore(REMAINING.with(|cell| cell.replace(Some(BUDGET))));
    f()
}

/// Returns `true` when a leaf future may still complete in the current poll.
///
/// # Examples
///
/// ```
/// assert!(corio_core::coop::has_budget_remaining());
/// ```
pub fn has_budget_remaining() -> bool {
    REMAINING.with(|cell| cell.get() != Some(0))
}

/// Asks for permission to do one leaf operation.
///
/// Returns `Poll::Pending`, after waking the task so that it is polled again
/// later, when the task has used up its budget for this poll.
///
/// # Examples
///
/// ```
/// use corio_core::coop;
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
///
/// struct AlwaysReady;
///
/// impl Future for AlwaysReady {
///     type Output = ();
///     fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
///         let permit = std::task::ready!(coop::poll_proceed(cx));
///         permit.made_progress();
///         Poll::Ready(())
///     }
/// }
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<Permit> {
    REMAINING.with(|cell| match cell.get() {
        None => Poll::Ready(Permit { charged: false }),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            cell.set(Some(n - 1));
            Poll::Ready(Permit { charged: true })
        }
    })
}

/// Permission for one leaf operation, returned by [`poll_proceed`].
///
/// Dropping it without calling [`Permit::made_progress`] gives the unit of
/// budget back: a leaf that returns `Pending` costs nothing.
///
/// # Examples
///
/// See [`poll_proceed`].
#[derive(Debug)]
#[must_use = "dropping the permit refunds the budget; call made_progress when the operation completed"]
pub struct Permit {
    charged: bool,
}

impl Permit {
    /// Keeps the unit of budget spent: the operation completed.
    ///
    /// # Examples
    ///
    /// See [`poll_proceed`].
    pub fn made_progress(mut self) {
        self.charged = false;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.charged {
            REMAINING.with(|cell| {
                if let Some(n) = cell.get() {
                    cell.set(Some(n.saturating_add(1)));
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corio_test_support::{counting_waker, noop_waker};

    #[test]
    fn budget_runs_out_after_budget_completions_and_wakes_the_task() {
        let (waker, wakes) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        with_budget(|| {
            for _ in 0..BUDGET {
                match poll_proceed(&mut cx) {
                    Poll::Ready(permit) => permit.made_progress(),
                    Poll::Pending => panic!("budget ran out early"),
                }
            }
            assert!(poll_proceed(&mut cx).is_pending());
            assert_eq!(wakes.count(), 1);
        });
        // Outside the executor's budget scope the budget is unlimited again.
        assert!(poll_proceed(&mut cx).is_ready());
    }

    #[test]
    fn a_dropped_permit_is_refunded() {
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        with_budget(|| {
            for _ in 0..1000 {
                let Poll::Ready(permit) = poll_proceed(&mut cx) else {
                    panic!("refunded permits must not exhaust the budget");
                };
                drop(permit);
            }
        });
    }
}
