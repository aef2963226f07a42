//! `Runtime`: a configured runtime behind tokio's `block_on` / `spawn` /
//! `handle` shape, of either flavour: one event loop (current thread) or
//! work-stealing workers (multi-thread).

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::panic::Location;

use corio_core::{Task, TaskMeta};

use crate::builder::Builder;
use crate::event_loop::{EventLoop, LoopHandle};
use crate::multi_thread::{self, MultiThread};

/// A corio runtime, built by [`Runtime::builder`] (whose [`Builder`] holds
/// every setting) or [`Runtime::new`] (multi-thread, one worker per core).
///
/// # Examples
///
/// ```
/// use corio_executor::Runtime;
///
/// let runtime = Runtime::builder().current_thread().build().unwrap();
/// let task = runtime.spawn(async { 40 + 2 });
/// assert_eq!(runtime.block_on(task).unwrap(), 42);
/// ```
#[derive(Debug)]
pub struct Runtime {
    flavor: Flavor,
}

#[derive(Debug)]
enum Flavor {
    CurrentThread {
        event_loop: RefCell<EventLoop>,
        handle: LoopHandle,
    },
    MultiThread(MultiThread),
}

/// A handle to a [`Runtime`]: `Send + Sync + Clone`, it spawns onto the
/// runtime and blocks on futures from any thread.
///
/// # Examples
///
/// ```
/// let runtime = corio_executor::Runtime::builder().multi_thread().worker_threads(2).build().unwrap();
/// let handle = runtime.handle();
/// let sum = std::thread::spawn(move || {
///     let task = handle.spawn(async { 1 + 1 });
///     handle.block_on(task).unwrap()
/// })
/// .join()
/// .unwrap();
/// assert_eq!(sum, 2);
/// ```
#[derive(Debug, Clone)]
pub struct Handle {
    flavor: HandleFlavor,
}

#[derive(Debug, Clone)]
enum HandleFlavor {
    Loop(LoopHandle),
    MultiThread(multi_thread::Handle),
}

impl Runtime {
    /// Returns a builder for a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = corio_executor::Runtime::builder().current_thread();
    /// # drop(builder);
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A multi-thread runtime with one worker per core and the default
    /// driver: `Runtime::builder().multi_thread().build()`.
    ///
    /// # Errors
    ///
    /// Returns the OS error when the driver or a worker thread cannot be
    /// created.
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = corio_executor::Runtime::new()?;
    /// assert_eq!(runtime.block_on(runtime.spawn(async { 3 })).unwrap(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Runtime::builder().multi_thread().build()
    }

    /// A current-thread runtime on `event_loop`.
    pub(crate) fn on_loop(event_loop: EventLoop) -> Runtime {
        Runtime {
            flavor: Flavor::CurrentThread {
                handle: event_loop.handle(),
                event_loop: RefCell::new(event_loop),
            },
        }
    }

    /// A multi-thread runtime on its started workers.
    pub(crate) fn on_workers(workers: MultiThread) -> Runtime {
        Runtime {
            flavor: Flavor::MultiThread(workers),
        }
    }

    /// Runs `future` to completion and returns its output. On the
    /// current-thread flavour the loop runs meanwhile; on the multi-thread
    /// flavour `future` runs on the calling thread and the tasks on the
    /// workers.
    ///
    /// # Panics
    ///
    /// Panics when called inside a running loop or runtime, and resumes the
    /// panic of `future` if it panics.
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = corio_executor::Runtime::builder().current_thread().build().unwrap();
    /// assert_eq!(runtime.block_on(async { 7 }), 7);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        // Checked before the `RefCell` is borrowed, so that a nested call
        // gets this message rather than a borrow error.
        crate::context::assert_no_loop_running();
        match &self.flavor {
            Flavor::CurrentThread { event_loop, .. } => {
                event_loop.borrow_mut().run_until_complete(future)
            }
            Flavor::MultiThread(workers) => workers.handle().block_on(future),
        }
    }

    /// Spawns a `Send` future on this runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = corio_executor::Runtime::builder().current_thread().build().unwrap();
    /// let task = runtime.spawn(async { "hi" });
    /// assert_eq!(runtime.block_on(task).unwrap(), "hi");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle()
            .spawn_with_meta(future, TaskMeta::new(Location::caller()))
    }

    /// Returns a handle that spawns onto this runtime, and blocks on
    /// futures, from any thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = corio_executor::Runtime::builder().current_thread().build().unwrap();
    /// let handle = runtime.handle();
    /// let task = std::thread::spawn(move || handle.spawn(async { 1 })).join().unwrap();
    /// assert_eq!(runtime.block_on(task).unwrap(), 1);
    /// ```
    pub fn handle(&self) -> Handle {
        let flavor = match &self.flavor {
            Flavor::CurrentThread { handle, .. } => HandleFlavor::Loop(handle.clone()),
            Flavor::MultiThread(workers) => HandleFlavor::MultiThread(workers.handle()),
        };
        Handle { flavor }
    }
}

impl Handle {
    /// Spawns a `Send` future on the runtime, from any thread.
    ///
    /// # Examples
    ///
    /// See [`Handle`].
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with_meta(future, TaskMeta::new(Location::caller()))
    }

    fn spawn_with_meta<F>(&self, future: F, meta: TaskMeta) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.flavor {
            HandleFlavor::Loop(handle) => handle.spawn_with_meta(future, meta),
            HandleFlavor::MultiThread(handle) => handle.spawn(future, meta),
        }
    }

    /// Runs `future` to completion on the calling thread and returns its
    /// output.
    ///
    /// On a multi-thread runtime, `future` may spawn tasks (they run on the
    /// workers), sleep and use sockets, as in [`Runtime::block_on`]. On a
    /// current-thread runtime only the runtime's own thread runs its loop:
    /// `future` is polled here with no loop entered, so it should await
    /// tasks spawned through the handle (which the loop runs while its
    /// thread is in `block_on`), not call `corio::spawn` or `sleep` itself.
    ///
    /// # Panics
    ///
    /// Panics when called inside a running loop or runtime, and resumes the
    /// panic of `future` if it panics.
    ///
    /// # Examples
    ///
    /// See [`Handle`].
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.flavor {
            HandleFlavor::Loop(_) => multi_thread::block_on_plain(future),
            HandleFlavor::MultiThread(handle) => handle.block_on(future),
        }
    }
}
