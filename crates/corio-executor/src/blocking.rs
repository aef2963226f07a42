//! The blocking pool: [`spawn_blocking`] (alias [`to_thread`]) runs a closure
//! on a thread of its own and hands back a [`Task`] for its result.
//!
//! # The pool
//!
//! One process-wide pool, created on first use, serves every loop and every
//! thread. Each call makes one task with corio-core's raw task machinery
//! (one allocation): its future runs the closure the first time it is
//! polled, and its `schedule` hook pushes the [`Runnable`] onto the pool's
//! FIFO queue. So a panic in the closure is caught by the task harness and
//! becomes [`TaskError::Panicked`](corio_core::TaskError::Panicked), a task
//! cancelled while queued is dropped without running its closure, and the
//! [`Task`] is awaited like any other, from any executor.
//!
//! Threads are started on demand: a push starts a thread only when the
//! queue holds more work than there are idle threads waiting for it, and
//! only while fewer than `Config::max_threads` threads exist; beyond that
//! cap the work waits in the queue. So there are never more threads than
//! work to give them. A thread that finds the queue empty waits as an idle
//! thread and retires after `Config::idle_timeout` without work.
//!
//! # Protocol
//!
//! All bookkeeping lives in one `State` behind one `std` mutex:
//! `queue`, `threads` (started or being started, and not retired) and `idle`
//! (threads blocked on the condition variable, or woken but not yet back in
//! the lock). The invariants, each kept under the lock:
//!
//! - A thread counts itself idle just before it waits and stops counting
//!   itself as soon as it holds the lock again; it always looks at the queue
//!   before it decides to wait again or to retire, so a notification that
//!   reaches a thread already timing out is not lost: that thread takes the
//!   work instead.
//! - A thread retires only with the queue empty, and decrements `threads`
//!   before it lets go of the lock. So while work is queued, `threads > 0`:
//!   some thread will take it, or the caller that failed to start the last
//!   thread runs it (below).
//! - `threads` is reserved under the lock before the OS thread is started
//!   outside of it, so concurrent pushes never overshoot the cap.
//!
//! If the OS refuses a thread (`EAGAIN`), the reservation is given back and
//! the work stays queued for the threads that exist; the next push tries
//! again. If no thread exists at all, nothing would ever take the queue, so
//! the failing caller runs the queued work itself, inline, before returning:
//! a task is never lost, at the cost of blocking that caller.
//!
//! # Why a mutex and a condition variable
//!
//! The blocking pool is not a hot path like the scheduler: a closure sent
//! here is expected to block for a long time (a file read, a DNS lookup, a
//! compression), so handing it over costs a thread wake-up (microseconds)
//! whatever the queue is, and the lock is held only for a push or a pop. A
//! lock-free queue with thread parking would still need a list of idle
//! threads to unpark and a timed park for the idle timeout: a condition
//! variable, rebuilt by hand. `Condvar::wait_timeout` gives both, and one
//! mutex keeps the queue and the counts consistent with each other, which
//! is what the on-demand rule above needs.
//!
//! # Shutdown
//!
//! Nothing joins the pool's threads. Dropping a runtime never waits for a
//! blocking closure (tokio's issue #5338 is a runtime drop that hangs on
//! one): a closure that never returns keeps its thread, and the process can
//! still exit, which ends it.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use corio_core::{Runnable, Task, TaskMeta};

#[cfg(test)]
mod tests;

