//! The [`UringDriver`]: the [`Driver`] that submits the operations sockets
//! queued, waits for completions, applies them to the state and wakes the
//! tasks they concern.
//!
//! # Protocol
//!
//! * Sockets never touch the ring: they queue entries in the state's
//!   `pending` list under its mutex. `park` moves them into the submission
//!   queue and makes one `io_uring_enter` that submits them all and waits
//!   (`park(Some(0))` with nothing queued makes none).
//! * Completions are applied under the mutex; the wakers they release are
//!   woken after it is released, so a woken task that uses a socket never
//!   waits for the dispatch.
//! * Cross-thread unpark writes to an eventfd on which a read is always
//!   armed, behind the `unparked` flag: only the first unpark since the last
//!   wake-up makes the system call. A socket used from another thread than
//!   the loop's unparks the loop, so that its entries are submitted.
//! * Dropping the driver cancels every operation in flight and waits (at
//!   most a second) for their completions before the ring closes; if the
//!   kernel has not finished by then, the buffers are leaked rather than
//!   freed under it. Sockets that outlive the driver fail with
//!   [`Error::DriverGone`](crate::Error::DriverGone).

use std::any::Any;
use std::cell::Cell;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use corio_core::{lock, Driver, Unpark};

use crate::state::{State, EVENTFD};
use crate::sys::{self, BufRing, Completion, Ring};

/// Submission queue entries of the ring.
const RING_ENTRIES: u32 = 1024;
/// Provided buffers (a power of two) and their size.
const BUFFERS: u16 = 1024;
const BUFFER_SIZE: u32 = 16 * 1024;

/// A [`Driver`] on Linux's io_uring: reads are multishot receives into
/// driver-owned buffers, writes are copied into driver-owned buffers and
/// sent, accepts are multishot; every submission of a loop iteration goes to
/// the kernel in the one `io_uring_enter` that also waits.
///
/// Sockets of [`corio_uring::net`](crate::net) (and of `corio::net` on a loop
/// built with this driver) find it through [`Driver::io_context`].
///
/// # Examples
///
/// ```
/// use corio_core::Driver;
/// use std::time::Duration;
///
/// # fn main() -> std::io::Result<()> {
/// let mut driver = match corio_uring::UringDriver::new() {
///     Ok(driver) => driver,
///     // Kernels (or sandboxes) without io_uring refuse it.
///     Err(_) => return Ok(()),
/// };
/// driver.unparker().unpark();
/// driver.park(None)?; // the unpark token makes this return at once
/// driver.park(Some(Duration::from_millis(1)))?;
/// # Ok(()) }
/// ```
pub struct UringDriver {
    ring: Ring,
    shared: Arc<Shared>,
    completions: Vec<Completion>,
    to_wake: Vec<Waker>,
    /// The ring is bound to the thread of the first `park`: the driver
    /// stays on the thread that creates it.
    _not_send: PhantomData<*const ()>,
}

/// What the driver shares with its sockets and unparkers.
pub(crate) struct Shared {
    state: Mutex<State>,
    eventfd: OwnedFd,
    unparked: AtomicBool,
}

thread_local! {
    /// The driver whose loop runs on this thread (the last one parked).
    static PARKING: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

impl Shared {
    /// The shared state of the current loop's io_uring driver, if the loop
    /// runs one.
    pub(crate) fn current() -> Option<Arc<Shared>> {
        corio_core::io_context()?.downcast::<Shared>().ok()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Makes sure the entries just queued get submitted: a loop parked on
    /// another thread is woken.
    pub(crate) fn queued(self: &Arc<Self>) {
        let ours = PARKING.with(Cell::get) == Arc::as_ptr(self);
        if !ours {
            self.unpark();
        }
    }
}

impl Unpark for Shared {
    fn unpark(&self) {
        if !self.unparked.swap(true, Ordering::AcqRel) {
            sys::signal(&self.eventfd);
        }
    }
}

impl UringDriver {
    /// Creates a driver with its own ring and buffers.
    ///
    /// # Errors
    ///
    /// Returns the OS error when the kernel refuses io_uring (`ENOSYS` on
    /// kernels without it, `EPERM` under seccomp profiles that forbid it) or
    /// lacks the features the driver needs (provided-buffer rings, Linux
    /// 5.19 and later).
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub fn new() -> io::Result<UringDriver> {
        let ring = Ring::new(RING_ENTRIES)?;
        let buffers = BufRing::new(BUFFERS, BUFFER_SIZE)?;
        ring.register(&buffers)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(buffers, BUFFER_SIZE as usize, BUFFERS as usize)),
            eventfd: sys::eventfd()?,
            unparked: AtomicBool::new(false),
        });
        arm_eventfd(&shared.eventfd, &mut shared.lock());
        Ok(UringDriver {
            ring,
            shared,
            completions: Vec::new(),
            to_wake: Vec::new(),
            _not_send: PhantomData,
        })
    }

    fn submit_and_dispatch(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        {
            let mut state = self.shared.lock();
            self.ring.push_all(&mut state.pending)?;
        }
        self.ring.submit_and_wait(timeout)?;
        self.ring.drain(&mut self.completions);
        if self.completions.is_empty() {
            return Ok(());
        }
        {
            let mut state = self.shared.lock();
            for completion in self.completions.drain(..) {
                if completion.user_data == EVENTFD {
                    state.counter_armed = false;
                    self.shared.unparked.store(false, Ordering::Release);
                    arm_eventfd(&self.shared.eventfd, &mut state);
                } else {
                    state.complete(completion, &mut self.to_wake);
                }
            }
        }
        for waker in self.to_wake.drain(..) {
            waker.wake();
        }
        Ok(())
    }
}

