//! Async synchronization primitives and combinators that work on any
//! executor: asyncio's `Lock`, `Event`, `Condition`, `Semaphore`, `Barrier`,
//! queues, `gather`, `wait` and `as_completed`.
//!
//! Library authors cannot know which runtime their users run, so these
//! primitives need nothing from one but the [`Waker`](std::task::Waker) of
//! the task that waits: they run unchanged on corio's event loop, on tokio's
//! and on smol's, single- or multi-threaded. The corio facade re-exports them
//! as `corio::sync`, and the combinators at its root; depend on this crate
//! alone when you write a library and want no runtime in your dependencies.
//!
//! - [`Mutex`] (asyncio's `Lock`, holding its data) with [`MutexGuard`];
//! - [`Event`], a flag to wait on;
//! - [`Condition`], std's `Condvar` for a corio `Mutex`;
//! - [`Semaphore`] with [`SemaphorePermit`]s released on drop;
//! - [`Barrier`], `n` tasks meeting;
//! - [`Queue`], [`LifoQueue`] and [`PriorityQueue`]: asyncio's queues,
//!   bounded or unbounded, with `task_done` / `join` and Python 3.13's
//!   `shutdown`.
//!
//! And the combinators over futures and tasks:
//!
//! - [`gather()`] / [`try_gather()`] and the macros [`gather!`] /
//!   [`try_gather!`]: run futures concurrently inside the calling task and
//!   return their outputs in order;
//! - [`as_completed`]: the outputs as a [`Stream`](futures_core::Stream), in
//!   completion order;
//! - [`wait`] / [`wait_with_deadline`]: wait for corio-core
//!   [`Task`](corio_core::Task)s as a [`ReturnWhen`] says, and get them back
//!   split into done and pending, with nothing cancelled.
//!
//! Every primitive is `Send + Sync` when its data is, **fair** (waiters are
//! served in arrival order, and the non-waiting `try_` methods never overtake
//! a waiter) and **cancel-safe**: dropping a waiting future loses nothing. A
//! lock, permit or item granted to a future that is dropped before it looks
//! passes to the next waiter.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use corio_sync::{Mutex, Queue};
//!
//! # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
//! let jobs = Arc::new(Queue::bounded(2));
//! let total = Arc::new(Mutex::new(0));
//! let workers: Vec<_> = (0..3)
//!     .map(|_| {
//!         let (jobs, total) = (jobs.clone(), total.clone());
//!         corio_executor::spawn(async move {
//!             while let Ok(job) = jobs.get().await {
//!                 *total.lock().await += job;
//!                 jobs.task_done().unwrap();
//!             }
//!         })
//!     })
//!     .collect();
//! for job in 1..=10 {
//!     jobs.put(job).await.unwrap();
//! }
//! jobs.join().await; // every job was processed
//! assert_eq!(*total.lock().await, 55);
//! jobs.shutdown(); // the workers' `get`s now fail, and they return
//! for worker in workers {
//!     worker.await.unwrap();
//! }
//! # });
//! ```
//!
//! # Implementation
//!
//! Each primitive is a `std::sync::Mutex` around its state and a FIFO list
//! of waiters (`wait_list.rs`): a slab of entries linked by index, so a warm
//! list never allocates, each entry holding its future's waker and a
//! payload. A future owns its entry from its first `Pending` until it
//! completes or is dropped. Notifying unlinks the oldest entry and hands it
//! what it waited for *directly* (the lock, a permit, an item in its
//! payload), so nobody can overtake a notified waiter, and wakers are woken
//! after the lock is released. An entry dropped after it was notified gives
//! its grant to the next waiter. See the module docs of `wait_list.rs`,
//! `gate.rs` (permits: `Semaphore`, `Mutex`) and `queue/channel.rs` for the
//! protocols. `gather`, `as_completed` and `wait` give each of their
//! children a waker of its own that queues the child's index on a shared
//! ready list, so a poll looks only at the children woken since the last one:
//! O(1) work per wake-up, O(n) in all (`combinators/ready.rs`). The only
//! `unsafe` code is the `Mutex`'s access to its data and the combinators'
//! pinned access to the elements of their pinned slice of futures
//! (`combinators/pin_slice.rs`).

mod barrier;
mod combinators;
mod condition;
mod error;
mod event;
mod gate;
mod loom;
mod mutex;
mod queue;
mod semaphore;
mod wait_list;

#[cfg(all(test, loom))]
mod loom_tests;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult};
pub use combinators::{
    as_completed, gather, try_gather, wait, wait_with_deadline, AsCompleted, Gather, ReturnWhen,
    TryGather, Wait,
};
pub use condition::{Condition, ConditionWait};
pub use error::{ShutDown, TaskDoneError, TryAcquireError, TryGetError, TryLockError, TryPutError};
pub use event::{Event, EventWait};
pub use mutex::{Lock, Mutex, MutexGuard};
pub use queue::{Get, Join, LifoQueue, PriorityQueue, Put, Queue};
pub use semaphore::{Acquire, Semaphore, SemaphorePermit};

/// What the `gather!` and `try_gather!` macros expand to; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::combinators::join::{Flattened, Join, TryFlattened, TryJoin};
}

/// The README's example runs as a doctest, so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
