//! corio: an async runtime for Rust with the shape of Python's asyncio.
//!
//! An event loop runs tasks on one thread in FIFO order; synchronous code
//! between two `.await`s is atomic with respect to every other task on the
//! loop. [`run`] is `asyncio.run`, [`spawn`] is `asyncio.create_task`,
//! [`gather!`](crate::gather!) and [`gather()`] are `asyncio.gather`, [`wait`],
//! [`wait_timeout`] and [`as_completed`] are their asyncio namesakes, [`sleep`]
//! is `asyncio.sleep`, and [`Promise`] is `asyncio.Future`.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! async fn counter(name: &'static str, log: std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
//!     for i in 0..2 {
//!         log.lock().unwrap().push(format!("{name}: {i}"));
//!         corio::sleep(Duration::ZERO).await; // let the other tasks run
//!     }
//! }
//!
//! let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
//! corio::run({
//!     let log = log.clone();
//!     async move {
//!         let a = corio::spawn(counter("a", log.clone()));
//!         let b = corio::spawn(counter("b", log.clone()));
//!         a.await.unwrap();
//!         b.await.unwrap();
//!     }
//! });
//! assert_eq!(*log.lock().unwrap(), ["a: 0", "b: 0", "a: 1", "b: 1"]);
//! ```
//!
//! # Naming
//!
//! `try_` marks a fallible or non-blocking variant (`try_gather`), `_local` a
//! variant without the `Send` bound (`spawn_local`), `_at` a variant that
//! takes an [`Instant`](time::Instant) instead of a `Duration`, `_timeout` a
//! variant that gives up after a `Duration` (`wait_timeout`).
//!
//! # Implementation
//!
//! This crate re-exports and picks defaults; the work is done by the layers
//! below it: `corio-core` (tasks, promises), `corio-timer` (the timer wheel),
//! `corio-reactor` (IO), `corio-sync` (locks, queues, and the combinators
//! `gather`, `wait`, `as_completed`) and `corio-executor` (the event loop).
//! See `docs/ARCHITECTURE.md` in the repository.

pub mod io;
pub mod net;
#[cfg(unix)]
pub mod signal;
mod streams;

pub use corio_core::{Promise, PromiseError, Task, TaskError, TaskId};
pub use corio_executor::{
    all_tasks, current_task, spawn, spawn_local, yield_now, EventLoop, LoopHandle, Runtime,
    TaskInfo,
};
pub use corio_executor::{spawn_blocking, to_thread};
pub use corio_executor::{TaskGroup, TaskGroupHandle};
/// Coordination over futures and tasks, from `corio-sync`: `gather` and
/// `try_gather` (functions and macros), `wait`, `as_completed`.
pub use corio_sync::{
    as_completed, gather, try_gather, wait, AsCompleted, Gather, ReturnWhen, TryGather, Wait,
};

/// Runs an `async fn main` on a fresh event loop, like `asyncio.run`.
///
/// # Examples
///
/// ```
/// #[corio::main]
/// async fn main() {
///     let task = corio::spawn(async { 1 + 1 });
///     assert_eq!(task.await.unwrap(), 2);
/// }
/// ```
pub use corio_macros::main;

/// Runs an `async fn` test on a fresh current-thread loop;
/// `#[corio::test(virtual_time)]` gives it a virtual clock.
///
/// # Examples
///
/// ```
/// #[corio::test(virtual_time)]
/// async fn an_hour_passes_at_once() {
///     let start = corio::time::Instant::now();
///     corio::sleep(std::time::Duration::from_secs(3600)).await;
///     assert!(start.elapsed() >= std::time::Duration::from_secs(3600));
/// }
/// ```
pub use corio_macros::test;
pub use streams::{open_connection, start_server};

/// Task spawning with options.
///
/// ```
/// let name = corio::run(async {
///     corio::task::Builder::new()
///         .name("fetcher")
///         .spawn(async { corio::current_task().unwrap().name().map(String::from) })
///         .await
///         .unwrap()
/// });
/// assert_eq!(name.as_deref(), Some("fetcher"));
/// ```
pub mod task {
    pub use corio_executor::task::Builder;
    pub use corio_executor::{CallbackHandle, TaskDump, TaskInfo, YieldNow};
}

/// Time: sleeps, timeouts, intervals and the loop's clock.
///
/// ```
/// use std::time::Duration;
///
/// let outcome = corio::run(corio::time::timeout(
///     Duration::from_millis(5),
///     std::future::pending::<()>(),
/// ));
/// assert!(outcome.is_err(), "the inner future is dropped on expiry");
/// ```
pub mod time {
    pub use corio_timer::{
        interval, interval_at, sleep, sleep_until, timeout, timeout_at, Instant, Interval, Sleep,
        Timeout, TimeoutError,
    };
}

/// Synchronization primitives and queues that work on any executor
/// (the `corio-sync` crate): `Mutex`, `Event`, `Condition`, `Semaphore`,
/// `Barrier`, `Queue`, `LifoQueue`, `PriorityQueue`.
///
/// ```
/// use std::sync::Arc;
///
/// corio::run(async {
///     let queue = Arc::new(corio::sync::Queue::bounded(1));
///     let producer = queue.clone();
///     let task = corio::spawn(async move {
///         producer.put("ping").await.unwrap();
///     });
///     assert_eq!(queue.get().await, Ok("ping"));
///     task.await.unwrap();
/// });
/// ```
pub mod sync {
    pub use corio_sync::{
        Acquire, Barrier, BarrierWait, BarrierWaitResult, Condition, ConditionWait, Event,
        EventWait, Get, Join, LifoQueue, Lock, Mutex, MutexGuard, PriorityQueue, Put, Queue,
        Semaphore, SemaphorePermit, ShutDown, TaskDoneError, TryAcquireError, TryGetError,
        TryLockError, TryPutError,
    };
}

