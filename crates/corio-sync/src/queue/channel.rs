//! The machinery shared by the three queue types, and their futures.
//!
//! # Protocol
//!
//! One lock guards the items, the three waiter lists (getters, putters,
//! `join`ers) and the counters. Items are handed over directly:
//!
//! - A new item goes to the oldest waiting getter if there is one (into its
//!   entry's payload; `handed` counts such items until their getters take
//!   them), else into the items. So *getters wait only while there are no
//!   items*, and `try_get` never overtakes a waiting getter.
//! - A `put` that finds the queue full leaves its item in its entry's
//!   payload. Whenever a place frees, the oldest putter's item is moved in at
//!   once and the putter is notified with an empty payload. So *putters wait
//!   only while the queue is full*, and `try_put` never overtakes them.
//!   Places free one at a time (each `get` takes one item), so a `get` lets
//!   one putter in at most, whose item may go on to one waiting getter: the
//!   most a `get` wakes is those two, and a `put` one getter.
//! - `len` is `items + handed`: an item handed to a getter occupies its place
//!   until the getter takes it, as in asyncio, where it sits in the queue
//!   until the woken getter runs.
//! - A getter dropped after it was handed an item gives the item back: to
//!   the next getter, or where the oldest item goes (bpo-23812). Its place was
//!   counted all along, so the capacity still holds.
//! - `shutdown` notifies every putter without taking its item (the `put`
//!   fails and gives it back) and every getter without an item (the `get`
//!   fails unless items came back meanwhile).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::items::Items;
use crate::error::{ShutDown, TaskDoneError, TryGetError, TryPutError};
use crate::loom::Locked;
use crate::wait_list::{Key, Removed, Stage, WaitList, Wakers};

/// A queue of any kind: its state behind one lock.
pub(crate) struct Channel<T> {
    state: Locked<State<T>>,
}

struct State<T> {
    items: Items<T>,
    /// `usize::MAX` when unbounded.
    capacity: usize,
    /// Items handed to notified getters that have not taken them yet.
    handed: usize,
    /// Each payload is the item handed over, or `None` (waiting, or woken by
    /// `shutdown`).
    getters: WaitList<Option<T>>,
    /// Each payload is the item to put, or `None` once it was moved in.
    putters: WaitList<Option<T>>,
    joiners: WaitList<()>,
    /// Items put and not yet marked done by `task_done`.
    unfinished: usize,
    shut_down: bool,
}

/// The tasks that a `put` or a `get` wakes once the lock is released: a
/// putter let in, and the getter that an item went to. A `get` frees one
/// place, so it lets one putter in at most; a `put` hands its item to one
/// getter at most. Plain fields and no collection: this is on every `put`
/// and `get`.
#[derive(Default)]
#[must_use = "the woken tasks must be woken once the lock is released"]
struct Woken {
    putter: Option<Waker>,
    getter: Option<Waker>,
}

impl Woken {
    #[inline]
    fn wake(self) {
        if let Some(putter) = self.putter {
            putter.wake();
        }
        if let Some(getter) = self.getter {
            getter.wake();
        }
    }
}

impl<T> State<T> {
    #[inline]
    fn len(&self) -> usize {
        self.items.len() + self.handed
    }

    /// Hands `item` to the oldest waiting getter and returns its waker, or
    /// gives the item back.
    #[inline]
    fn hand_to_getter(&mut self, item: T) -> Result<Waker, T> {
        let Some((waker, payload)) = self.getters.notify_front() else {
            return Err(item);
        };
        *payload = Some(item);
        self.handed += 1;
        Ok(waker)
    }

    /// Adds a newly put item (the caller checked that there is room) and
    /// returns the waker of the getter it was handed to, if any.
    #[inline]
    fn deliver_new(&mut self, item: T) -> Option<Waker> {
        self.unfinished += 1;
        match self.hand_to_getter(item) {
            Ok(getter) => Some(getter),
            Err(item) => {
                self.items.push(item);
                None
            }
        }
    }

