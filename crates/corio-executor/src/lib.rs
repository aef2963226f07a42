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
//! # Debug mode
//!
//! asyncio's debug mode, on with `Runtime::builder().debug(true)`,
//! [`Builder::slow_poll_threshold`] or `CORIO_DEBUG=1`: slow polls of tasks,
//! callbacks and the main future, and panics nobody retrieved, are reported
//! as [`DebugEvent`]s (on standard error, or to
//! [`Builder::on_debug_event`]'s hook), and [`TaskInfo::since_last_poll`]
//! says how long ago each task was polled. [`all_tasks`] lists the main
//! future (named `main`) in any mode, and [`TaskDump`] prints the list as a
//! table:
//!
//! ```
//! let mut event_loop = corio_executor::Runtime::builder().debug(true).build_event_loop().unwrap();
//! event_loop.run_until_complete(async {
//!     let _worker = corio_executor::task::Builder::new()
//!         .name("worker")
//!         .spawn(std::future::pending::<()>());
//!     corio_executor::yield_now().await;
//!     let dump = corio_executor::TaskDump::capture();
//!     assert_eq!(dump.tasks().len(), 2);
//!     eprintln!("{dump}");
//! });
//! ```
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
mod debug;
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
pub use debug::{DebugEvent, DEFAULT_SLOW_POLL_THRESHOLD};
pub use event_loop::{CallbackHandle, EventLoop, LoopHandle, EVENT_INTERVAL};
pub use info::{TaskDump, TaskInfo};
pub use runtime::{Handle, Runtime};
pub use task_group::{TaskGroup, TaskGroupHandle};

/// The README's example runs as a doctest, so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
