//! The seam where executors and IO reactors meet.
//!
//! An executor owns exactly one [`Driver`]. When it has no task ready to run it
//! calls [`Driver::park`], which blocks the thread until the driver has events to
//! dispatch, the timeout passes, or another thread calls [`Unpark::unpark`] on the
//! driver's unparker. A reactor dispatches events by waking the [`Waker`]s that
//! IO resources registered with it; the executor then finds those tasks in its
//! ready queue.
//!
//! # The contract a driver honours
//!
//! 1. `park(None)` blocks until an event is dispatched or `unpark` is called;
//!    `park(Some(d))` returns after at most `d` (plus scheduling delay) in any
//!    case; `park(Some(Duration::ZERO))` never blocks: it dispatches what is
//!    already there and returns.
//! 2. An `unpark` that happens before a `park` is not lost: the next `park`
//!    returns at once (a token, like [`std::thread::park`]). Several `unpark`
//!    calls before one `park` may be merged into one wake-up.
//! 3. `park` may return spuriously; executors re-check their queues anyway.
//! 4. `park` wakes wakers; it never polls a future itself. Wakers it calls may
//!    re-enter the executor's schedule function on this same thread.
//! 5. `park` reports OS failures as `io::Error`; the executor decides whether
//!    they are fatal. Interrupted system calls (`EINTR`) are retried inside the
//!    driver and never reported.
//! 6. [`Driver::io_context`] returns the object that IO resources created on
//!    this loop look up (see [`io_context`]); a driver without IO returns
//!    `None`, and socket types then fail with a clear `io::Error`.
//!
//! [`Waker`]: std::task::Waker

use std::any::Any;
use std::cell::RefCell;
use std::io;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::lock;

/// What an executor needs from the thing that blocks its thread: an IO reactor,
/// a simulator, or plain thread parking.
///
/// # The contract a driver honours
///
/// 1. `park(None)` blocks until an event is dispatched or `unpark` is called;
///    `park(Some(d))` returns after at most `d` (plus scheduling delay) in any
///    case; `park(Some(Duration::ZERO))` never blocks: it dispatches what is
///    already there and returns.
/// 2. An `unpark` that happens before a `park` is not lost: the next `park`
///    returns at once (a token, like [`std::thread::park`]). Several `unpark`
///    calls before one `park` may be merged into one wake-up.
/// 3. `park` may return spuriously; executors re-check their queues anyway.
/// 4. `park` wakes wakers; it never polls a future itself. Wakers it calls may
///    re-enter the executor's schedule function on this same thread.
/// 5. `park` reports OS failures as `io::Error`; the executor decides whether
///    they are fatal. Interrupted system calls (`EINTR`) are retried inside the
///    driver and never reported.
/// 6. [`Driver::io_context`] returns the object that IO resources created on
///    this loop look up (see [`io_context`]); a driver without IO returns
///    `None`, and socket types then fail with a clear `io::Error`.
///
/// # Examples
///
/// A driver with no IO that only sleeps:
///
/// ```
/// use corio_core::{Driver, ParkDriver};
/// use std::time::Duration;
///
/// let mut driver = ParkDriver::new();
/// driver.unparker().unpark();
/// // The token left by `unpark` makes this return at once.
/// driver.park(None).unwrap();
/// driver.park(Some(Duration::from_millis(1))).unwrap();
/// ```
pub trait Driver: 'static {
    /// Blocks the current thread until an event is dispatched, `timeout` passes,
    /// or the driver is unparked.
    ///
    /// # Errors
    ///
    /// Returns the OS error when waiting for events fails.
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// Returns a handle that wakes this driver from any thread.
    fn unparker(&self) -> Arc<dyn Unpark>;

    /// Returns the IO context that resources created on this driver's loop use,
    /// or `None` for a driver without IO.
    fn io_context(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        None
    }
}

/// Wakes a parked [`Driver`] from any thread.
///
/// # Examples
///
/// ```
/// use corio_core::{Driver, ParkDriver};
///
/// let mut driver = ParkDriver::new();
/// let unparker = driver.unparker();
/// std::thread::spawn(move || unparker.unpark());
/// driver.park(None).unwrap(); // returns once the other thread unparks
/// ```
pub trait Unpark: Send + Sync + 'static {
    /// Makes the driver's current or next `park` return.
    fn unpark(&self);
}

/// A [`Driver`] for loops that need no IO: it parks the thread on a condition
/// variable.
///
/// # Examples
///
/// ```
/// use corio_core::{Driver, ParkDriver};
/// use std::time::{Duration, Instant};
///
/// let mut driver = ParkDriver::new();
/// let start = Instant::now();
/// driver.park(Some(Duration::from_millis(5))).unwrap();
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// ```
#[derive(Debug, Default)]
pub struct ParkDriver {
    inner: Arc<ParkInner>,
}