    /// Takes back an item a getter was handed but dropped, and returns the
    /// waker of the getter it was handed to next, if any.
    fn deliver_returned(&mut self, item: T) -> Option<Waker> {
        self.handed -= 1;
        match self.hand_to_getter(item) {
            Ok(getter) => Some(getter),
            Err(item) => {
                self.items.push_oldest(item);
                None
            }
        }
    }

    /// Lets the oldest waiting putter in, now that a place has freed.
    #[inline]
    fn admit_putter(&mut self) -> Woken {
        if self.putters.is_empty() {
            return Woken::default();
        }
        self.admit_waiting_putter()
    }

    /// `admit_putter` when putters wait, kept out of line. Putters wait only
    /// while the queue is full, and one place has freed: the oldest putter's
    /// item fills it, and the queue is full again.
    #[inline(never)]
    fn admit_waiting_putter(&mut self) -> Woken {
        if self.len() >= self.capacity {
            return Woken::default();
        }
        let Some((putter, payload)) = self.putters.notify_front() else {
            return Woken::default();
        };
        let item = payload.take().expect("a waiting putter holds its item");
        let getter = self.deliver_new(item);
        debug_assert!(
            self.putters.is_empty() || self.len() >= self.capacity,
            "putters wait only while the queue is full"
        );
        Woken {
            putter: Some(putter),
            getter,
        }
    }

    /// Takes the next item, if any, and lets a putter in.
    #[inline]
    fn take(&mut self) -> Option<(T, Woken)> {
        let item = self.items.pop()?;
        Some((item, self.admit_putter()))
    }

    /// Tries to put `item` now; on success, returns the waker of the getter
    /// it was handed to, if any.
    #[inline]
    fn offer(&mut self, item: T) -> Result<Option<Waker>, TryPutError<T>> {
        if self.shut_down {
            return Err(TryPutError::ShutDown(item));
        }
        if self.len() >= self.capacity {
            return Err(TryPutError::Full(item));
        }
        Ok(self.deliver_new(item))
    }

    fn notify_shutdown(&mut self, wakers: &mut Wakers) {
        self.shut_down = true;
        self.putters.notify_all(wakers, |_| {});
        self.getters.notify_all(wakers, |_| {});
    }

    fn notify_joiners_if_finished(&mut self, wakers: &mut Wakers) {
        if self.unfinished == 0 {
            self.joiners.notify_all(wakers, |()| {});
        }
    }
}

impl<T> Channel<T> {
    /// Creates a queue; `capacity` is `usize::MAX` for an unbounded one.
    pub(crate) fn new(items: Items<T>, capacity: usize) -> Channel<T> {
        assert!(
            capacity > 0,
            "a bounded queue needs a capacity of at least 1"
        );
        Channel {
            state: Locked::new(State {
                items,
                capacity,
                handed: 0,
                getters: WaitList::new(),
                putters: WaitList::new(),
                joiners: WaitList::new(),
                unfinished: 0,
                shut_down: false,
            }),
        }
    }

