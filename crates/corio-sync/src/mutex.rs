//! [`Mutex`]: asyncio's `Lock`, holding the data it protects.
//!
//! The lock itself is a [`Gate`] of one permit; the data lives in an
//! `UnsafeCell`. A `MutexGuard` exists only while its holder owns that
//! permit, so at most one guard gives access to the data at a time, and the
//! gate's lock orders one holder's accesses before the next holder's (the
//! release and the grant both go through it).

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::TryLockError;
use crate::gate::{Acquiring, Gate};

/// An async mutual-exclusion lock that holds its data (asyncio's `Lock`):
/// `lock().await` gives a guard, and dropping the guard unlocks.
///
/// Fair: the lock goes to waiting tasks in arrival order, straight from the
/// guard being dropped to the oldest waiter; `try_lock` and `lock` never
/// overtake a waiter.
///
/// `Mutex<T>` is `Send` and `Sync` when `T` is `Send`; a `!Send` value
/// cannot be shared:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(corio_sync::Mutex::new(std::rc::Rc::new(0)));
/// ```
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// let counter = corio_sync::Mutex::new(0);
/// *counter.lock().await += 1;
/// assert_eq!(*counter.lock().await, 1);
/// # });
/// ```
pub struct Mutex<T> {
    gate: Gate,
    data: UnsafeCell<T>,
}

// Soundness: sharing the mutex lets any thread obtain a guard, which gives
// `&mut T`; the gate grants at most one guard at a time, so this is moving
// `T` between threads, which `T: Send` allows. `T: Sync` is not needed since
// no two threads ever hold references to the data at once.
// SAFETY: at most one guard exists at a time, and `T: Send`.
unsafe impl<T: Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mutex = corio_sync::Mutex::new(vec![1, 2]);
    /// assert_eq!(mutex.try_lock().unwrap().len(), 2);
    /// ```
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            gate: Gate::new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// Waits for the lock. The future is cancel-safe: dropped before it
    /// completes, it leaves the queue, and a lock it was granted passes to
    /// the next waiter.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Examples
    ///
    /// ```
    /// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
    /// let names = corio_sync::Mutex::new(Vec::new());
    /// names.lock().await.push("ada");
    /// assert_eq!(*names.lock().await, ["ada"]);
    /// # });
    /// ```
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            acquiring: Acquiring::new(&self.gate),
            mutex: self,
        }
    }

    /// Takes the lock if it is free now.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the mutex is locked (and so when others wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let mutex = corio_sync::Mutex::new(1);
    /// let guard = mutex.try_lock().unwrap();
    /// assert!(mutex.try_lock().is_err());
    /// drop(guard);
    /// assert_eq!(*mutex.try_lock().unwrap(), 1);
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        if self.gate.try_acquire() {
            Ok(MutexGuard::new(self))
        } else {
            Err(TryLockError)
        }
    }

    /// Returns the data; `&mut self` proves nobody holds the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut mutex = corio_sync::Mutex::new(1);
    /// *mutex.get_mut() = 2;
    /// assert_eq!(mutex.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Consumes the mutex and returns the data.
    ///
    /// # Examples
    ///
    /// ```
    /// let mutex = corio_sync::Mutex::new("data");
    /// assert_eq!(mutex.into_inner(), "data");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => out.field("data", &&*guard),
            Err(_) => out.field("data", &format_args!("<locked>")),
        };
        out.finish()
    }
}

/// The future of [`Mutex::lock`].
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// let mutex = corio_sync::Mutex::new(5);
/// let lock: corio_sync::Lock<'_, i32> = mutex.lock();
/// assert_eq!(*lock.await, 5);
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Lock<'a, T> {
    acquiring: Acquiring<'a>,
    mutex: &'a Mutex<T>,
}

impl<'a, T> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let mutex = self.mutex;
        self.acquiring.poll(cx).map(|()| MutexGuard::new(mutex))
    }
}

impl<T> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").finish_non_exhaustive()
    }
}

/// Access to a [`Mutex`]'s data while the lock is held; dropping it unlocks.
///
/// The guard may be held across `.await`s and sent to another thread (when
/// `T: Send`); it is shared between threads only when `T: Sync`:
///
/// ```compile_fail
/// fn shared<T: Sync>(_: T) {}
/// let mutex = corio_sync::Mutex::new(std::cell::Cell::new(0));
/// shared(mutex.try_lock().unwrap()); // `Cell` is not `Sync`
/// ```
///
/// # Examples
///
/// ```
/// let mutex = corio_sync::Mutex::new(String::from("a"));
/// let mut guard = mutex.try_lock().unwrap();
/// guard.push('b');
/// drop(guard);
/// assert_eq!(*mutex.try_lock().unwrap(), "ab");
/// ```
#[must_use = "the mutex unlocks at once if the guard is not kept"]
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
    /// Makes the guard `Sync` only when `T: Sync` (it hands out `&T`), and
    /// `Send` only when `T: Send`.
    _data: PhantomData<&'a mut T>,
}

impl<'a, T> MutexGuard<'a, T> {
    /// Wraps the lock that the caller has just acquired.
    fn new(mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
        MutexGuard {
            mutex,
            _data: PhantomData,
        }
    }

    /// The mutex this guard locks; used by `Condition` to lock it again.
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard owns the mutex's only permit, so no other guard
        // exists, and the data lives as long as the borrow of the mutex.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` also rules out other references
        // obtained through this guard.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.gate.release_one();
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
