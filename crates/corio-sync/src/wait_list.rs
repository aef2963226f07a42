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
//! The owning future always frees its own entry ([`WaitList::remove`]): on
//! completion after seeing `Notified`, or in its `Drop`. `remove` says which
//! state the entry was in, so a future dropped after being notified passes the
//! grant on instead of losing it. Since nobody but the owner frees an entry, a
//! key is never reused while its owner holds it.
//!
//! The payload `P` carries what moves between a notifier and a waiter: nothing
//! for locks and permits, the item for queue getters and putters.

use std::task::Waker;

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
    /// The first free slot, or `NIL`; free slots are chained through
    /// `Slot::Free::next_free`.
    free: usize,
}

#[derive(Debug)]
enum Slot<P> {
    Free {
        next_free: usize,
    },
    Waiting {
        waker: Waker,
        payload: P,
        prev: usize,
        next: usize,
    },
    Notified {
        payload: P,
    },
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

impl<P> WaitList<P> {
    pub(crate) const fn new() -> WaitList<P> {
        WaitList {
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
        }
    }

    /// Appends a waiting entry at the back of the list.
    pub(crate) fn push(&mut self, waker: &Waker, payload: P) -> Key {
        let slot = Slot::Waiting {
            waker: waker.clone(),
            payload,
            prev: self.tail,
            next: NIL,
        };
        let index = if self.free == NIL {
            self.slots.push(slot);
            self.slots.len() - 1
        } else {
            let index = self.free;
            let Slot::Free { next_free } = self.slots[index] else {
                unreachable!("the free list links only free slots");
            };
            self.free = next_free;
            self.slots[index] = slot;
            index
        };
        match self.tail {
            NIL => self.head = index,
            tail => self.set_next(tail, index),
        }
        self.tail = index;
        Key(index)
    }

    /// Notifies the oldest waiting entry: unlinks it, marks it notified and
    /// returns its waker (to be woken after the primitive's lock is released)
    /// and its payload, for the notifier to fill or empty.
    pub(crate) fn notify_front(&mut self) -> Option<(Waker, &mut P)> {
        if self.head == NIL {
            return None;
        }
        let index = self.head;
        let (waker, payload) = self.unlink(index);
        self.slots[index] = Slot::Notified { payload };
        let Slot::Notified { payload } = &mut self.slots[index] else {
            unreachable!("the slot was just written");
        };
        Some((waker, payload))
    }

    /// Notifies every waiting entry, oldest first, calling `grant` on each
    /// payload and pushing each waker onto `wakers`.
    pub(crate) fn notify_all(&mut self, wakers: &mut Wakers, mut grant: impl FnMut(&mut P)) {
        while let Some((waker, payload)) = self.notify_front() {
            grant(payload);
            wakers.push(waker);
        }
    }

    /// Whether the entry has been notified; if it is still waiting, its waker
    /// is replaced by `waker` unless both wake the same task.
    pub(crate) fn poll_notified(&mut self, key: Key, waker: &Waker) -> bool {
        match &mut self.slots[key.0] {
            Slot::Notified { .. } => true,
            Slot::Waiting { waker: stored, .. } => {
                if !stored.will_wake(waker) {
                    stored.clone_from(waker);
                }
                false
            }
            Slot::Free { .. } => unreachable!("a key names an entry until its owner removes it"),
        }
    }

    /// Frees the entry (unlinking it if it is still waiting) and says what it
    /// was.
    pub(crate) fn remove(&mut self, key: Key) -> Removed<P> {
        let index = key.0;
        let removed = match &self.slots[index] {
            Slot::Waiting { .. } => Removed::Waiting(self.unlink(index).1),
            Slot::Notified { .. } => {
                let slot = std::mem::replace(&mut self.slots[index], Slot::Free { next_free: NIL });
                let Slot::Notified { payload } = slot else {
                    unreachable!("the slot was just matched");
                };
                Removed::Notified(payload)
            }
            Slot::Free { .. } => unreachable!("a key names an entry until its owner removes it"),
        };
        self.slots[index] = Slot::Free {
            next_free: self.free,
        };
        self.free = index;
        removed
    }

    /// Unlinks a waiting entry and returns its waker and payload; the slot is
    /// left free but not yet on the free list.
    fn unlink(&mut self, index: usize) -> (Waker, P) {
        let slot = std::mem::replace(&mut self.slots[index], Slot::Free { next_free: NIL });
        let Slot::Waiting {
            waker,
            payload,
            prev,
            next,
        } = slot
        else {
            unreachable!("only waiting entries are linked");
        };
        match prev {
            NIL => self.head = next,
            prev => self.set_next(prev, next),
        }
        match next {
            NIL => self.tail = prev,
            next => self.set_prev(next, prev),
        }
        (waker, payload)
    }

    fn set_next(&mut self, index: usize, to: usize) {
        let Slot::Waiting { next, .. } = &mut self.slots[index] else {
            unreachable!("only waiting entries are linked");
        };
        *next = to;
    }

    fn set_prev(&mut self, index: usize, to: usize) {
        let Slot::Waiting { prev, .. } = &mut self.slots[index] else {
            unreachable!("only waiting entries are linked");
        };
        *prev = to;
    }
}

impl<P> Default for WaitList<P> {
    fn default() -> WaitList<P> {
        WaitList::new()
    }
}

/// Wakers collected under a primitive's lock, to be woken after it is
/// released (a waker may run arbitrary code, even the woken task).
///
/// The first two are kept inline, so that the common cases (one lock handed
/// on; one item handed to a getter and one putter admitted) never allocate.
#[derive(Debug, Default)]
pub(crate) struct Wakers {
    inline: [Option<Waker>; 2],
    rest: Vec<Waker>,
}

impl Wakers {
    pub(crate) fn new() -> Wakers {
        Wakers::default()
    }

    pub(crate) fn push(&mut self, waker: Waker) {
        match self.inline.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(waker),
            None => self.rest.push(waker),
        }
    }

    /// Wakes every collected waker, in the order they were pushed.
    pub(crate) fn wake_all(self) {
        for waker in self.inline.into_iter().flatten().chain(self.rest) {
            waker.wake();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    struct Noop;

    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    fn waker() -> Waker {
        std::sync::Arc::new(Noop).into()
    }

    #[test]
    fn notifies_in_arrival_order_and_skips_removed_entries() {
        let mut list = WaitList::new();
        let keys: Vec<Key> = (0..4).map(|i| list.push(&waker(), i)).collect();
        assert!(matches!(list.remove(keys[1]), Removed::Waiting(1)));
        let order: Vec<i32> = std::iter::from_fn(|| list.notify_front().map(|(_, p)| *p)).collect();
        assert_eq!(order, [0, 2, 3]);
        assert_eq!(list.head, NIL);
        for key in [keys[0], keys[2], keys[3]] {
            assert!(list.poll_notified(key, &waker()));
            assert!(matches!(list.remove(key), Removed::Notified(_)));
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