    pub(crate) fn put(&self, item: T) -> Put<'_, T> {
        Put {
            channel: self,
            item: Some(item),
            stage: Stage::Start,
        }
    }

    pub(crate) fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        let getter = self.state.lock().offer(item)?;
        if let Some(getter) = getter {
            getter.wake();
        }
        Ok(())
    }

    pub(crate) fn get(&self) -> Get<'_, T> {
        Get {
            channel: self,
            stage: Stage::Start,
        }
    }

    pub(crate) fn try_get(&self) -> Result<T, TryGetError> {
        let mut state = self.state.lock();
        let Some((item, woken)) = state.take() else {
            return Err(if state.shut_down {
                TryGetError::ShutDown
            } else {
                TryGetError::Empty
            });
        };
        drop(state);
        woken.wake();
        Ok(item)
    }

    pub(crate) fn len(&self) -> usize {
        self.state.lock().len()
    }

    pub(crate) fn is_full(&self) -> bool {
        let state = self.state.lock();
        state.len() >= state.capacity
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        let capacity = self.state.lock().capacity;
        (capacity != usize::MAX).then_some(capacity)
    }

    pub(crate) fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut wakers = Wakers::new();
        let mut state = self.state.lock();
        if state.unfinished == 0 {
            return Err(TaskDoneError);
        }
        state.unfinished -= 1;
        state.notify_joiners_if_finished(&mut wakers);
        drop(state);
        wakers.wake_all();
        Ok(())
    }

    pub(crate) fn join(&self) -> Join<'_, T> {
        Join {
            channel: self,
            stage: Stage::Start,
        }
    }

    pub(crate) fn shutdown(&self) {
        let mut wakers = Wakers::new();
        self.state.lock().notify_shutdown(&mut wakers);
        wakers.wake_all();
    }

    pub(crate) fn shutdown_immediate(&self) -> Vec<T> {
        let mut wakers = Wakers::new();
        let mut state = self.state.lock();
        state.notify_shutdown(&mut wakers);
        let drained: Vec<T> = std::iter::from_fn(|| state.items.pop()).collect();
        state.unfinished = state.unfinished.saturating_sub(drained.len());
        state.notify_joiners_if_finished(&mut wakers);
        drop(state);
        wakers.wake_all();
        drained
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.state.lock().shut_down
    }

    /// Takes a dropped `put`'s entry out of the line. The item, if still
    /// there, is dropped after the lock is released.
    #[inline(never)]
    fn cancel_put(&self, key: Key) {
        let _item = match self.state.lock().putters.remove(key) {
            Removed::Waiting(item) | Removed::Notified(item) => item,
        };
    }

    /// Takes a dropped `get`'s entry out of the line, giving back an item it
    /// was handed.
    #[inline(never)]
    fn cancel_get(&self, key: Key) {
        let mut state = self.state.lock();
        let Removed::Notified(Some(item)) = state.getters.remove(key) else {
            return;
        };
        let getter = state.deliver_returned(item);
        drop(state);
        if let Some(getter) = getter {
            getter.wake();
        }
    }

    /// Takes a dropped `join`'s entry out of the line; every joiner is woken
    /// together, so there is nothing to pass on.
    #[inline(never)]
    fn cancel_join(&self, key: Key) {
        let _removed = self.state.lock().joiners.remove(key);
    }
}

impl<T> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Queue")
            .field("len", &state.len())
            .field(
                "capacity",
                &(state.capacity != usize::MAX).then_some(state.capacity),
            )
            .field("unfinished", &state.unfinished)
            .field("shut_down", &state.shut_down)
            .finish_non_exhaustive()
    }
}

/// The future of a queue's `put`: `Ok(())` once the item is in the queue, or
/// [`ShutDown`] with the item if the queue was shut down first.
///
/// Cancel-safe: dropped while it waits, it leaves the line and drops its
/// item; an item already moved into the queue stays there.
///
/// # Panics
///
/// Panics if polled again after it completed.
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// let queue = corio_sync::Queue::bounded(1);
/// let put: corio_sync::Put<'_, u8> = queue.put(1);
/// put.await.unwrap();
/// assert_eq!(queue.len(), 1);
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Put<'a, T> {
    channel: &'a Channel<T>,
    /// The item until the first poll.
    item: Option<T>,
    stage: Stage,
}

// The item is moved out, never pinned.
impl<T> Unpin for Put<'_, T> {}

