//! [`Event`]: a flag that tasks wait on (asyncio's `Event`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::Locked;
use crate::wait_list::{Stage, WaitList, Wakers};

/// A flag that tasks can wait on (asyncio's `Event`): `set` wakes every
/// waiter, and `wait` returns at once while the flag is set.
///
/// A waiter that `set` woke returns even if the flag is cleared again before
/// it runs. Waiters are woken in arrival order.
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// let event = corio_sync::Event::new();
/// assert!(!event.is_set());
/// event.set();
/// event.wait().await; // returns at once: the flag is set
/// event.clear();
/// assert!(!event.is_set());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct Event {
    state: Locked<EventState>,
}

#[derive(Debug, Default)]
struct EventState {
    set: bool,
    waiters: WaitList<()>,
}

impl Event {
    /// Creates an event whose flag is clear.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!corio_sync::Event::new().is_set());
    /// ```
    pub fn new() -> Event {
        Event::default()
    }

    /// Sets the flag and wakes every waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = corio_sync::Event::new();
    /// event.set();
    /// assert!(event.is_set());
    /// ```
    pub fn set(&self) {
        let mut wakers = Wakers::new();
        let mut state = self.state.lock();
        state.set = true;
        state.waiters.notify_all(&mut wakers, |()| {});
        drop(state);
        wakers.wake_all();
    }

    /// Clears the flag; later `wait`s wait for the next `set`.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = corio_sync::Event::new();
    /// event.set();
    /// event.clear();
    /// assert!(!event.is_set());
    /// ```
    pub fn clear(&self) {
        self.state.lock().set = false;
    }

    /// Returns whether the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = corio_sync::Event::new();
    /// event.set();
    /// assert!(event.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.state.lock().set
    }

    /// Waits until the flag is set (returns at once if it is).
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Examples
    ///
    /// ```
    /// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
    /// let event = std::sync::Arc::new(corio_sync::Event::new());
    /// let setter = event.clone();
    /// let task = corio_executor::spawn(async move { setter.set() });
    /// event.wait().await;
    /// # task.await.unwrap();
    /// # });
    /// ```
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            stage: Stage::Start,
        }
    }
}

/// The future of [`Event::wait`].
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// let event = corio_sync::Event::new();
/// event.set();
/// let wait: corio_sync::EventWait<'_> = event.wait();
/// wait.await;
/// # });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a> {
    event: &'a Event,
    stage: Stage,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.event.state.lock();
        match self.stage {
            Stage::Start => {
                if state.set {
                    drop(state);
                    self.stage = Stage::Done;
                    return Poll::Ready(());
                }
                let key = state.waiters.push(cx.waker(), ());
                drop(state);
                self.stage = Stage::Waiting(key);
                Poll::Pending
            }
            Stage::Waiting(key) => {
                if state.waiters.poll_take(key, cx.waker()).is_pending() {
                    return Poll::Pending;
                }
                drop(state);
                self.stage = Stage::Done;
                Poll::Ready(())
            }
            Stage::Done => Stage::polled_after_completion(),
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Stage::Waiting(key) = self.stage {
            // Every waiter is woken by `set`, so a dropped one has nothing to
            // pass on.
            let _removed = self.event.state.lock().waiters.remove(key);
        }
    }
}
