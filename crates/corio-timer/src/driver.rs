//! [`Timers`]: the timer driver an event loop owns, and the thread-local
//! through which [`Sleep`](crate::Sleep) finds it.
//!
//! # Protocol
//!
//! `Shared` holds the clock, the tick origin and a `Mutex<Wheel>`. Every
//! operation takes the lock once and briefly: a first poll inserts, a later
//! poll checks whether its entry is still live (a missing entry means it
//! fired) and refreshes the waker, a drop removes. Firing moves the wakers
//! out of the wheel into a batch under the lock, then sorts and wakes them
//! after the lock is released, so a waker may freely touch the timers.
//!
//! Beside the lock, `Shared` keeps `next`, a lower bound on the wheel's next
//! expiration (`u64::MAX` when it is empty), written only under the lock:
//! an insert lowers it to the wheel's new next expiration, an advance sets
//! it exactly, a removal leaves it (it can only be too low then).
//! [`Timers::fire_due_if_needed`] reads it without the lock and returns at
//! once when the clock has not reached it, so that a driver with nothing due
//! is not locked at all: the multi-thread runtime's workers fire each
//! other's wheels in their maintenance, and taking each lock there moved the
//! lock's cache line between them on every round. Because the bound is
//! never above the next expiration (a cascade step included), a loop that
//! parks until [`Timers::park_timeout`] never finds that call skipping work
//! that the timeout announced. A call racing an insert on another thread
//! and missing it behaves as if it had run just before the insert.

use crate::tick::TickSource;
use crate::wheel::{Fired, Key, Wheel};
use crate::{Clock, Instant};
use corio_core::loom_sync::{self as loom, MutexGuard};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

/// What the wheel stores per timer.
#[derive(Debug)]
pub(crate) struct Registration {
    pub(crate) waker: Waker,
    /// The exact deadline, to order timers that fire in the same tick.
    pub(crate) deadline: Instant,
}

#[derive(Debug)]
pub(crate) struct Shared {
    clock: Clock,
    ticks: TickSource,
    /// The one lock other threads contend for; loom's under `--cfg loom`
    /// (see `loom_tests.rs`), so that `cargo xtask loom` explores it.
    /// On cache lines of its own: the owner writes the lock word and the
    /// wheel on every fire, and the fields beside it are read by every
    /// thread that fires or sleeps on this driver.
    wheel: OwnLines<loom::Mutex<Wheel<Registration>>>,
    /// A lower bound on the wheel's next expiration (`u64::MAX` when it is
    /// empty); see the module documentation.
    next: AtomicU64,
}

/// A value aligned to, and so padded to a multiple of, 128 bytes (two cache
/// lines, as the adjacent-line prefetcher of x86 pulls them in pairs): no
/// other field shares its lines.
#[derive(Debug)]
#[repr(align(128))]
struct OwnLines<T>(T);

#[cfg(not(loom))]
use std::sync::atomic::AtomicU64;

#[cfg(loom)]
use ::loom::sync::atomic::AtomicU64;

thread_local! {
    static CURRENT: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

/// Returns the current thread's timer, if one is entered.
pub(crate) fn current() -> Option<Arc<Shared>> {
    CURRENT
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten()
}

/// Reads the clock of the current thread's timer, if one is entered.
pub(crate) fn current_now() -> Option<Instant> {
    CURRENT
        .try_with(|current| current.borrow().as_ref().map(|shared| shared.clock.now()))
        .ok()
        .flatten()
}

impl Shared {
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    fn lock(&self) -> MutexGuard<'_, Wheel<Registration>> {
        // The wheel is never left inconsistent across a panic: wakers are
        // woken after the lock is released.
        loom::lock(&self.wheel.0)
    }

    /// Registers a timer for `deadline`.
    pub(crate) fn insert(&self, deadline: Instant, waker: Waker) -> Key {
        let tick = self.ticks.deadline_to_tick(deadline);
        let mut wheel = self.lock();
        let key = wheel.insert(tick, Registration { waker, deadline });
        self.lower_next(&wheel);
        key
    }

    /// Lowers `next` to the wheel's next expiration, after an insert; called
    /// with the lock held (through the guard `wheel`), which orders every
    /// write of `next`.
    fn lower_next(&self, wheel: &Wheel<Registration>) {
        let next = wheel.next_expiration().unwrap_or(u64::MAX);
        if next < self.next.load(Ordering::Relaxed) {
            self.next.store(next, Ordering::Relaxed);
        }
    }

    /// Sets `next` to the wheel's next expiration, after an advance; called
    /// with the lock held, through the guard `wheel`.
    fn refresh_next(&self, wheel: &Wheel<Registration>) {
        let next = wheel.next_expiration().unwrap_or(u64::MAX);
        self.next.store(next, Ordering::Relaxed);
    }

    /// Returns `true` when the timer of `key` has fired (its entry is gone);
    /// otherwise makes sure it will wake `waker`.
    pub(crate) fn poll_fired(&self, key: Key, waker: &Waker) -> bool {
        let mut wheel = self.lock();
        match wheel.get_mut(key) {
            None => true,
            Some(registration) => {
                if !registration.waker.will_wake(waker) {
                    registration.waker.clone_from(waker);
                }
                false
            }
        }
    }

    /// Cancels the timer of `key`; returns its waker if it had not fired.
    pub(crate) fn remove(&self, key: Key) -> Option<Waker> {
        let removed = self.lock().remove(key);
        removed.map(|registration| registration.waker)
    }

    /// Moves the timer of `key`, if it has not fired, to `deadline`; returns
    /// the new key, or `None` when it had already fired.
    pub(crate) fn reset(&self, key: Key, deadline: Instant) -> Option<Key> {
        let tick = self.ticks.deadline_to_tick(deadline);
        let mut wheel = self.lock();
        let registration = wheel.remove(key)?;
        let key = wheel.insert(
            tick,
            Registration {
                waker: registration.waker,
                deadline,
            },
        );
        self.lower_next(&wheel);
        Some(key)
    }
}

