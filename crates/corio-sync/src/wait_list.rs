//! The FIFO list of waiters that every primitive of this crate keeps.
//!
//! # Protocol
//!
//! A waiting future owns one entry, named by a [`Key`], from the moment it
//! first returns `Pending` until it completes or is dropped. Entries live in a
//! slab (a `Vec` with a free list, so a warm list never allocates) and the
//! waiting ones are linked, in arrival order, by indices.
//!
//! An entry is in one of two states:
//!
//! - `Waiting`: linked in the list, holding the waker of its future. Only the
//!   owning future removes it (when dropped), and only a notifier moves it on.
//! - `Notified`: unlinked by a notifier ([`WaitList::notify_front`]), which took
//!   the waker to wake it once the primitive's lock is released. What the
//!   notification grants (a lock, a permit, an item) is recorded in the
//!   primitive's state or in the entry's payload, so that it survives until the
//!   future looks at it.
//!
//! The owning future always frees its own entry: on completion after seeing
//! `Notified` ([`WaitList::poll_take`]), or in its `Drop` ([`WaitList::remove`]). `remove` says which
//! state the entry was in, so a future dropped after being notified passes the
//! grant on instead of losing it. Since nobody but the owner frees an entry, a
//! key is never reused while its owner holds it.
//!
//! The payload `P` carries what moves between a notifier and a waiter: nothing
//! for locks and permits, the item for queue getters and putters.

use std::task::{Poll, Waker};

/// An index that means "no entry".
const NIL: usize = usize::MAX;

/// Names one entry of a [`WaitList`]; held by the future that owns the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key(usize);

/// A FIFO list of waiters, each with a payload; see the module docs.
#[derive(Debug)]
pub(crate) struct WaitList<P> {
    slots: Vec<Slot<P>>,
    /// The oldest waiting entry, or `NIL`.
    head: usize,
    /// The newest waiting entry, or `NIL`.
    tail: usize,
    /// The first free slot, or `NIL`; free slots are chained through their
    /// `next` field.
    free: usize,
}

/// One entry, kept flat (no enum to move in and out) because every wait and
/// every notification goes through here.
#[derive(Debug)]
struct Slot<P> {
    mark: Mark,
    /// The owner's waker while `Waiting`; taken by the notifier.
    waker: Option<Waker>,
    /// `P::default()` while the slot is free.
    payload: P,
    /// The previous waiting entry, or `NIL`.
    prev: usize,
    /// The next waiting entry (or, for a free slot, the next free one), or
    /// `NIL`.
    next: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Free,
    Waiting,
    Notified,
}

/// Where a waiting future is in its life; most futures of this crate keep
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Not polled yet.
    Start,
    /// Owns an entry of a wait list.
    Waiting(Key),
    /// Completed (`Ready` was returned).
    Done,
}

impl Stage {
    /// The panic of a future polled after it returned `Ready`.
    #[track_caller]
    pub(crate) fn polled_after_completion() -> ! {
        panic!("a corio-sync future was polled after it completed")
    }
}

/// What an entry was when its owner removed it.
#[must_use = "a notified entry carries a grant that must be used or passed on"]
#[derive(Debug)]
pub(crate) enum Removed<P> {
    /// It was still waiting: nothing was granted to it.
    Waiting(P),
    /// It had been notified: the caller owns what the notification granted.
    Notified(P),
}

impl<P: Default> WaitList<P> {
    pub(crate) const fn new() -> WaitList<P> {
        WaitList {
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
        }
    }

    /// Returns whether no entry is waiting.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head == NIL
    }

    /// Appends a waiting entry at the back of the list.
    #[inline(always)]
    pub(crate) fn push(&mut self, waker: &Waker, payload: P) -> Key {
        let index = match self.free {
            NIL => self.new_slot(),
            free => {
                self.free = self.slots[free].next;
                free
            }
        };
        let tail = self.tail;
        let slot = &mut self.slots[index];
        debug_assert_eq!(slot.mark, Mark::Free);
        slot.mark = Mark::Waiting;
        slot.waker = Some(waker.clone());
        slot.payload = payload;
        slot.prev = tail;
        slot.next = NIL;
        match tail {
            NIL => self.head = index,
            tail => self.slots[tail].next = index,
        }
        self.tail = index;
        Key(index)
    }

    /// Adds a free slot (a warm list has enough) and returns its index.
    #[cold]
    fn new_slot(&mut self) -> usize {
        self.slots.push(Slot {
            mark: Mark::Free,
            waker: None,
            payload: P::default(),
            prev: NIL,
            next: NIL,
        });
        self.slots.len() - 1
    }

    /// Notifies the oldest waiting entry: unlinks it, marks it notified and
    /// returns its waker (to be woken after the primitive's lock is released)
    /// and its payload, for the notifier to fill or empty.
    #[inline(always)]
    pub(crate) fn notify_front(&mut self) -> Option<(Waker, &mut P)> {
        let index = self.head;
        if index == NIL {
            return None;
        }
        self.unlink(index);
        let slot = &mut self.slots[index];
        slot.mark = Mark::Notified;
        let waker = slot.waker.take().expect("a waiting entry holds a waker");
        Some((waker, &mut slot.payload))
    }

    /// Notifies every waiting entry, oldest first, calling `grant` on each
    /// payload and pushing each waker onto `wakers`.
    pub(crate) fn notify_all(&mut self, wakers: &mut Wakers, mut grant: impl FnMut(&mut P)) {
        while let Some((waker, payload)) = self.notify_front() {
            grant(payload);
            wakers.push(waker);
        }
    }

    /// Completes the entry's wait if it has been notified: frees it and
    /// returns its payload. If it is still waiting, its waker is replaced by
    /// `waker` (unless both wake the same task) and it stays.
    #[inline(always)]
    pub(crate) fn poll_take(&mut self, key: Key, waker: &Waker) -> Poll<P> {
        let slot = &mut self.slots[key.0];
        match slot.mark {
            Mark::Waiting => {
                let stored = slot.waker.as_mut().expect("a waiting entry holds a waker");
                if !stored.will_wake(waker) {
                    stored.clone_from(waker);
                }
                Poll::Pending
            }
            Mark::Notified => {
                let payload = std::mem::take(&mut slot.payload);
                self.free_slot(key.0);
                Poll::Ready(payload)
            }
            Mark::Free => unreachable!("a key names an entry until its owner removes it"),
        }
    }

    /// Frees the entry (unlinking it if it is still waiting) and says what it
    /// was.
    pub(crate) fn remove(&mut self, key: Key) -> Removed<P> {
        let index = key.0;
        let removed = match self.slots[index].mark {
            Mark::Waiting => {
                self.unlink(index);
                let slot = &mut self.slots[index];
                slot.waker = None;
                Removed::Waiting(std::mem::take(&mut slot.payload))
            }
            Mark::Notified => Removed::Notified(std::mem::take(&mut self.slots[index].payload)),
            Mark::Free => unreachable!("a key names an entry until its owner removes it"),
        };
        self.free_slot(index);
        removed
    }

    /// Takes a waiting entry out of the list (its slot stays allocated).
    #[inline]
    fn unlink(&mut self, index: usize) {
        let Slot { prev, next, .. } = self.slots[index];
        match prev {
            NIL => self.head = next,
            prev => self.slots[prev].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.slots[next].prev = prev,
        }
    }

    /// Puts an unlinked slot on the free list.
    #[inline]
    fn free_slot(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        slot.mark = Mark::Free;
        slot.next = self.free;
        self.free = index;
    }
}