impl<T> Future for Put<'_, T> {
    type Output = Result<(), ShutDown<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.channel.state.lock();
        let (outcome, getter) = match self.stage {
            Stage::Start => {
                let item = self
                    .item
                    .take()
                    .expect("the item is held until the first poll");
                match state.offer(item) {
                    Ok(getter) => (Ok(()), getter),
                    Err(TryPutError::ShutDown(item)) => (Err(ShutDown(item)), None),
                    Err(TryPutError::Full(item)) => {
                        self.stage = Stage::Waiting(state.putters.push(cx.waker(), Some(item)));
                        return Poll::Pending;
                    }
                }
            }
            Stage::Waiting(key) => match state.putters.poll_take(key, cx.waker()) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => (Ok(()), None),
                Poll::Ready(Some(item)) => (Err(ShutDown(item)), None),
            },
            Stage::Done => Stage::polled_after_completion(),
        };
        drop(state);
        self.stage = Stage::Done;
        if let Some(getter) = getter {
            getter.wake();
        }
        Poll::Ready(outcome)
    }
}

impl<T> Drop for Put<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Stage::Waiting(key) = self.stage {
            self.channel.cancel_put(key);
        }
    }
}

impl<T> fmt::Debug for Put<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// The future of a queue's `get`: the next item, or [`ShutDown`] once the
/// queue is shut down and empty.
///
/// Cancel-safe: dropped after it was handed an item, it gives the item back
/// to the next getter (or to the front of the queue).
///
/// # Panics
///
/// Panics if polled again after it completed.
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// let queue = corio_sync::Queue::unbounded();
/// queue.try_put("job").unwrap();
/// let get: corio_sync::Get<'_, &str> = queue.get();
/// assert_eq!(get.await, Ok("job"));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, T> {
    channel: &'a Channel<T>,
    stage: Stage,
}

impl<T> Future for Get<'_, T> {
    type Output = Result<T, ShutDown>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.channel.state.lock();
        let taken = match self.stage {
            Stage::Start => match state.take() {
                Some(taken) => Some(taken),
                None if state.shut_down => None,
                None => {
                    self.stage = Stage::Waiting(state.getters.push(cx.waker(), None));
                    return Poll::Pending;
                }
            },
            Stage::Waiting(key) => {
                match state.getters.poll_take(key, cx.waker()) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(item)) => {
                        state.handed -= 1;
                        Some((item, state.admit_putter()))
                    }
                    // Woken by `shutdown`: items may have been given back
                    // since; otherwise the queue is shut down and empty.
                    Poll::Ready(None) => state.take(),
                }
            }
            Stage::Done => Stage::polled_after_completion(),
        };
        drop(state);
        self.stage = Stage::Done;
        let Some((item, woken)) = taken else {
            return Poll::Ready(Err(ShutDown(())));
        };
        woken.wake();
        Poll::Ready(Ok(item))
    }
}

impl<T> Drop for Get<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Stage::Waiting(key) = self.stage {
            self.channel.cancel_get(key);
        }
    }
}

impl<T> fmt::Debug for Get<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// The future of a queue's `join`: ready once every item put has been
/// marked done with `task_done`.
///
/// # Panics
///
/// Panics if polled again after it completed.
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// let queue = corio_sync::Queue::unbounded();
/// queue.try_put(1).unwrap();
/// queue.try_get().unwrap();
/// queue.task_done().unwrap();
/// let join: corio_sync::Join<'_, i32> = queue.join();
/// join.await;
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'a, T> {
    channel: &'a Channel<T>,
    stage: Stage,
}

impl<T> Future for Join<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.channel.state.lock();
        match self.stage {
            Stage::Start => {
                if state.unfinished > 0 {
                    self.stage = Stage::Waiting(state.joiners.push(cx.waker(), ()));
                    return Poll::Pending;
                }
            }
            Stage::Waiting(key) => {
                if state.joiners.poll_take(key, cx.waker()).is_pending() {
                    return Poll::Pending;
                }
            }
            Stage::Done => Stage::polled_after_completion(),
        }
        drop(state);
        self.stage = Stage::Done;
        Poll::Ready(())
    }
}

impl<T> Drop for Join<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Stage::Waiting(key) = self.stage {
            self.channel.cancel_join(key);
        }
    }
}

impl<T> fmt::Debug for Join<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}