/// Arms the read of the eventfd that cross-thread unparks write to.
fn arm_eventfd(eventfd: &OwnedFd, state: &mut State) {
    if !state.counter_armed && !state.shutdown {
        state.counter_armed = true;
        let entry = sys::read_counter(eventfd.as_raw_fd(), &mut state.counter, EVENTFD);
        state.pending.push(entry);
    }
}

impl Driver for UringDriver {
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        PARKING.with(|parking| parking.set(Arc::as_ptr(&self.shared)));
        self.ring.enable()?;
        self.submit_and_dispatch(timeout)
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.shared.clone()
    }

    fn io_context(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        Some(self.shared.clone())
    }
}

impl Drop for UringDriver {
    fn drop(&mut self) {
        let mut in_flight = self.shared.lock().cancel_all();
        if !self.ring.was_enabled() {
            // Never parked: nothing was ever submitted.
            in_flight = 0;
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while in_flight > 0 && Instant::now() < deadline {
            let pushed = {
                let mut state = self.shared.lock();
                self.ring.push_all(&mut state.pending)
            };
            if pushed.is_err()
                || self
                    .ring
                    .submit_and_wait(Some(Duration::from_millis(10)))
                    .is_err()
            {
                break;
            }
            self.ring.drain(&mut self.completions);
            let mut state = self.shared.lock();
            for completion in self.completions.drain(..) {
                if completion.user_data == EVENTFD {
                    state.counter_armed = false;
                } else {
                    state.complete(completion, &mut self.to_wake);
                }
            }
            in_flight = state.cancel_all();
        }
        if in_flight > 0 {
            // The kernel may still write into the buffers: never free them.
            std::mem::forget(self.shared.clone());
        }
        let mut wakers = self.shared.lock().all_waiters();
        wakers.append(&mut self.to_wake);
        for waker in wakers {
            waker.wake();
        }
        PARKING.with(|parking| {
            if parking.get() == Arc::as_ptr(&self.shared) {
                parking.set(std::ptr::null());
            }
        });
    }
}

impl std::fmt::Debug for UringDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringDriver").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn driver() -> Option<UringDriver> {
        match UringDriver::new() {
            Ok(driver) => Some(driver),
            Err(error) => {
                println!("skipped: io_uring is not available here ({error})");
                None
            }
        }
    }

    #[test]
    fn unpark_from_another_thread_wakes_a_blocked_park() {
        let Some(mut driver) = driver() else { return };
        // The first park binds the ring to this thread.
        driver.park(Some(Duration::ZERO)).unwrap();
        let unparker = driver.unparker();
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            unparker.unpark();
        });
        let start = Instant::now();
        driver.park(None).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(10));
        waker.join().unwrap();
    }

    #[test]
    fn an_unpark_before_park_is_a_token_consumed_once() {
        let Some(mut driver) = driver() else { return };
        driver.unparker().unpark();
        driver.unparker().unpark();
        driver.park(None).unwrap();
        let start = Instant::now();
        driver.park(Some(Duration::from_millis(20))).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn a_zero_timeout_never_blocks_and_a_timeout_returns_without_events() {
        let Some(mut driver) = driver() else { return };
        let start = Instant::now();
        for _ in 0..100 {
            driver.park(Some(Duration::ZERO)).unwrap();
        }
        assert!(start.elapsed() < Duration::from_secs(5));
        let start = Instant::now();
        driver.park(Some(Duration::from_millis(15))).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(15));
    }
}