/// Runs the blocking closure `f` on corio's blocking thread pool and returns
/// a [`Task`] that yields its result.
///
/// Use it for work that would block the event loop: synchronous file or
/// database calls, CPU-heavy computations, libraries without an async API.
/// While the closure runs, the loop keeps running every other task.
///
/// The pool is process-wide and created on first use, so `spawn_blocking`
/// works on any thread, even outside a corio runtime, and the returned task
/// can be awaited on any loop or executor (it needs nothing but a waker).
/// Threads are started on demand, up to 512; beyond that, work waits in a
/// FIFO queue. A thread left idle for 10 seconds ends.
///
/// The closure runs on a pool thread, where no loop is current: calling
/// [`spawn`](crate::spawn) from inside it panics. To hand work back to a
/// loop, capture its [`LoopHandle`](crate::LoopHandle) and call
/// [`LoopHandle::spawn`](crate::LoopHandle::spawn) or
/// [`LoopHandle::call_soon_threadsafe`](crate::LoopHandle::call_soon_threadsafe).
///
/// Blocking tasks are not listed by [`all_tasks`](crate::all_tasks): they
/// belong to the pool, not to a loop.
///
/// # What happens instead of the usual task rules
///
/// - **Cancelling.** [`Task::cancel`] before the closure has started means it
///   never runs; the task ends with
///   [`TaskError::Cancelled`](corio_core::TaskError::Cancelled). A closure
///   that has started cannot be interrupted: it runs to its end, its result
///   is dropped, and the task still reports `Cancelled`.
/// - **Dropping the task** detaches it: the closure still runs.
/// - **Dropping the runtime** does not wait for blocking closures, and does
///   not stop them: a closure that never returns keeps its pool thread for
///   as long as the process lives, and queued closures still run. The
///   process can exit while closures run; they are stopped mid-way, like
///   any detached thread.
/// - **A panicking closure** does not take its pool thread down: the task
///   ends with [`TaskError::Panicked`](corio_core::TaskError::Panicked),
///   which carries the panic's payload.
/// - **When the OS refuses a new thread**, the closure waits in the queue
///   for a pool thread that exists, and the next call tries to start one
///   again. If the pool has no thread at all, the closure runs right here,
///   on the calling thread, before `spawn_blocking` returns: it is never
///   lost, but the caller blocks.
///
/// # Examples
///
/// ```
/// use corio_executor::{spawn_blocking, EventLoop};
///
/// let mut event_loop = EventLoop::new().unwrap();
/// let length = event_loop.run_until_complete(async {
///     let task = spawn_blocking(|| {
///         // Stands for a blocking call, such as `std::fs::read`.
///         std::thread::sleep(std::time::Duration::from_millis(10));
///         "hello".len()
///     });
///     task.await.unwrap()
/// });
/// assert_eq!(length, 5);
/// ```
///
/// A closure that panics:
///
/// ```
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let error = event_loop
///     .run_until_complete(corio_executor::spawn_blocking(|| panic!("disk on fire")))
///     .unwrap_err();
/// assert!(error.is_panic());
/// assert_eq!(*error.into_panic().downcast::<&str>().unwrap(), "disk on fire");
/// ```
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // In debug mode, a panic nobody retrieves is reported as for any task.
    let meta = crate::context::with_debug(|debug| {
        crate::debug::task_meta(debug, TaskMeta::new(Location::caller()))
    });
    global().spawn(f, meta)
}

/// Runs the blocking closure `f` on a pool thread and returns a [`Task`] for
/// its result: Python's `asyncio.to_thread`.
///
/// The same function as [`spawn_blocking`], under asyncio's name; see there
/// for the pool, cancellation, panics and shutdown. Unlike Python, which
/// forwards arguments, the closure captures what it needs.
///
/// # Examples
///
/// ```
/// use corio_executor::{to_thread, EventLoop};
///
/// let mut event_loop = EventLoop::new().unwrap();
/// let words = String::from("the quick brown fox");
/// let count = event_loop.run_until_complete(async move {
///     to_thread(move || words.split_whitespace().count()).await.unwrap()
/// });
/// assert_eq!(count, 4);
/// ```
#[track_caller]
pub fn to_thread<F, T>(f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_blocking(f)
}

/// The process-wide pool, with the default configuration.
fn global() -> &'static Arc<Pool> {
    static GLOBAL: OnceLock<Arc<Pool>> = OnceLock::new();
    GLOBAL.get_or_init(|| Arc::new(Pool::new(Config::default())))
}

/// How a pool sizes itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// The most threads the pool runs at once (tokio's default, 512).
    pub(crate) max_threads: usize,
    /// How long a thread waits for work before it ends.
    pub(crate) idle_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_threads: 512,
            idle_timeout: Duration::from_secs(10),
        }
    }
}

/// Starts a pool thread from its builder (which carries the thread's name)
/// and the worker it runs. The seam through which tests make it fail.
type SpawnThread = dyn Fn(thread::Builder, Worker) -> io::Result<()> + Send + Sync;

/// A pool of threads that run [`Runnable`]s from one FIFO queue; see the
/// module docs for its protocol.
pub(crate) struct Pool {
    config: Config,
    state: Mutex<State>,
    /// Signalled once for each push while a thread is idle.
    work_queued: Condvar,
    /// How many threads the pool has tried to start; numbers the names.
    started: AtomicUsize,
    spawn_thread: Box<SpawnThread>,
}

