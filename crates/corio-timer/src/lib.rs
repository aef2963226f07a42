//! Timers for corio: `sleep`, `timeout` and `interval` over a hierarchical
//! timing wheel, with a real or a virtual clock.
//!
//! Most users want the [`corio`](https://docs.rs/corio) facade, which
//! re-exports these futures as `corio::time`. This crate exists so that the
//! timer machinery has one home below the executor: an event loop owns a
//! [`Timers`] driver, [enters](Timers::enter) it on its thread so that
//! [`sleep`] finds it, calls [`Timers::fire_due`] every iteration, parks for
//! at most [`Timers::park_timeout`], and, with a virtual clock, calls
//! [`Timers::advance_virtual`] whenever nothing is ready, so that a test
//! sleeping an hour finishes at once.
//!
//! # Example
//!
//! A minimal loop with a virtual clock:
//!
//! ```
//! use corio_timer::{sleep, timeout, Clock, Instant, TimeoutError, Timers};
//! use std::future::Future;
//! use std::pin::pin;
//! use std::sync::Arc;
//! use std::task::{Context, Poll, Wake, Waker};
//! use std::time::Duration;
//!
//! struct Noop;
//! impl Wake for Noop {
//!     fn wake(self: Arc<Self>) {}
//! }
//!
//! let timers = Timers::new(Clock::manual());
//! let _entered = timers.enter();
//! let start = timers.now();
//! let mut task = pin!(async {
//!     sleep(Duration::from_secs(3600)).await;
//!     timeout(Duration::from_secs(1), sleep(Duration::from_secs(2))).await
//! });
//! let waker = Waker::from(Arc::new(Noop));
//! let result = loop {
//!     if let Poll::Ready(result) = task.as_mut().poll(&mut Context::from_waker(&waker)) {
//!         break result;
//!     }
//!     if timers.fire_due() == 0 {
//!         timers.advance_virtual();
//!     }
//! };
//! assert_eq!(result, Err(TimeoutError));
//! assert_eq!(Instant::now() - start, Duration::from_secs(3601));
//! assert!(timers.is_empty());
//! ```
//!
//! # Implementation
//!
//! A **hierarchical hashed timing wheel** (Varghese and Lauck) over integer
//! ticks of **1 ms**, in the private `wheel` module. It is pure: no clock, no
//! waker, no lock. The `tick` module converts [`Instant`]s to ticks, rounding
//! deadlines up and the current time down, so a timer never fires early.
//!
//! * **Shape: 11 levels of 64 slots.** Slot width is `64^L` ticks at level
//!   `L`. 64 slots make each level's occupancy one `u64`, so the next
//!   occupied slot is one `trailing_zeros` and the next expiry a scan of 11
//!   words. tokio uses 6 levels (about 2.2 years of range) and clamps longer
//!   deadlines; 11 levels cover all 2^64 ticks, so a far deadline is an
//!   ordinary entry of the top level, cascaded down like any other, with no
//!   overflow list and no clamping. The 5 extra levels cost 2.5 KiB of list
//!   heads per loop and nothing per operation when they are empty.
//! * **Storage.** Entries live in a slab with a free list; each slot is an
//!   intrusive doubly linked list of `u32` slab indices, so insert and cancel
//!   are O(1) and no unsafe code is needed. A handle is the index plus the
//!   entry's unique `u64` sequence number, so a stale handle can never touch
//!   an entry that reused its index.
//! * **Advancing** visits only occupied slots (via the bitmaps), firing or
//!   cascading their entries: work is proportional to the timers that fire
//!   or cascade plus the occupied slots crossed. A deadline that is already
//!   due on insertion goes to a `due` list that fires at the next advance.
//! * **Order.** Each entry keeps its exact deadline; the small batch fired by
//!   one advance is sorted by (deadline, registration order) before its
//!   wakers are woken, outside the lock.
//! * **Resolution.** Timers fire on 1 ms ticks: never before their deadline,
//!   and with the real clock at most one tick plus the loop's scheduling
//!   delay after it. Virtual time jumps the clock to the tick of the next
//!   timer.
//! * **Allocation.** None per timer in the steady state: the slab and the
//!   fired batch keep their capacity, so after the number of live timers has
//!   reached its high-water mark, registering, firing and cancelling a timer
//!   allocate nothing. A [`Sleep`] is not boxed; its first poll clones the
//!   waker and an `Arc` to the driver.
//! * **Locking.** The wheel sits behind a `std::sync::Mutex` so that
//!   [`Sleep`] and [`Timeout`] are `Send + Sync`; each operation (register,
//!   re-poll, cancel, fire) takes it once and briefly.

mod clock;
#[doc(hidden)]
pub mod doc_support;
mod driver;
mod instant;
mod interval;
#[cfg(all(test, loom))]
mod loom_tests;
mod sleep;
mod tick;
mod timeout;
mod wheel;

pub use clock::Clock;
pub use driver::{EnterGuard, TimerHandle, Timers};
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Timeout, TimeoutError};

/// The README's example runs as a doctest, so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
