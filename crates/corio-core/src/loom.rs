//! The synchronization primitives of the task cell, swapped for loom's
//! model-checked versions under `--cfg loom`.
//!
//! Every atomic and `UnsafeCell` whose ordering the task protocol depends on
//! comes from here, and so does the promise's mutex, so that `cargo xtask
//! loom` explores the same code that ships. The task-id counter is deliberately not routed through here: it is a
//! plain global counter whose ordering nothing depends on.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(not(loom))]
pub use std::sync::{Mutex, MutexGuard};

#[cfg(loom)]
pub use loom::sync::{Mutex, MutexGuard};

/// Locks `mutex` under the crate's poisoned-lock policy ([`crate::lock`]).
#[cfg(not(loom))]
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    crate::lock(mutex)
}

/// Locks `mutex`; loom's mutex is never poisoned in a model that passes.
#[cfg(loom)]
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `std::cell::UnsafeCell` with loom's closure-based access API, so the same
/// code compiles against both.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Gives `f` a pointer for reading the value.
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Gives `f` a pointer for writing the value.
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