/// The timer driver of one event loop: owns the wheel, fires expired timers
/// and tells the loop how long it may park.
///
/// # Examples
///
/// ```
/// use corio_timer::{Clock, Timers};
///
/// let timers = Timers::new(Clock::manual());
/// let _guard = timers.enter(); // `sleep` on this thread now uses `timers`
/// assert_eq!(timers.next_deadline(), None);
/// assert_eq!(timers.fire_due(), 0);
/// assert!(timers.is_empty());
/// ```
#[derive(Debug)]
pub struct Timers {
    shared: Arc<Shared>,
    /// The reused buffer of fired timers (taken out while waking).
    batch: Mutex<Vec<Fired<Registration>>>,
}

impl Timers {
    /// Creates a driver reading `clock`; tick 0 starts at the clock's
    /// current time.
    ///
    /// # Examples
    ///
    /// ```
    /// let timers = corio_timer::Timers::new(corio_timer::Clock::real());
    /// assert!(!timers.clock().is_virtual());
    /// ```
    pub fn new(clock: Clock) -> Timers {
        let ticks = TickSource::new(clock.now());
        Timers {
            shared: Arc::new(Shared {
                clock,
                ticks,
                wheel: OwnLines(loom::Mutex::new(Wheel::new())),
                next: AtomicU64::new(u64::MAX),
            }),
            batch: Mutex::new(Vec::new()),
        }
    }

    /// The clock this driver reads.
    ///
    /// # Examples
    ///
    /// ```
    /// let timers = corio_timer::Timers::new(corio_timer::Clock::manual());
    /// assert!(timers.clock().is_virtual());
    /// ```
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Reads the clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let timers = corio_timer::Timers::new(corio_timer::Clock::manual());
    /// assert_eq!(timers.now(), timers.clock().now());
    /// ```
    pub fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// Makes this driver the current thread's timer, so that [`sleep`],
    /// [`timeout`] and [`Instant::now`] use it, until the guard drops (which
    /// restores the previous one).
    ///
    /// [`sleep`]: crate::sleep
    /// [`timeout`]: crate::timeout
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::{Clock, Instant, Timers};
    /// use std::time::Duration;
    ///
    /// let timers = Timers::new(Clock::manual());
    /// let guard = timers.enter();
    /// timers.clock().advance(Duration::from_secs(60));
    /// assert_eq!(Instant::now(), timers.now());
    /// drop(guard);
    /// ```
    pub fn enter(&self) -> EnterGuard {
        enter(&self.shared)
    }

    /// A handle to this driver that other threads may hold.
    ///
    /// # Examples
    ///
    /// ```
    /// let timers = corio_timer::Timers::new(corio_timer::Clock::real());
    /// let handle = timers.handle();
    /// std::thread::spawn(move || handle.now()).join().unwrap();
    /// ```
    pub fn handle(&self) -> TimerHandle {
        TimerHandle {
            shared: self.shared.clone(),
        }
    }

