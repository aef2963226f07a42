//! The synchronization primitives this crate builds on, swapped for loom's
//! model-checked versions under `--cfg loom`.
//!
//! Every lock the primitives depend on comes from here, so that `cargo xtask
//! loom` explores the same code that ships. The `Mutex`'s data cell is a plain
//! `std` `UnsafeCell`: its accesses are ordered by the gate's lock, which is
//! modelled; the loom model of the `Mutex` checks mutual exclusion directly.

#[cfg(loom)]
use loom::sync::Mutex as RawMutex;
#[cfg(not(loom))]
use std::sync::Mutex as RawMutex;

#[cfg(loom)]
pub(crate) use loom::sync::MutexGuard;
#[cfg(not(loom))]
pub(crate) use std::sync::MutexGuard;

/// A `std` (or loom) mutex that ignores poisoning.
///
/// No code of this crate panics while holding one of these locks, except a
/// user's `Ord` implementation inside a `PriorityQueue`; the state it guards
/// stays memory-safe in that case, so a poisoned lock is simply taken over.
#[derive(Debug, Default)]
pub(crate) struct Locked<T>(RawMutex<T>);

impl<T> Locked<T> {
    pub(crate) fn new(value: T) -> Locked<T> {
        Locked(RawMutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
