//! How corio takes the `std` mutexes around its internal state.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking it over if a panic poisoned it.
///
/// The `std` mutexes of corio's crates (a promise's outcome and awaiters, the
/// timer wheel, the reactor's token slab and waiter lists, the blocking
/// pool's queue, `gather`'s ready list) are taken through this function, so
/// the policy lives in one place. Recovering from poison, rather than
/// panicking on it, is right for that state because of two rules every
/// critical section keeps:
///
/// - It leaves the state consistent at every point where it could panic: the
///   only code under the lock that can panic clones a value out of the state
///   (a promise's result, a waker) or clones or drops one waker while
///   replacing it in its slot, which leaves every list, slab and count whole.
/// - It runs no user callback that could change the state: wakers are woken,
///   done callbacks called and tasks polled after the guard is released, and
///   a panic there is caught, or unwinds, outside the lock.
///
/// So a poisoned lock still guards valid state, and panicking on it would only
/// turn one caught panic into a second, uncaught one on another thread.
/// Code outside corio whose critical sections keep the same two rules can use
/// it too.
///
/// # Examples
///
/// ```
/// use std::sync::Mutex;
///
/// let counter = Mutex::new(0);
/// let _ = std::panic::catch_unwind(|| {
///     let _guard = counter.lock().unwrap();
///     panic!("poisons the lock");
/// });
/// assert!(counter.is_poisoned());
/// *corio_core::lock(&counter) += 1;
/// assert_eq!(*corio_core::lock(&counter), 1);
/// ```
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
