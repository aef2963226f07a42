//! The task core of corio: raw tasks, [`Task`], [`Promise`], and the
//! [`Driver`] seam where executors and reactors meet.
//!
//! Most users want the [`corio`](https://docs.rs/corio) facade instead; this
//! crate is for executor and reactor authors, and for libraries that want only
//! the task and promise types. It exists so that an executor is a queue of
//! [`Runnable`]s plus a [`Driver`], and nothing more: everything that must be
//! exactly right about a task (one poll at a time, no lost wake-up, panics
//! caught, the output dropped exactly once) lives here, checked by Miri, loom
//! and property tests.
//!
//! # Example
//!
//! A complete executor in a few lines: a queue that `schedule` pushes onto and
//! the loop drains.
//!
//! ```
//! use corio_core::{spawn, Promise, TaskMeta};
//! use std::collections::VecDeque;
//! use std::sync::{Arc, Mutex};
//!
//! let queue = Arc::new(Mutex::new(VecDeque::new()));
//! let schedule = {
//!     let queue = queue.clone();
//!     move |runnable| queue.lock().unwrap().push_back(runnable)
//! };
//! let meta = || TaskMeta::new(std::panic::Location::caller());
//!
//! let promise = Promise::new();
//! let waiter = promise.clone();
//! let (first, consumer) = spawn(async move { waiter.await.unwrap() * 2 }, schedule.clone(), meta());
//! let (second, _producer) = spawn(async move { promise.set_result(21).unwrap() }, schedule, meta());
//! queue.lock().unwrap().extend([first, second]);
//!
//! let next = || queue.lock().unwrap().pop_front();
//! while let Some(runnable) = next() {
//!     runnable.run();
//! }
//! assert!(consumer.is_done());
//! ```
//!
//! # Implementation
//!
//! A task is one heap allocation: a 64-byte header (a state word with the
//! reference count folded in, a vtable pointer, the join waker slot, and the
//! metadata), the scheduler hook, and the future, whose slot is reused for the
//! output. Wakers point at the task itself, so cloning and waking never
//! allocate. The state machine follows tokio's task protocol (`SCHEDULED`,
//! `RUNNING`, `NOTIFIED`, `COMPLETE`, `CANCELLED`, `JOIN_INTEREST`,
//! `JOIN_WAKER`); the `raw` and `state` modules document who may touch what
//! under which bit. [`Promise`] is a mutex-guarded outcome with a slab of
//! awaiters' wakers and a list of done callbacks.
//!
//! Debug mode's hook lives here too ([`UnretrievedPanicHook`], set with
//! [`TaskMeta::with_debug`]): the core calls it when it drops a panic that
//! no [`Task`] read, which only the core can see. A task spawned without it
//! pays nothing.

pub mod coop;
mod debug;
mod driver;
mod error;
mod lock;
mod loom;
mod promise;
mod raw;
mod state;
mod task;

#[cfg(all(test, loom))]
mod loom_promise;
#[cfg(all(test, loom))]
mod loom_tests;

pub use debug::{UnretrievedPanic, UnretrievedPanicHook};
pub use driver::{enter_io_context, io_context, Driver, IoContextGuard, ParkDriver, Unpark};
pub use error::TaskError;
pub use lock::lock;

/// The mutex shared by threads in corio's crates, `std`'s or, under
/// `--cfg loom`, loom's model-checked one, with [`lock`](loom_sync::lock)
/// applying the poisoned-lock policy of [`lock()`]. For the sibling crates'
/// loom models (the timer wheel); not part of the API.
#[doc(hidden)]
pub mod loom_sync {
    pub use crate::loom::{lock, Mutex, MutexGuard};
}
pub use promise::{CallbackId, InvalidStateError, Promise, PromiseError, PromiseWait};
pub use task::{
    spawn, spawn_padded, spawn_unchecked, spawn_unchecked_padded, Runnable, Task, TaskId, TaskMeta,
    TaskRef, TaskState,
};
#[doc(hidden)]
pub use task::{task_allocation_size, task_header_size};

/// The README's example runs as a doctest, so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