impl<P: Default> Default for WaitList<P> {
    fn default() -> WaitList<P> {
        WaitList::new()
    }
}

/// Wakers collected under a primitive's lock, to be woken after it is
/// released (a waker may run arbitrary code, even the woken task).
///
/// For notifications of any number of waiters (`Event::set`, a barrier's
/// round, `Semaphore::add_permits`, a queue's `shutdown` and `join`s). The
/// first two are kept inline, so that waking one or two never allocates, and
/// the rarer cases are out of line. The hottest paths wake a known, small
/// number of tasks and keep their wakers in plain variables instead: a
/// released permit wakes one waiter, a queue's `put` or `get` two at most.
#[derive(Debug, Default)]
pub(crate) struct Wakers {
    first: Option<Waker>,
    second: Option<Waker>,
    rest: Vec<Waker>,
}

impl Wakers {
    #[inline]
    pub(crate) fn new() -> Wakers {
        Wakers::default()
    }

    #[inline]
    pub(crate) fn push(&mut self, waker: Waker) {
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.push_more(waker);
        }
    }

    /// `push` past the first waker: the rarer cases, kept out of line.
    #[cold]
    fn push_more(&mut self, waker: Waker) {
        if self.second.is_none() {
            self.second = Some(waker);
        } else {
            self.rest.push(waker);
        }
    }

    /// Wakes every collected waker, in the order they were pushed.
    #[inline]
    pub(crate) fn wake_all(self) {
        let Wakers {
            first,
            second,
            rest,
        } = self;
        let Some(first) = first else {
            return;
        };
        first.wake();
        if let Some(second) = second {
            Wakers::wake_rest(second, rest);
        }
    }

    /// `wake_all` past the first waker, kept out of line.
    #[cold]
    fn wake_rest(second: Waker, rest: Vec<Waker>) {
        second.wake();
        for waker in rest {
            waker.wake();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    use corio_test_support::noop_waker as waker;

    #[test]
    fn notifies_in_arrival_order_and_skips_removed_entries() {
        let mut list = WaitList::new();
        let keys: Vec<Key> = (0..4).map(|i| list.push(&waker(), i)).collect();
        assert!(matches!(list.remove(keys[1]), Removed::Waiting(1)));
        let order: Vec<i32> = std::iter::from_fn(|| list.notify_front().map(|(_, p)| *p)).collect();
        assert_eq!(order, [0, 2, 3]);
        assert_eq!(list.head, NIL);
        for key in [keys[0], keys[2], keys[3]] {
            assert!(list.poll_take(key, &waker()).is_ready());
        }
    }

    #[test]
    fn reuses_freed_slots_and_keeps_order_across_reuse() {
        let mut list = WaitList::new();
        let a = list.push(&waker(), 'a');
        let b = list.push(&waker(), 'b');
        let _ = list.remove(a);
        let c = list.push(&waker(), 'c');
        assert_eq!(c, a, "the freed slot is reused");
        assert_eq!(list.slots.len(), 2);
        assert_eq!(list.notify_front().map(|(_, p)| *p), Some('b'));
        assert_eq!(list.notify_front().map(|(_, p)| *p), Some('c'));
        assert!(list.notify_front().is_none());
        let _ = (list.remove(b), list.remove(c));
    }

    #[test]
    fn removing_the_tail_and_the_head_relinks_the_rest() {
        let mut list = WaitList::new();
        let keys: Vec<Key> = (0..3).map(|i| list.push(&waker(), i)).collect();
        let _ = list.remove(keys[2]);
        let _ = list.remove(keys[0]);
        let d = list.push(&waker(), 3);
        assert_eq!(list.notify_front().map(|(_, p)| *p), Some(1));
        assert_eq!(list.notify_front().map(|(_, p)| *p), Some(3));
        assert_eq!(list.head, NIL);
        let _ = (list.remove(keys[1]), list.remove(d));
    }
}
