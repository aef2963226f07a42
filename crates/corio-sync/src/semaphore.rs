//! [`Semaphore`]: a count of permits, handed out in arrival order.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::TryAcquireError;
use crate::gate::{Acquiring, Gate};

/// A counting semaphore (asyncio's `Semaphore`): `acquire().await` gives a
/// permit, and dropping the permit releases it.
///
/// Fair: permits go to waiting acquisitions in arrival order, and neither
/// `acquire` nor `try_acquire` takes a permit while someone is waiting.
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// use corio_sync::Semaphore;
///
/// let semaphore = Semaphore::new(2);
/// let first = semaphore.acquire().await;
/// let second = semaphore.acquire().await;
/// assert!(semaphore.try_acquire().is_err());
/// drop(first);
/// assert_eq!(semaphore.available_permits(), 1);
/// # drop(second);
/// # });
/// ```
#[derive(Debug)]
pub struct Semaphore {
    gate: Gate,
}

impl Semaphore {
    /// Creates a semaphore with `permits` free permits.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = corio_sync::Semaphore::new(3);
    /// assert_eq!(semaphore.available_permits(), 3);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            gate: Gate::new(permits),
        }
    }

    /// Waits for a permit. The future is cancel-safe: dropped before it
    /// completes, it leaves the queue, and a permit it was granted passes to
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
    /// let semaphore = corio_sync::Semaphore::new(1);
    /// let permit = semaphore.acquire().await;
    /// assert_eq!(semaphore.available_permits(), 0);
    /// drop(permit);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// # });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            acquiring: Acquiring::new(&self.gate),
            semaphore: self,
        }
    }

    /// Takes a permit if one is free now.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError`] if no permit is free (and so when others wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = corio_sync::Semaphore::new(1);
    /// let permit = semaphore.try_acquire().unwrap();
    /// assert!(semaphore.try_acquire().is_err());
    /// drop(permit);
    /// assert!(semaphore.try_acquire().is_ok());
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        if self.gate.try_acquire() {
            Ok(SemaphorePermit { semaphore: self })
        } else {
            Err(TryAcquireError)
        }
    }

    /// Adds `count` permits, handing them to waiters first.
    ///
    /// # Panics
    ///
    /// Panics if the number of free permits would overflow `usize`.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = corio_sync::Semaphore::new(0);
    /// semaphore.add_permits(2);
    /// assert_eq!(semaphore.available_permits(), 2);
    /// ```
    pub fn add_permits(&self, count: usize) {
        self.gate.release(count);
    }

    /// Returns the number of free permits (zero whenever someone waits).
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = corio_sync::Semaphore::new(1);
    /// let _permit = semaphore.try_acquire().unwrap();
    /// assert_eq!(semaphore.available_permits(), 0);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.gate.available()
    }
}

/// The future of [`Semaphore::acquire`].
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// let semaphore = corio_sync::Semaphore::new(1);
/// let acquire: corio_sync::Acquire<'_> = semaphore.acquire();
/// let _permit = acquire.await;
/// # });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire<'a> {
    acquiring: Acquiring<'a>,
    semaphore: &'a Semaphore,
}

impl<'a> Future for Acquire<'a> {
    type Output = SemaphorePermit<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let semaphore = self.semaphore;
        self.acquiring
            .poll(cx)
            .map(|()| SemaphorePermit { semaphore })
    }
}

/// A permit of a [`Semaphore`]; dropping it releases the permit.
///
/// # Examples
///
/// ```
/// let semaphore = corio_sync::Semaphore::new(1);
/// {
///     let _permit = semaphore.try_acquire().unwrap();
///     assert_eq!(semaphore.available_permits(), 0);
/// }
/// assert_eq!(semaphore.available_permits(), 1);
/// ```
#[derive(Debug)]
#[must_use = "the permit is released at once if it is not kept"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.semaphore.gate.release_one();
    }
}