/// corio's second IO driver, on Linux's io_uring (see `docs/REACTORS.md`).
///
/// A current-thread loop runs on it when built with
/// [`Builder::driver`](crate::runtime::Builder::driver), or when
/// `CORIO_DRIVER=uring` is set for a loop built without a driver
/// ([`run`], `#[corio::main]`, `#[corio::test]`); where the kernel refuses
/// io_uring, such a loop falls back to the mio driver (and `CORIO_DEBUG=1`
/// says so once). The multi-thread runtime always runs on mio.
///
/// # Examples
///
/// ```
/// use corio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # fn main() -> std::io::Result<()> {
/// let Ok(driver) = corio::uring::UringDriver::new() else {
///     return Ok(()); // this kernel refuses io_uring
/// };
/// let runtime = corio::Runtime::builder().current_thread().driver(driver).build()?;
/// runtime.block_on(async {
///     let (mut left, mut right) = corio::net::UnixStream::pair()?;
///     left.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     right.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     std::io::Result::Ok(())
/// })
/// # }
/// ```
#[cfg(target_os = "linux")]
pub mod uring {
    pub use corio_uring::{is_current, Error, UringDriver};
}

/// Runtime configuration, and debug mode's events.
///
/// ```
/// let runtime = corio::Runtime::builder()
///     .current_thread()
///     .debug(true)
///     .on_debug_event(|event: &corio::runtime::DebugEvent| eprintln!("debug: {event}"))
///     .build()
///     .unwrap();
/// assert_eq!(runtime.block_on(async { 1 }), 1);
/// assert_eq!(corio::runtime::DEFAULT_SLOW_POLL_THRESHOLD.as_millis(), 100);
/// ```
pub mod runtime {
    pub use corio_executor::{Builder, DebugEvent, Handle, DEFAULT_SLOW_POLL_THRESHOLD};
}

/// Waits for the tasks as `when` says, or until `timeout` has passed on the
/// loop's clock, and returns them split into `(done, pending)` (asyncio's
/// `wait(tasks, timeout=..., return_when=...)`).
///
/// Nothing is cancelled: on timeout, `done` holds the tasks that finished so
/// far and `pending` the rest, which keep running. This is
/// [`corio_sync::wait_with_deadline`] with this crate's timer; see [`wait`]
/// for the order of each vector.
///
/// # Panics
///
/// The returned future panics when polled outside a corio runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corio::ReturnWhen;
///
/// corio::run(async {
///     let quick = corio::spawn(corio::sleep(Duration::from_millis(1)));
///     let slow = corio::spawn(corio::sleep(Duration::from_secs(60)));
///     let (done, pending) =
///         corio::wait_timeout(vec![quick, slow], ReturnWhen::AllCompleted, Duration::from_millis(50))
///             .await;
///     assert_eq!((done.len(), pending.len()), (1, 1));
///     assert!(!pending[0].is_done()); // still sleeping: not cancelled
/// });
/// ```
pub fn wait_timeout<T>(
    tasks: Vec<Task<T>>,
    when: ReturnWhen,
    timeout: std::time::Duration,
) -> Wait<T, time::Sleep> {
    corio_sync::wait_with_deadline(tasks, when, corio_timer::sleep(timeout))
}

/// Sleeps for `duration` on the current loop (asyncio's `sleep`).
/// `sleep(Duration::ZERO)` yields exactly once, like `asyncio.sleep(0)`.
///
/// # Panics
///
/// The returned future panics when polled outside a corio runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// corio::run(async {
///     let start = corio::time::Instant::now();
///     corio::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn sleep(duration: std::time::Duration) -> time::Sleep {
    corio_timer::sleep(duration)
}

/// Runs `future` to completion on a fresh event loop and returns its output
/// (asyncio's `run`).
///
/// When `future` completes, every task still pending on the loop is cancelled
/// and its destructors run before `run` returns.
///
/// # Panics
///
/// Panics when called inside a running loop (nested `run`), when the event
/// loop cannot be created (the OS refused its resources), and resumes the
/// panic of `future` if it panics.
///
/// # Examples
///
/// ```
/// let answer = corio::run(async {
///     let task = corio::spawn(async { 21 * 2 });
///     task.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    let mut event_loop = EventLoop::new()
        .unwrap_or_else(|error| panic!("corio::run cannot create an event loop: {error}"));
    event_loop.run_until_complete(future)
}

/// The Rust blocks of the repository's guides run as doctests of this crate,
/// so that what the guides show is what corio does.
#[cfg(doctest)]
mod guides {
    #[doc = include_str!("../../../docs/ASYNCIO.md")]
    struct AsyncioGuide;

    #[doc = include_str!("../README.md")]
    struct FacadeReadme;

    // corio-uring's README shows it through the facade.
    #[cfg(target_os = "linux")]
    #[doc = include_str!("../../corio-uring/README.md")]
    struct UringReadme;

    // The macros crate cannot run its own examples: they need this facade.
    #[doc = include_str!("../../corio-macros/README.md")]
    struct MacrosReadme;
}