#[derive(Debug, Default)]
struct ParkInner {
    notified: Mutex<bool>,
    condvar: Condvar,
}

impl ParkDriver {
    /// Creates a parking driver.
    ///
    /// # Examples
    ///
    /// ```
    /// let driver = corio_core::ParkDriver::new();
    /// # let _ = driver;
    /// ```
    pub fn new() -> ParkDriver {
        ParkDriver::default()
    }
}

impl Driver for ParkDriver {
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let mut notified = lock(&self.inner.notified);
        match timeout {
            None => {
                while !*notified {
                    notified = wait(&self.inner.condvar, notified);
                }
            }
            Some(timeout) => {
                let deadline = Instant::now().checked_add(timeout);
                while !*notified {
                    let now = Instant::now();
                    let remaining = match deadline {
                        Some(deadline) if deadline > now => deadline - now,
                        Some(_) => break,
                        // A timeout too large to represent is a block forever.
                        None => Duration::from_secs(u32::MAX as u64),
                    };
                    notified = wait_timeout(&self.inner.condvar, notified, remaining);
                }
            }
        }
        *notified = false;
        Ok(())
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.inner.clone()
    }
}

impl Unpark for ParkInner {
    fn unpark(&self) {
        *lock(&self.notified) = true;
        self.condvar.notify_one();
    }
}

// Waiting recovers a poisoned lock by the same policy as `lock`.
fn wait<'a>(
    condvar: &Condvar,
    guard: std::sync::MutexGuard<'a, bool>,
) -> std::sync::MutexGuard<'a, bool> {
    condvar
        .wait(guard)
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn wait_timeout<'a>(
    condvar: &Condvar,
    guard: std::sync::MutexGuard<'a, bool>,
    timeout: Duration,
) -> std::sync::MutexGuard<'a, bool> {
    match condvar.wait_timeout(guard, timeout) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}

thread_local! {
    static IO_CONTEXT: RefCell<Option<Arc<dyn Any + Send + Sync>>> = const { RefCell::new(None) };
}

/// Makes `context` the IO context of the current thread until the returned
/// guard is dropped, which restores the previous one.
///
/// Executors call this with their driver's [`Driver::io_context`] while they
/// run tasks, so that IO resources created by those tasks find the reactor.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
///
/// let guard = corio_core::enter_io_context(Some(Arc::new(7u32)));
/// let seen = corio_core::io_context().and_then(|c| c.downcast::<u32>().ok());
/// assert_eq!(seen.as_deref(), Some(&7));
/// drop(guard);
/// assert!(corio_core::io_context().is_none());
/// ```
pub fn enter_io_context(context: Option<Arc<dyn Any + Send + Sync>>) -> IoContextGuard {
    let previous = IO_CONTEXT.with(|slot| slot.replace(context));
    IoContextGuard { previous }
}

/// Returns the IO context of the current thread's loop, if it has one.
///
/// # Examples
///
/// ```
/// // Outside any loop there is no IO context.
/// assert!(corio_core::io_context().is_none());
/// ```
pub fn io_context() -> Option<Arc<dyn Any + Send + Sync>> {
    IO_CONTEXT.with(|slot| slot.borrow().clone())
}

/// Restores the previous IO context when dropped; returned by
/// [`enter_io_context`].
///
/// # Examples
///
/// ```
/// let _guard = corio_core::enter_io_context(None);
/// ```
#[must_use = "the IO context is left as soon as the guard is dropped"]
#[derive(Debug)]
pub struct IoContextGuard {
    previous: Option<Arc<dyn Any + Send + Sync>>,
}

impl Drop for IoContextGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        IO_CONTEXT.with(|slot| *slot.borrow_mut() = previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpark_from_another_thread_wakes_a_blocked_park() {
        let mut driver = ParkDriver::new();
        let unparker = driver.unparker();
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            unparker.unpark();
        });
        driver.park(None).unwrap();
        waker.join().unwrap();
    }

    #[test]
    fn token_is_consumed_by_one_park() {
        let mut driver = ParkDriver::new();
        driver.unparker().unpark();
        driver.unparker().unpark();
        driver.park(Some(Duration::ZERO)).unwrap();
        let start = Instant::now();
        driver.park(Some(Duration::from_millis(20))).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn zero_timeout_never_blocks() {
        let mut driver = ParkDriver::new();
        let start = Instant::now();
        driver.park(Some(Duration::ZERO)).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn huge_timeout_with_token_returns() {
        let mut driver = ParkDriver::new();
        driver.unparker().unpark();
        driver.park(Some(Duration::MAX)).unwrap();
    }
}
