//! [`Condition`]: std's `Condvar`, async, for corio's [`Mutex`].
//!
//! [`Mutex`]: crate::Mutex

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::Locked;
use crate::mutex::{Lock, Mutex, MutexGuard};
use crate::wait_list::{Key, Removed, WaitList, Wakers};

/// A condition variable (asyncio's `Condition` with the shape of std's
/// `Condvar`): `wait(guard).await` unlocks the guard's [`Mutex`], waits for a
/// notification, locks the mutex again and gives the guard back.
///
/// A condition works with the guard of any corio `Mutex`, as std's `Condvar`
/// does; use it with one mutex at a time. Notifications go to waiters in
/// arrival order; a woken waiter then queues for the mutex like any other
/// task. A `wait` dropped after it was notified, before it returned, passes
/// the notification on to the next waiter, which makes rare spurious wake-ups
/// possible: check the condition in a loop, as with std's `Condvar`.
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// use std::sync::Arc;
/// use corio_sync::{Condition, Mutex};
///
/// let pair = Arc::new((Mutex::new(false), Condition::new()));
/// let other = pair.clone();
/// let task = corio_executor::spawn(async move {
///     let (ready, condition) = &*other;
///     *ready.lock().await = true;
///     condition.notify_one();
/// });
/// let (ready, condition) = &*pair;
/// let mut guard = ready.lock().await;
/// while !*guard {
///     guard = condition.wait(guard).await;
/// }
/// # drop(guard);
/// # task.await.unwrap();
/// # });
/// ```
#[derive(Debug, Default)]
pub struct Condition {
    waiters: Locked<WaitList<()>>,
}

impl Condition {
    /// Creates a condition with no waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// let condition = corio_sync::Condition::new();
    /// condition.notify_all(); // nobody waits: nothing happens
    /// ```
    pub fn new() -> Condition {
        Condition::default()
    }

    /// Unlocks `guard`'s mutex, waits for a notification, then locks the
    /// mutex again and returns its guard.
    ///
    /// The future takes its place among the waiters when first polled,
    /// before it unlocks the mutex, so a notification sent by the next holder
    /// of the lock is never missed.
    ///
    /// # Examples
    ///
    /// ```
    /// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
    /// use std::sync::Arc;
    /// use corio_sync::{Condition, Mutex};
    ///
    /// let state = Arc::new((Mutex::new(0), Condition::new()));
    /// let other = state.clone();
    /// let task = corio_executor::spawn(async move {
    ///     *other.0.lock().await = 7;
    ///     other.1.notify_all();
    /// });
    /// let mut guard = state.0.lock().await;
    /// while *guard == 0 {
    ///     guard = state.1.wait(guard).await;
    /// }
    /// assert_eq!(*guard, 7);
    /// # drop(guard);
    /// # task.await.unwrap();
    /// # });
    /// ```
    pub fn wait<'a, T>(&'a self, guard: MutexGuard<'a, T>) -> ConditionWait<'a, T> {
        ConditionWait {
            condition: self,
            stage: WaitStage::Start(guard),
        }
    }

    /// Wakes the oldest waiter, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// let condition = corio_sync::Condition::new();
    /// condition.notify_one(); // nobody waits: the notification is not kept
    /// ```
    pub fn notify_one(&self) {
        let notified = self.waiters.lock().notify_front().map(|(waker, ())| waker);
        if let Some(waker) = notified {
            waker.wake();
        }
    }

    /// Wakes every waiter, oldest first.
    ///
    /// # Examples
    ///
    /// ```
    /// let condition = corio_sync::Condition::new();
    /// condition.notify_all();
    /// ```
    pub fn notify_all(&self) {
        let mut wakers = Wakers::new();
        self.waiters.lock().notify_all(&mut wakers, |()| {});
        wakers.wake_all();
    }
}

/// The future of [`Condition::wait`]; gives the guard back.
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// let mutex = corio_sync::Mutex::new(());
/// let condition = corio_sync::Condition::new();
/// let wait: corio_sync::ConditionWait<'_, ()> = condition.wait(mutex.lock().await);
/// drop(wait); // never polled: the guard is dropped with it, unlocking
/// assert!(mutex.try_lock().is_ok());
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct ConditionWait<'a, T> {
    condition: &'a Condition,
    stage: WaitStage<'a, T>,
}

enum WaitStage<'a, T> {
    /// Not polled yet: still holding the lock.
    Start(MutexGuard<'a, T>),
    /// Among the condition's waiters, the mutex unlocked.
    Waiting { mutex: &'a Mutex<T>, key: Key },
    /// Notified, locking the mutex again.
    Relocking(Lock<'a, T>),
    /// The guard was given back.
    Done,
}

impl<'a, T> Future for ConditionWait<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let condition = self.condition;
        loop {
            match std::mem::replace(&mut self.stage, WaitStage::Done) {
                WaitStage::Start(guard) => {
                    let key = condition.waiters.lock().push(cx.waker(), ());
                    let mutex = guard.mutex();
                    self.stage = WaitStage::Waiting { mutex, key };
                    // Unlocking may hand the lock to another task, which may
                    // notify at once: this waiter is already in the list.
                    drop(guard);
                    return Poll::Pending;
                }
                WaitStage::Waiting { mutex, key } => {
                    let notified = condition.waiters.lock().poll_take(key, cx.waker());
                    if notified.is_pending() {
                        self.stage = WaitStage::Waiting { mutex, key };
                        return Poll::Pending;
                    }
                    self.stage = WaitStage::Relocking(mutex.lock());
                }
                WaitStage::Relocking(mut lock) => {
                    if let Poll::Ready(guard) = Pin::new(&mut lock).poll(cx) {
                        return Poll::Ready(guard);
                    }
                    self.stage = WaitStage::Relocking(lock);
                    return Poll::Pending;
                }
                WaitStage::Done => crate::wait_list::Stage::polled_after_completion(),
            }
        }
    }
}

impl<T> Drop for ConditionWait<'_, T> {
    fn drop(&mut self) {
        let notified = match std::mem::replace(&mut self.stage, WaitStage::Done) {
            WaitStage::Waiting { key, .. } => {
                let removed = self.condition.waiters.lock().remove(key);
                matches!(removed, Removed::Notified(()))
            }
            // Notified, but the notification was never acted on.
            WaitStage::Relocking(_) => true,
            WaitStage::Start(_) | WaitStage::Done => false,
        };
        if notified {
            self.condition.notify_one();
        }
    }
}

impl<T> std::fmt::Debug for ConditionWait<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConditionWait").finish_non_exhaustive()
    }
}
