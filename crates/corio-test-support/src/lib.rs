//! Test helpers shared by corio's crates; unpublished, used only as a
//! dev-dependency.
//!
//! Every crate's tests need a few of the same small pieces: wakers that count
//! their wake-ups or do nothing, a counter of drops, a `block_on` that parks
//! the thread, the message of a caught panic, a seeded shuffle. They live here once, so that a
//! test file names what it checks rather than rebuilding its harness. What is
//! specific to one crate (a queue executor for the task core, a park loop on
//! the reactor, the event loop's driver matrix) stays in that crate's
//! `tests/util` module.
//!
//! The crate depends on `std` alone (and on proptest behind the `proptest`
//! feature): corio-core's tests use it, so it must not depend on corio-core.
//!
//! # Example
//!
//! ```
//! use corio_test_support::{block_on, counting_waker, DropCounter};
//!
//! let drops = DropCounter::new();
//! let token = drops.token();
//! assert_eq!(block_on(async move { drop(token); 7 }), 7);
//! assert_eq!(drops.count(), 1);
//!
//! let (waker, wakes) = counting_waker();
//! waker.wake_by_ref();
//! assert_eq!(wakes.count(), 1);
//! ```
//!
//! # Implementation
//!
//! Wakers are `std::task::Wake` implementations behind an `Arc`, counters
//! are `SeqCst` atomics (tests read them from other threads), and `block_on`
//! parks the calling thread until its waker unparks it.

mod block_on;
mod drop_counter;
mod panic;
#[cfg(feature = "proptest")]
mod proptest_config;
mod shuffle;
mod waker;

pub use block_on::{block_on, poll_once};
pub use drop_counter::{DropCounter, DropToken};
pub use panic::panic_message;
#[cfg(feature = "proptest")]
pub use proptest_config::proptest_config;
pub use shuffle::shuffled;
pub use waker::{counting_waker, noop_waker, WakeCounter};

/// The README's example runs as a doctest, so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