/// What the pool's mutex guards.
struct State {
    queue: VecDeque<Runnable>,
    /// Threads started (or being started) and not retired.
    threads: usize,
    /// Threads waiting for work.
    idle: usize,
}

impl Pool {
    /// A pool that starts OS threads.
    pub(crate) fn new(config: Config) -> Pool {
        Pool::with_spawn_thread(config, Box::new(spawn_os_thread))
    }

    /// A pool that starts its threads through `spawn_thread`.
    pub(crate) fn with_spawn_thread(config: Config, spawn_thread: Box<SpawnThread>) -> Pool {
        assert!(
            config.max_threads > 0,
            "a blocking pool needs at least one thread"
        );
        Pool {
            config,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
            }),
            work_queued: Condvar::new(),
            started: AtomicUsize::new(0),
            spawn_thread,
        }
    }

    /// Makes a task that runs `f` on this pool, and queues it.
    pub(crate) fn spawn<F, T>(self: &Arc<Self>, f: F, meta: TaskMeta) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let pool = Arc::clone(self);
        let (runnable, task) = corio_core::spawn(
            RunOnce(Some(f)),
            move |runnable| pool.schedule(runnable),
            meta,
        );
        self.schedule(runnable);
        task
    }

    /// Queues `runnable`, waking an idle thread or starting a new one.
    fn schedule(self: &Arc<Self>, runnable: Runnable) {
        let mut state = self.lock();
        state.queue.push_back(runnable);
        if state.idle > 0 {
            self.work_queued.notify_one();
        }
        if state.queue.len() <= state.idle || state.threads >= self.config.max_threads {
            return;
        }
        state.threads += 1;
        drop(state);
        self.start_thread();
    }

    /// Starts the thread reserved in `threads`; on failure, gives the
    /// reservation back and, if no thread is left to take the queue, runs it
    /// here.
    fn start_thread(self: &Arc<Self>) {
        let number = self.started.fetch_add(1, Ordering::Relaxed) + 1;
        let builder = thread::Builder::new().name(format!("corio-blocking-{number}"));
        let worker = Worker {
            pool: Arc::clone(self),
        };
        if (self.spawn_thread)(builder, worker).is_ok() {
            return;
        }
        let mut state = self.lock();
        state.threads -= 1;
        if state.threads > 0 {
            return;
        }
        let orphans = std::mem::take(&mut state.queue);
        drop(state);
        for runnable in orphans {
            runnable.run();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock (tasks run outside it), so a
        // poisoned lock still guards consistent counts.
        corio_core::lock(&self.state)
    }

    /// Waits, counted as idle, until work is queued or the idle timeout has
    /// passed; returns with the lock held either way.
    fn wait_for_work<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let deadline = Instant::now() + self.config.idle_timeout;
        state.idle += 1;
        while state.queue.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .work_queued
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.idle -= 1;
        state
    }
}

/// The loop a pool thread runs.
pub(crate) struct Worker {
    pool: Arc<Pool>,
}

impl Worker {
    /// Runs queued tasks until the queue has stayed empty for the idle
    /// timeout, then retires.
    pub(crate) fn run(self) {
        let pool = &*self.pool;
        let mut state = pool.lock();
        loop {
            match state.queue.pop_front() {
                Some(runnable) => {
                    drop(state);
                    // Never unwinds: the task harness catches panics.
                    runnable.run();
                    state = pool.lock();
                }
                None => {
                    state = pool.wait_for_work(state);
                    if state.queue.is_empty() {
                        state.threads -= 1;
                        return;
                    }
                }
            }
        }
    }
}

fn spawn_os_thread(builder: thread::Builder, worker: Worker) -> io::Result<()> {
    builder.spawn(move || worker.run()).map(drop)
}

/// A future that calls its closure the first time it is polled.
struct RunOnce<F>(Option<F>);

// The closure is moved out by value and never pinned.
impl<F> Unpin for RunOnce<F> {}

impl<F: FnOnce() -> T, T> Future for RunOnce<F> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        let f = self
            .0
            .take()
            .expect("a blocking task is polled once: it completes at once");
        Poll::Ready(f())
    }
}
