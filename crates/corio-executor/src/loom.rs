//! The synchronization primitives of the cross-thread hand-off, swapped for
//! loom's model-checked versions under `--cfg loom`.
//!
//! Every atomic whose ordering the hand-off protocol (see the
//! `event_loop::handoff` module) depends on comes from here, so that
//! `cargo xtask loom` explores the same code that ships. The injection queue
//! is the exception that is swapped for a stand-in: crossbeam's `SegQueue` is
//! built on `std` atomics, which loom cannot see, so under loom the queue is
//! a small lock-free, single-consumer ring made of loom's types. Like the
//! real queue, it is linearizable and gives a popper that sees an item
//! everything its pusher did before pushing it; it adds no other
//! synchronization, so the protocol's own flags carry every ordering the
//! model checks.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};

/// The injection queue: crossbeam's lock-free `SegQueue`.
#[cfg(not(loom))]
pub(crate) use crossbeam_queue::SegQueue as Injector;

#[cfg(loom)]
pub(crate) use model::Injector;

#[cfg(loom)]
mod model {
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// How many items a model pushes at most.
    const CAPACITY: usize = 8;

    /// A bounded queue with many pushers and one popper (the loop's thread):
    /// a pusher takes a slot with a counter, writes it, then publishes it
    /// with a `Release` store of the slot's flag, which the popper reads
    /// with `Acquire`.
    pub(crate) struct Injector<T> {
        slots: Box<[Slot<T>]>,
        tail: AtomicUsize,
        /// The next slot to pop; only the popper touches it.
        head: AtomicUsize,
    }

    struct Slot<T> {
        value: UnsafeCell<Option<T>>,
        written: AtomicBool,
    }

    // Soundness: a slot's value is written by the one pusher that reserved the
    // slot and read by the single popper only after it has seen the slot's
    // `written` flag with `Acquire`, which the pusher set with `Release`
    // after its write; so no value is accessed by two threads at once, and
    // values of a `Send` type may move between threads.
    // SAFETY: no slot is accessed by two threads at once, and `T: Send`.
    unsafe impl<T: Send> Sync for Injector<T> {}

    impl<T> Injector<T> {
        pub(crate) fn new() -> Injector<T> {
            let slots = (0..CAPACITY)
                .map(|_| Slot {
                    value: UnsafeCell::new(None),
                    written: AtomicBool::new(false),
                })
                .collect();
            Injector {
                slots,
                tail: AtomicUsize::new(0),
                head: AtomicUsize::new(0),
            }
        }

        pub(crate) fn push(&self, item: T) {
            let index = self.tail.fetch_add(1, Ordering::Relaxed);
            let slot = self.slots.get(index).expect("a model pushes few items");
            // SAFETY: `fetch_add` gave this slot to this call alone, and the
            // popper reads it only after `written` is set below.
            slot.value.with_mut(|value| unsafe { *value = Some(item) });
            slot.written.store(true, Ordering::Release);
        }

        /// Pops the oldest published item; only the loop's thread calls it.
        pub(crate) fn pop(&self) -> Option<T> {
            let index = self.head.load(Ordering::Relaxed);
            let slot = self.slots.get(index)?;
            if !slot.written.load(Ordering::Acquire) {
                return None;
            }
            self.head.store(index + 1, Ordering::Relaxed);
            // SAFETY: the pusher's write happened before its `Release` store
            // of `written`, which the load above saw; the pusher never touches
            // the slot again and there is one popper.
            slot.value.with_mut(|value| unsafe { (*value).take() })
        }
    }
}
