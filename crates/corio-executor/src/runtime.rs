//! `Runtime`: a configured loop behind tokio's `block_on` / `spawn` shape.

use std::future::Future;
use std::io;
use std::panic::Location;
use std::time::Duration;

use corio_core::{Task, TaskMeta};
use corio_timer::Clock;

use crate::event_loop::{EventLoop, LoopHandle};

/// The slow-poll threshold that `CORIO_DEBUG=1` and `debug(true)` turn on.
///
/// ```
/// let event_loop = corio_executor::EventLoop::new().unwrap();
/// event_loop.set_slow_poll_threshold(Some(corio_executor::DEFAULT_SLOW_POLL_THRESHOLD));
/// ```
pub const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

/// Reads `CORIO_DEBUG`: any value but empty or `0` turns debug mode on.
pub(crate) fn debug_from_env() -> Option<Duration> {
    match std::env::var_os("CORIO_DEBUG") {
        Some(value) if !value.is_empty() && value != "0" => Some(DEFAULT_SLOW_POLL_THRESHOLD),
        _ => None,
    }
}

/// A corio runtime: an event loop with its driver and clock, built by
/// [`Runtime::builder`].
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

/// Configures a [`Runtime`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let runtime = corio_executor::Runtime::builder()
///     .current_thread()
///     .virtual_time(true)
///     .build()
///     .unwrap();
/// // With virtual time, an hour passes at once when nothing else can run.
/// runtime.block_on(corio_timer::sleep(Duration::from_secs(3600)));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Builder {
    virtual_time: bool,
    debug: Option<bool>,
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

impl Builder {
    /// Selects the current-thread flavour: one event loop on the thread that
    /// calls `block_on` (the only flavour so far).
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = corio_executor::Runtime::builder().current_thread().build().unwrap();
    /// # drop(runtime);
    /// ```
    pub fn current_thread(self) -> Builder {
        self
    }

    /// With `true`, the loop's clock is virtual: it jumps to the next timer
    /// whenever every task is idle, so a test that sleeps an hour finishes at
    /// once.
    ///
    /// # Examples
    ///
    /// See [`Builder`].
    pub fn virtual_time(mut self, enabled: bool) -> Builder {
        self.virtual_time = enabled;
        self
    }

    /// With `true`, a task poll longer than 100 ms is reported with the task's
    /// name and spawn location (also turned on by `CORIO_DEBUG=1`).
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = corio_executor::Runtime::builder().current_thread().debug(true).build().unwrap();
    /// # drop(runtime);
    /// ```
    pub fn debug(mut self, enabled: bool) -> Builder {
        self.debug = Some(enabled);
        self
    }

    /// Builds the runtime.
    ///
    /// # Errors
    ///
    /// Returns the OS error when the IO driver cannot be created.
    ///
    /// # Examples
    ///
    /// See [`Builder`].
    pub fn build(self) -> io::Result<Runtime> {
        let clock = if self.virtual_time {
            Clock::manual()
        } else {
            Clock::real()
        };
        let event_loop =
            EventLoop::with_driver_and_clock(Box::new(crate::default_driver()?), clock);
        if let Some(debug) = self.debug {
            event_loop.set_slow_poll_threshold(debug.then_some(DEFAULT_SLOW_POLL_THRESHOLD));
        }
        Ok(Runtime {
            handle: event_loop.handle(),
            event_loop: std::cell::RefCell::new(event_loop),
        })
    }
}
