//! `Runtime`: a configured loop behind tokio's `block_on` / `spawn` shape.

use std::future::Future;
use std::panic::Location;

use corio_core::{Task, TaskMeta};

use crate::builder::Builder;
use crate::event_loop::{EventLoop, LoopHandle};

/// A corio runtime: an event loop with its driver and clock, built by
/// [`Runtime::builder`] (whose [`Builder`] holds every setting).
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
    event_loop: std::cell::RefCell<EventLoop>,
    handle: LoopHandle,
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

    /// A current-thread runtime on `event_loop`.
    pub(crate) fn on_loop(event_loop: EventLoop) -> Runtime {
        Runtime {
            handle: event_loop.handle(),
            event_loop: std::cell::RefCell::new(event_loop),
        }
    }

    /// Runs `future` to completion on this runtime's loop and returns its
    /// output. Tasks spawned on the runtime run meanwhile.
    ///
    /// # Panics
    ///
    /// Panics when called inside a running loop, and resumes the panic of
    /// `future` if it panics.
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = corio_executor::Runtime::builder().current_thread().build().unwrap();
    /// assert_eq!(runtime.block_on(async { 7 }), 7);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        // Checked before the `RefCell` is borrowed, so that a nested call
        // gets this message rather than a borrow error.
        crate::context::assert_no_loop_running();
        self.event_loop.borrow_mut().run_until_complete(future)
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
        self.handle
            .spawn_with_meta(future, TaskMeta::new(Location::caller()))
    }

    /// Returns a handle that spawns onto this runtime from any thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = corio_executor::Runtime::builder().current_thread().build().unwrap();
    /// let handle = runtime.handle();
    /// let task = std::thread::spawn(move || handle.spawn(async { 1 })).join().unwrap();
    /// assert_eq!(runtime.block_on(task).unwrap(), 1);
    /// ```
    pub fn handle(&self) -> LoopHandle {
        self.handle.clone()
    }
}
