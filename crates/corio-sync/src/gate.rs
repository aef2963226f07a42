//! Permits handed out in arrival order: the core of [`Semaphore`] and
//! [`Mutex`] (a gate of one permit).
//!
//! # Protocol
//!
//! The state is the number of free permits and the list of waiting
//! acquisitions, behind one lock. A released permit goes straight to the
//! oldest waiter (its entry is notified; the permit is never put back in the
//! count), so the invariant is: *waiters wait only while no permit is free*.
//! Hence `try_acquire` and a new `acquire` never overtake a waiter: they find
//! the count at zero. An acquisition dropped after it was notified owns a
//! permit it never used, and releases it, which hands it to the next waiter.
//!
//! [`Semaphore`]: crate::Semaphore
//! [`Mutex`]: crate::Mutex

use std::task::{Context, Poll};

use crate::loom::Locked;
use crate::wait_list::{Key, Removed, Stage, WaitList, Wakers};

/// A count of permits and a FIFO list of those waiting for one.
#[derive(Debug)]
pub(crate) struct Gate {
    state: Locked<GateState>,
}

#[derive(Debug)]
struct GateState {
    permits: usize,
    waiters: WaitList<()>,
}

impl Gate {
    pub(crate) fn new(permits: usize) -> Gate {
        Gate {
            state: Locked::new(GateState {
                permits,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Takes a permit if one is free (which means nobody is waiting).
    #[inline]
    pub(crate) fn try_acquire(&self) -> bool {
        let mut state = self.state.lock();
        if state.permits == 0 {
            return false;
        }
        state.permits -= 1;
        true
    }

    pub(crate) fn available(&self) -> usize {
        self.state.lock().permits
    }

    /// Releases one permit: to the oldest waiter if there is one.
    #[inline]
    pub(crate) fn release_one(&self) {
        let mut state = self.state.lock();
        match state.waiters.notify_front() {
            Some((waker, ())) => {
                drop(state);
                waker.wake();
            }
            None => state.permits += 1,
        }
    }

    /// Takes a dropped acquisition's entry out of the line; a permit granted
    /// to it after its last poll passes to the next waiter.
    #[inline(never)]
    fn cancel(&self, key: Key) {
        let removed = self.state.lock().waiters.remove(key);
        if let Removed::Notified(()) = removed {
            self.release_one();
        }
    }

    /// Releases `count` permits: to the oldest waiters first, the rest to the
    /// count.
    ///
    /// # Panics
    ///
    /// Panics if the count of free permits would overflow `usize`.
    pub(crate) fn release(&self, count: usize) {
        let mut wakers = Wakers::new();
        let mut state = self.state.lock();
        let mut left = count;
        while left > 0 {
            let Some((waker, ())) = state.waiters.notify_front() else {
                break;
            };
            wakers.push(waker);
            left -= 1;
        }
        let permits = state.permits.checked_add(left);
        if let Some(permits) = permits {
            state.permits = permits;
        }
        drop(state);
        wakers.wake_all();
        assert!(
            permits.is_some(),
            "adding {count} permits overflows the semaphore's count"
        );
    }
}

/// One acquisition of a permit, as a small state machine that the futures of
/// `Semaphore` and `Mutex` wrap.
#[derive(Debug)]
pub(crate) struct Acquiring<'a> {
    gate: &'a Gate,
    stage: Stage,
}

impl<'a> Acquiring<'a> {
    #[inline]
    pub(crate) fn new(gate: &'a Gate) -> Acquiring<'a> {
        Acquiring {
            gate,
            stage: Stage::Start,
        }
    }

    /// Polls for the permit; once this returns `Ready` the caller owns it.
    ///
    /// # Panics
    ///
    /// Panics if polled again after returning `Ready`.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.gate.state.lock();
        match self.stage {
            Stage::Start => {
                if state.permits > 0 {
                    state.permits -= 1;
                    self.stage = Stage::Done;
                    return Poll::Ready(());
                }
                self.stage = Stage::Waiting(state.waiters.push(cx.waker(), ()));
                Poll::Pending
            }
            Stage::Waiting(key) => {
                if state.waiters.poll_take(key, cx.waker()).is_pending() {
                    return Poll::Pending;
                }
                self.stage = Stage::Done;
                Poll::Ready(())
            }
            Stage::Done => Stage::polled_after_completion(),
        }
    }
}

impl Drop for Acquiring<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Stage::Waiting(key) = self.stage {
            self.gate.cancel(key);
        }
    }
}