    /// The next instant at which [`Timers::fire_due`] has work to do, or
    /// `None` when no timer is registered.
    ///
    /// It is never later than the earliest deadline (rounded up to the 1 ms
    /// tick). When the earliest timer is more than 64 ms away it may be
    /// earlier: the instant at which the wheel moves a group of far timers
    /// to a finer level (at most one such step per level on the way). A
    /// timer already due gives the current tick.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::{Clock, Timers};
    ///
    /// assert_eq!(Timers::new(Clock::real()).next_deadline(), None);
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        let tick = self.shared.lock().next_expiration()?;
        Some(self.shared.ticks.tick_to_instant(tick))
    }

    /// How long the loop may park before a timer may need firing: the time
    /// until [`Timers::next_deadline`], which is a tick boundary, so parking
    /// exactly this long never wakes before a timer's tick. `None` when no
    /// timer is registered; zero when one is due.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::{Clock, Timers};
    ///
    /// assert_eq!(Timers::new(Clock::real()).park_timeout(), None);
    /// ```
    pub fn park_timeout(&self) -> Option<Duration> {
        let deadline = self.next_deadline()?;
        Some(deadline.saturating_duration_since(self.now()))
    }

    /// Reads the clock and fires every timer that is due, waking their
    /// tasks in (deadline, registration) order; returns how many fired.
    ///
    /// With the real clock a timer fires at the first call at or after the
    /// start of the 1 ms tick following its deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::{Clock, Timers};
    ///
    /// let timers = Timers::new(Clock::real());
    /// assert_eq!(timers.fire_due(), 0);
    /// ```
    pub fn fire_due(&self) -> usize {
        let now = self.shared.ticks.now_to_tick(self.shared.clock.now());
        self.fire_at(now)
    }

    /// Like [`Timers::fire_due`], but first compares the clock with a bound
    /// read without the lock, and returns 0 at once when no timer can be
    /// due yet (without reading the clock when no timer is registered). For
    /// drivers fired often, or by several threads (the multi-thread
    /// runtime's workers fire every wheel in their maintenance): a driver
    /// with nothing due costs them no lock. Skipped calls leave the wheel's
    /// position behind the clock, so a timer inserted afterwards may give an
    /// earlier [`Timers::next_deadline`] (a step that moves far timers down a
    /// level), never a later one; the call that fires then catches up.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::{Clock, Timers};
    /// use std::future::Future;
    /// use std::sync::Arc;
    /// use std::task::{Context, Wake, Waker};
    /// use std::time::Duration;
    ///
    /// struct Ignore;
    /// impl Wake for Ignore {
    ///     fn wake(self: Arc<Self>) {}
    /// }
    ///
    /// let timers = Timers::new(Clock::manual());
    /// let sleep = timers.handle().sleep_until(timers.now() + Duration::from_millis(5));
    /// let mut sleep = std::pin::pin!(sleep);
    /// let waker = Waker::from(Arc::new(Ignore));
    /// // The first poll registers the timer.
    /// assert!(sleep.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    /// assert_eq!(timers.fire_due_if_needed(), 0, "not due yet");
    /// timers.clock().advance(Duration::from_millis(5));
    /// assert_eq!(timers.fire_due_if_needed(), 1);
    /// ```
    pub fn fire_due_if_needed(&self) -> usize {
        let next = self.shared.next.load(Ordering::Relaxed);
        if next == u64::MAX {
            // Nothing registered: no need to read the clock either.
            return 0;
        }
        let now = self.shared.ticks.now_to_tick(self.shared.clock.now());
        if now < next {
            return 0;
        }
        self.fire_at(now)
    }

    /// Fires every timer due at tick `now`.
    fn fire_at(&self, now: u64) -> usize {
        let mut batch = self.take_batch();
        {
            let mut wheel = self.shared.lock();
            wheel.advance_to(now, &mut batch);
            self.shared.refresh_next(&wheel);
        }
        debug_assert!(batch.iter().all(|fired| fired.when <= now), "never early");
        self.wake(batch)
    }

    /// The virtual-time hook, for a loop with nothing ready to run: jumps a
    /// virtual clock to the next timer's tick and fires what is due there
    /// (timers already due fire without a jump). Returns `false`, doing
    /// nothing, with a real clock or when no timer is registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::{Clock, Timers};
    ///
    /// let timers = Timers::new(Clock::manual());
    /// assert!(!timers.advance_virtual(), "no timer");
    /// ```
    pub fn advance_virtual(&self) -> bool {
        if !self.shared.clock.is_virtual() {
            return false;
        }
        let mut batch = self.take_batch();
        {
            let mut wheel = self.shared.lock();
            let now = self.shared.ticks.now_to_tick(self.shared.clock.now());
            // Each round fires something or cascades far timers one level
            // down, so this ends after at most one round per level.
            while batch.is_empty() {
                let Some(next) = wheel.next_expiration() else {
                    break;
                };
                wheel.advance_to(next.max(now), &mut batch);
            }
            // Under the lock, so that no timer is inserted against a clock
            // behind the wheel.
            let reached = self.shared.ticks.tick_to_instant(wheel.elapsed());
            self.shared.clock.advance_to(reached);
            self.shared.refresh_next(&wheel);
        }
        self.wake(batch) > 0
    }

    /// The number of registered timers.
    ///
    /// # Examples
    ///
    /// ```
    /// let timers = corio_timer::Timers::new(corio_timer::Clock::real());
    /// assert_eq!(timers.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.lock().len()
    }

    /// Returns `true` when no timer is registered.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(corio_timer::Timers::new(corio_timer::Clock::real()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take_batch(&self) -> Vec<Fired<Registration>> {
        std::mem::take(&mut *corio_core::lock(&self.batch))
    }

    /// Wakes a batch in (deadline, registration) order, then keeps the
    /// buffer for the next batch.
    fn wake(&self, mut batch: Vec<Fired<Registration>>) -> usize {
        let count = batch.len();
        batch.sort_unstable_by_key(|fired| (fired.value.deadline, fired.seq));
        for fired in batch.drain(..) {
            fired.value.waker.wake();
        }
        let mut slot = corio_core::lock(&self.batch);
        if slot.capacity() < batch.capacity() {
            *slot = batch;
        }
        count
    }
}

