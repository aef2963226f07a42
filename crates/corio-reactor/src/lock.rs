//! How the reactor takes its locks.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, recovering it from poisoning.
///
/// Every mutex of the reactor guards data that no code leaves half-written
/// (a slab whose operations cannot panic midway, lists of wakers), so a
/// poisoned lock still holds valid data: recover it instead of panicking.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
