//! `wait` and `wait_with_deadline`: asyncio's `wait` over task handles.
//!
//! # Implementation
//!
//! Each task gets its own waker from a [`ReadyList`](super::ready), as the
//! futures of `gather` do, registered as the task's join waker by
//! [`Task::poll_done`], which sees the task finish without taking its
//! output. A poll of [`Wait`] looks only at the tasks that woke since it last
//! looked, then at the deadline future. The handles it returns are the ones
//! it was given: a finished task's output is still in it, and awaiting the
//! handle yields it at once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use corio_core::Task;

use super::ready::ReadyList;

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`).
///
/// # Examples
///
/// ```
/// use corio_sync::ReturnWhen;
///
/// assert_ne!(ReturnWhen::FirstCompleted, ReturnWhen::AllCompleted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any task has finished, in any way.
    FirstCompleted,
    /// As soon as any task has finished by panicking, or when every task has
    /// finished. A cancelled task is not an exception (as in asyncio).
    FirstException,
    /// When every task has finished.
    AllCompleted,
}

/// Waits for the tasks to finish as `when` says, and returns them split into
/// `(done, pending)` (asyncio's `wait`).
///
/// Nothing is cancelled: the pending tasks keep running, and every handle is
/// returned un-awaited, so `done` tasks give their output at once when
/// awaited. `done` holds the tasks in the order `wait` saw them finish (those
/// that had finished before its first poll in the order given), then any that
/// finished unseen before it returned, in the order given; `pending` keeps the
/// order given. With no tasks it returns two empty vectors at once.
///
/// # Examples
///
/// ```
/// use corio_sync::{wait, Event, ReturnWhen};
/// use std::sync::Arc;
///
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// event_loop.run_until_complete(async {
///     let release = Arc::new(Event::new());
///     let waiting = release.clone();
///     let slow = corio_executor::spawn(async move { waiting.wait().await; "slow" });
///     let fast = corio_executor::spawn(async { "fast" });
///     let (done, pending) = wait(vec![slow, fast], ReturnWhen::FirstCompleted).await;
///     assert_eq!((done.len(), pending.len()), (1, 1));
///     for task in done {
///         assert_eq!(task.await.unwrap(), "fast");
///     }
///     release.set();
///     for task in pending {
///         assert_eq!(task.await.unwrap(), "slow"); // it was not cancelled
///     }
/// });
/// ```
pub fn wait<T>(tasks: Vec<Task<T>>, when: ReturnWhen) -> Wait<T> {
    wait_with_deadline(tasks, when, std::future::pending())
}

/// Like [`wait`], but also returns when `deadline` completes: then `done`
/// holds the tasks that finished so far and `pending` the rest, which keep
/// running. Any future can be the deadline, a runtime's sleep for instance;
/// the corio facade's `wait_timeout(tasks, when, duration)` passes its own
/// timer's.
///
/// # Examples
///
/// ```
/// use corio_sync::{wait_with_deadline, Event, ReturnWhen};
/// use std::sync::Arc;
///
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// event_loop.run_until_complete(async {
///     let stop = Arc::new(Event::new());
///     let stuck = corio_executor::spawn(std::future::pending::<()>());
///     let stopper = stop.clone();
///     let deadline = async move { stop.wait().await };
///     corio_executor::spawn(async move { stopper.set() }).detach();
///     let (done, pending) =
///         wait_with_deadline(vec![stuck], ReturnWhen::AllCompleted, deadline).await;
///     assert_eq!((done.len(), pending.len()), (0, 1));
///     assert!(!pending[0].is_done()); // still running, not cancelled
/// });
/// ```
pub fn wait_with_deadline<T, D>(tasks: Vec<Task<T>>, when: ReturnWhen, deadline: D) -> Wait<T, D>
where
    D: Future<Output = ()>,
{
    let len = tasks.len();
    Wait {
        tasks: tasks.into_iter().map(Some).collect(),
        done: Vec::new(),
        ready: ReadyList::new(len),
        when,
        saw_panic: false,
        finished: false,
        deadline,
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`wait`] and [`wait_with_deadline`]; `D` is
    /// the deadline future (none for `wait`).
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_sync::{wait, ReturnWhen, Wait};
    ///
    /// let nothing: Wait<u8> = wait(Vec::new(), ReturnWhen::AllCompleted);
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let (done, pending) = event_loop.run_until_complete(nothing);
    /// assert!(done.is_empty() && pending.is_empty());
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Wait<T, D = std::future::Pending<()>> {
        // Each task until `wait` sees it finish, in the order given.
        tasks: Vec<Option<Task<T>>>,
        // The finished tasks, in the order `wait` saw them finish.
        done: Vec<Task<T>>,
        ready: ReadyList,
        when: ReturnWhen,
        saw_panic: bool,
        finished: bool,
        #[pin]
        deadline: D,
    }
}

impl<T, D: Future<Output = ()>> Future for Wait<T, D> {
    type Output = (Vec<Task<T>>, Vec<Task<T>>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        assert!(!*this.finished, "`Wait` polled after it returned");
        this.ready.start_poll(cx);
        while let Some((index, waker)) = this.ready.next_woken(cx) {
            let Some(task) = &mut this.tasks[index] else {
                continue;
            };
            if task.poll_done(&mut Context::from_waker(waker)).is_pending() {
                continue;
            }
            *this.saw_panic |= task.is_panicked();
            this.done.extend(this.tasks[index].take());
        }
        let all_done = this.done.len() == this.tasks.len();
        let condition_met = match this.when {
            ReturnWhen::FirstCompleted => !this.done.is_empty() || all_done,
            ReturnWhen::FirstException => *this.saw_panic || all_done,
            ReturnWhen::AllCompleted => all_done,
        };
        if !condition_met && this.deadline.poll(cx).is_pending() {
            return Poll::Pending;
        }
        *this.finished = true;
        this.ready.finish();
        let mut done = std::mem::take(this.done);
        let mut pending = Vec::with_capacity(this.tasks.len() - done.len());
        for task in this.tasks.drain(..).flatten() {
            if task.is_done() {
                done.push(task);
            } else {
                pending.push(task);
            }
        }
        Poll::Ready((done, pending))
    }
}
