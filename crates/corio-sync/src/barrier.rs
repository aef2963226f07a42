//! [`Barrier`]: `n` tasks wait for each other (std's `Barrier`, async).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::Locked;
use crate::wait_list::{Removed, Stage, WaitList, Wakers};

/// Lets `n` tasks wait until all of them have arrived (std's `Barrier`):
/// the `n`th `wait` releases the other `n - 1`, and the barrier is then
/// ready for the next round.
///
/// The task whose arrival completes a round is its leader. A `wait` dropped
/// before its round completes withdraws its arrival.
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// use std::sync::Arc;
///
/// let barrier = Arc::new(corio_sync::Barrier::new(3));
/// let tasks: Vec<_> = (0..3)
///     .map(|_| {
///         let barrier = barrier.clone();
///         corio_executor::spawn(async move { barrier.wait().await.is_leader() })
///     })
///     .collect();
/// let mut leaders = 0;
/// for task in tasks {
///     leaders += usize::from(task.await.unwrap());
/// }
/// assert_eq!(leaders, 1);
/// # });
/// ```
#[derive(Debug)]
pub struct Barrier {
    parties: usize,
    state: Locked<BarrierState>,
}

#[derive(Debug)]
struct BarrierState {
    /// How many tasks of the current round have arrived.
    arrived: usize,
    waiters: WaitList<()>,
}

impl Barrier {
    /// Creates a barrier for `parties` tasks (`0` counts as `1`, as in std).
    ///
    /// # Examples
    ///
    /// ```
    /// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
    /// let barrier = corio_sync::Barrier::new(1);
    /// assert!(barrier.wait().await.is_leader());
    /// # });
    /// ```
    pub fn new(parties: usize) -> Barrier {
        Barrier {
            parties: parties.max(1),
            state: Locked::new(BarrierState {
                arrived: 0,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Waits until `parties` tasks are waiting. Dropped before its round
    /// completes, the future withdraws its arrival.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Examples
    ///
    /// ```
    /// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
    /// use std::sync::Arc;
    ///
    /// let barrier = Arc::new(corio_sync::Barrier::new(2));
    /// let other = barrier.clone();
    /// let task = corio_executor::spawn(async move { other.wait().await.is_leader() });
    /// let here = barrier.wait().await.is_leader();
    /// assert!(here != task.await.unwrap(), "exactly one leader per round");
    /// # });
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            stage: Stage::Start,
        }
    }
}

/// The future of [`Barrier::wait`].
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// let barrier = corio_sync::Barrier::new(1);
/// let wait: corio_sync::BarrierWait<'_> = barrier.wait();
/// assert!(wait.await.is_leader());
/// # });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    stage: Stage,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let barrier = self.barrier;
        let mut state = barrier.state.lock();
        match self.stage {
            Stage::Start => {
                state.arrived += 1;
                if state.arrived < barrier.parties {
                    self.stage = Stage::Waiting(state.waiters.push(cx.waker(), ()));
                    return Poll::Pending;
                }
                state.arrived = 0;
                let mut wakers = Wakers::new();
                state.waiters.notify_all(&mut wakers, |()| {});
                drop(state);
                wakers.wake_all();
                self.stage = Stage::Done;
                Poll::Ready(BarrierWaitResult { is_leader: true })
            }
            Stage::Waiting(key) => {
                if state.waiters.poll_take(key, cx.waker()).is_pending() {
                    return Poll::Pending;
                }
                drop(state);
                self.stage = Stage::Done;
                Poll::Ready(BarrierWaitResult { is_leader: false })
            }
            Stage::Done => Stage::polled_after_completion(),
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let Stage::Waiting(key) = self.stage else {
            return;
        };
        let mut state = self.barrier.state.lock();
        if let Removed::Waiting(()) = state.waiters.remove(key) {
            // The round has not completed: withdraw this arrival.
            state.arrived -= 1;
        }
    }
}

/// What [`Barrier::wait`] gives back: whether this task led the round.
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// let result = corio_sync::Barrier::new(1).wait().await;
/// assert!(result.is_leader());
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    is_leader: bool,
}

impl BarrierWaitResult {
    /// Returns whether this task's arrival completed the round; exactly one
    /// task per round is the leader.
    ///
    /// # Examples
    ///
    /// ```
    /// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
    /// assert!(corio_sync::Barrier::new(1).wait().await.is_leader());
    /// # });
    /// ```
    pub fn is_leader(&self) -> bool {
        self.is_leader
    }
}