/// A handle to a [`Timers`] driver: `Clone + Send + Sync`, for other threads
/// or for futures bound to a given driver.
///
/// # Examples
///
/// ```
/// use corio_timer::{Clock, Timers};
///
/// let timers = Timers::new(Clock::manual());
/// let handle = timers.handle().clone();
/// assert_eq!(handle.now(), timers.now());
/// ```
#[derive(Debug, Clone)]
pub struct TimerHandle {
    shared: Arc<Shared>,
}

impl TimerHandle {
    /// Reads the driver's clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let timers = corio_timer::Timers::new(corio_timer::Clock::manual());
    /// assert_eq!(timers.handle().now(), timers.now());
    /// ```
    pub fn now(&self) -> Instant {
        self.shared.now()
    }

    /// The driver's clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let timers = corio_timer::Timers::new(corio_timer::Clock::manual());
    /// assert!(timers.handle().clock().is_virtual());
    /// ```
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Makes the driver the current thread's timer until the guard drops,
    /// like [`Timers::enter`].
    ///
    /// # Examples
    ///
    /// ```
    /// let timers = corio_timer::Timers::new(corio_timer::Clock::manual());
    /// let handle = timers.handle();
    /// std::thread::spawn(move || {
    ///     let _guard = handle.enter();
    ///     assert_eq!(corio_timer::Instant::now(), handle.now());
    /// })
    /// .join()
    /// .unwrap();
    /// ```
    pub fn enter(&self) -> EnterGuard {
        enter(&self.shared)
    }

    /// A [`Sleep`](crate::Sleep) until `deadline` on this driver, usable on
    /// any thread without entering the driver.
    ///
    /// # Examples
    ///
    /// ```
    /// let timers = corio_timer::Timers::new(corio_timer::Clock::manual());
    /// let sleep = timers.handle().sleep_until(timers.now());
    /// assert_eq!(sleep.deadline(), timers.now());
    /// ```
    pub fn sleep_until(&self, deadline: Instant) -> crate::Sleep {
        crate::Sleep::bound(self.shared.clone(), deadline)
    }
}

fn enter(shared: &Arc<Shared>) -> EnterGuard {
    let previous = CURRENT.with(|current| current.replace(Some(shared.clone())));
    EnterGuard {
        previous,
        _not_send: PhantomData,
    }
}

/// Keeps a timer driver entered on the current thread; dropping it restores
/// the previously entered one. Returned by [`Timers::enter`].
///
/// # Examples
///
/// ```
/// let timers = corio_timer::Timers::new(corio_timer::Clock::real());
/// let guard: corio_timer::EnterGuard = timers.enter();
/// drop(guard);
/// ```
#[derive(Debug)]
#[must_use = "the driver is only entered while the guard is alive"]
pub struct EnterGuard {
    previous: Option<Arc<Shared>>,
    /// The guard restores a thread-local, so it must drop on its thread.
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // During thread teardown the slot may be gone; nothing to restore.
        let _ = CURRENT.try_with(|current| *current.borrow_mut() = previous);
    }
}
