//! The corio event loop: asyncio's loop for Rust, generic over the
//! [`Driver`](corio_core::Driver) that blocks its thread.
//!
//! Most users want the [`corio`](https://docs.rs/corio) facade, which
//! re-exports this crate's types; depend on this crate directly to build an
//! executor setup of your own (a custom driver, a virtual clock).
//!
//! # Example
//!
//! ```
//! use corio_executor::EventLoop;
//!
//! let mut event_loop = EventLoop::new().unwrap();
//! let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
//! for n in 0..3 {
//!     let order = order.clone();
//!     event_loop.spawn_local(async move {
//!         order.borrow_mut().push(n);
//!         corio_executor::yield_now().await;
//!         order.borrow_mut().push(n + 10);
//!     });
//! }
//! event_loop.run_until_complete(async {
//!     for _ in 0..3 {
//!         corio_executor::yield_now().await;
//!     }
//! });
//! assert_eq!(*order.borrow(), [0, 1, 2, 10, 11, 12]);
//! ```
//!
//! # Implementation
//!
//! A FIFO ready queue of `Runnable`s on the loop's thread (no lock), a
//! lock-free injection queue for other threads, a registry of live tasks, the
//! timer wheel of `corio-timer`, and one driver. See the `event_loop` module
//! for the iteration order and the file of each concept.
//!
//! The multi-thread [`Runtime`] (`Runtime::builder().multi_thread()`,
//! `Runtime::new()`) is a work-stealing scheduler: each worker owns a
//! bounded lock-free local queue that idle workers steal half of, a
//! lock-free injection queue takes work from outside, idle workers park
//! under tokio's "searching workers" protocol, each worker has its own
//! timer wheel, and the one IO reactor is polled by whichever worker is
//! idle. See the `multi_thread` module for each protocol.
//!
//! # Features
//!
//! - `io` (on by default): the mio reactor of `corio-reactor` is the default
//!   driver of [`EventLoop::new`] and [`Runtime`]. Without it, neither mio
//!   nor `corio-reactor` is built, and the default driver is the core's
//!   `ParkDriver`: timers work, sockets fail with `Unsupported`.

mod blocking;
mod builder;
mod context;
#[cfg(all(feature = "uring", target_os = "linux"))]
mod driver_choice;
mod event_loop;
mod info;
mod loom;
mod multi_thread;
mod runtime;
mod task_group;
mod task_map;

pub use blocking::{spawn_blocking, to_thread};
pub use builder::Builder;
pub use context::{
    all_tasks, call_soon, current_task, spawn, spawn_local, task, yield_now, YieldNow,
};
pub use event_loop::{
    CallbackHandle, EventLoop, LoopHandle, DEFAULT_SLOW_POLL_THRESHOLD, EVENT_INTERVAL,
};
pub use info::TaskInfo;
pub use runtime::{Handle, Runtime};
pub use task_group::{TaskGroup, TaskGroupHandle};

/// The README's example runs as a doctest, so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
