//! `Builder`: the one place a loop or a runtime is configured (flavour,
//! driver, clock, debug mode).
//!
//! Every setting is resolved into a `LoopConfig` that
//! `EventLoop::from_config` turns into a loop; `build` wraps the loop in the
//! runtime of the chosen flavour, `build_event_loop` gives the bare loop.
//! The flavour is an internal enum with one variant so far, so that the
//! multi-thread flavour adds a variant and its settings here without
//! changing what exists.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use corio_core::Driver;
use corio_timer::Clock;

use crate::debug::{Debug, DebugEvent, DebugSetting, Reporter, DEFAULT_SLOW_POLL_THRESHOLD};
use crate::event_loop::EventLoop;
use crate::runtime::Runtime;

/// Configures a [`Runtime`] or a bare [`EventLoop`]; made by
/// [`Runtime::builder`].
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
pub struct Builder {
    flavor: Flavor,
    worker_threads: Option<usize>,
    time: Time,
    debug: DebugSetting,
    on_debug_event: Option<Reporter>,
    driver: Option<Box<dyn Driver>>,
}

/// Which runtime `build` makes.
#[derive(Debug, Clone, Copy)]
enum Flavor {
    /// One event loop on the thread that calls `block_on`.
    CurrentThread,
    /// Work-stealing worker threads.
    MultiThread,
}

/// The loop's clock.
#[derive(Debug, Clone, Copy)]
enum Time {
    Real,
    Virtual,
}

/// Everything a loop is made of, resolved from a [`Builder`].
pub(crate) struct LoopConfig {
    pub(crate) driver: Box<dyn Driver>,
    pub(crate) clock: Clock,
    pub(crate) debug: Option<Arc<Debug>>,
}

impl Default for Builder {
    /// The defaults: current thread, the default driver, the real clock, and
    /// debug mode as `CORIO_DEBUG` says.
    fn default() -> Builder {
        Builder {
            flavor: Flavor::CurrentThread,
            worker_threads: None,
            time: Time::Real,
            debug: DebugSetting::FromEnv,
            on_debug_event: None,
            driver: None,
        }
    }
}

impl Builder {
    /// Selects the current-thread flavour: one event loop on the thread that
    /// calls `block_on` (the builder's default).
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = corio_executor::Runtime::builder().current_thread().build().unwrap();
    /// # drop(runtime);
    /// ```
    pub fn current_thread(mut self) -> Builder {
        self.flavor = Flavor::CurrentThread;
        self
    }

    /// Selects the multi-thread flavour: work-stealing worker threads (one per
    /// core unless [`Builder::worker_threads`] says otherwise); `block_on`
    /// runs its future on the calling thread and the tasks on the workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = corio_executor::Runtime::builder()
    ///     .multi_thread()
    ///     .worker_threads(2)
    ///     .build()
    ///     .unwrap();
    /// let task = runtime.spawn(async { std::thread::current().name().map(String::from) });
    /// let name = runtime.block_on(task).unwrap().unwrap();
    /// assert!(name.starts_with("corio-worker-"));
    /// ```
    pub fn multi_thread(mut self) -> Builder {
        self.flavor = Flavor::MultiThread;
        self
    }

    /// Sets the number of worker threads of a multi-thread runtime (the
    /// default is one per core, as `std::thread::available_parallelism`
    /// reports). Ignored by the current-thread flavour.
    ///
    /// # Examples
    ///
    /// See [`Builder::multi_thread`]. Zero workers is an error at `build`:
    ///
    /// ```
    /// let built = corio_executor::Runtime::builder().multi_thread().worker_threads(0).build();
    /// assert_eq!(built.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn worker_threads(mut self, count: usize) -> Builder {
        self.worker_threads = Some(count);
        self
    }

    /// With `true`, the loop's clock is virtual: it jumps to the next timer
    /// whenever every task is idle, so a test that sleeps an hour finishes at
    /// once. The default is the real clock.
    ///
    /// # Examples
    ///
    /// See [`Builder`].
    pub fn virtual_time(mut self, enabled: bool) -> Builder {
        self.time = if enabled { Time::Virtual } else { Time::Real };
        self
    }

    /// With `true`, debug mode is on (see [`DebugEvent`]): a poll of a task,
    /// a callback or the main future longer than
    /// [`DEFAULT_SLOW_POLL_THRESHOLD`] (100 ms) is reported with the task's
    /// name, id and spawn site, a panic nobody retrieved is reported, and
    /// `all_tasks` says how long ago each task was polled. With `false`,
    /// debug mode is off, whatever `CORIO_DEBUG` says. Without this call,
    /// `CORIO_DEBUG=1` turns it on.
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = corio_executor::Runtime::builder().current_thread().debug(true).build().unwrap();
    /// # drop(runtime);
    /// ```
    pub fn debug(mut self, enabled: bool) -> Builder {
        self.debug = if enabled {
            DebugSetting::After(DEFAULT_SLOW_POLL_THRESHOLD)
        } else {
            DebugSetting::Off
        };
        self
    }

    /// Turns debug mode on (see [`Builder::debug`]) with `threshold`: a poll
    /// of a task, a callback or the main future longer than it is reported.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let runtime = corio_executor::Runtime::builder()
    ///     .slow_poll_threshold(Duration::from_millis(20))
    ///     .build()
    ///     .unwrap();
    /// # drop(runtime);
    /// ```
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.debug = DebugSetting::After(threshold);
        self
    }

    /// Sends debug mode's reports to `hook` instead of standard error (where
    /// each is printed as `corio: {event}`). It does not turn debug mode on
    /// ([`Builder::debug`], [`Builder::slow_poll_threshold`] and
    /// `CORIO_DEBUG` do).
    ///
    /// The hook runs on the thread that noticed the event (the loop's, a
    /// worker, or whichever drops a `Task`), so it should be quick; a panic
    /// in it is caught and reported on standard error.
    ///
    /// # Examples
    ///
    /// See [`DebugEvent`].
    pub fn on_debug_event(mut self, hook: impl Fn(&DebugEvent) + Send + Sync + 'static) -> Builder {
        self.on_debug_event = Some(Arc::new(hook));
        self
    }

    /// Debug mode as configured, if on.
    fn debug_mode(&self) -> Option<Arc<Debug>> {
        let threshold = self.debug.threshold()?;
        Some(Debug::new(threshold, self.on_debug_event.clone()))
    }

    /// Drives the loop with `driver` instead of the default one (the IO
    /// reactor with the `io` feature, the core's `ParkDriver` without it;
    /// with the `uring` feature, corio-uring's io_uring driver when
    /// `CORIO_DRIVER=uring` is set and the kernel grants io_uring). Pass
    /// `corio_uring::UringDriver::new()?` here to choose io_uring in code.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::Runtime::builder()
    ///     .driver(corio_core::ParkDriver::new())
    ///     .virtual_time(true)
    ///     .build_event_loop()
    ///     .unwrap();
    /// assert_eq!(event_loop.run_until_complete(async { 5 }), 5);
    /// ```
    pub fn driver(mut self, driver: impl Driver) -> Builder {
        self.driver = Some(Box::new(driver));
        self
    }

    /// Builds the runtime.
    ///
    /// # Errors
    ///
    /// Returns the OS error when the default driver or a worker thread
    /// cannot be created. For the multi-thread flavour, returns an
    /// `InvalidInput` error for zero worker threads, for virtual time and for
    /// a custom driver, none of which it supports.
    ///
    /// # Examples
    ///
    /// See [`Builder`].
    pub fn build(self) -> io::Result<Runtime> {
        match self.flavor {
            Flavor::CurrentThread => {
                let config = self.loop_config()?;
                Ok(Runtime::on_loop(EventLoop::from_config(config)))
            }
            Flavor::MultiThread => self.build_multi_thread(),
        }
    }

    fn build_multi_thread(self) -> io::Result<Runtime> {
        let invalid = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the multi-thread runtime does not support {what}"),
            )
        };
        if matches!(self.time, Time::Virtual) {
            return Err(invalid(
                "virtual time (use `current_thread()` for tests on a virtual clock)",
            ));
        }
        if self.driver.is_some() {
            return Err(invalid(
                "a custom driver (its workers share the default one; use `current_thread()`)",
            ));
        }
        let workers = match self.worker_threads {
            Some(0) => return Err(invalid("zero worker threads")),
            Some(count) => count,
            None => std::thread::available_parallelism().map_or(1, |count| count.get()),
        };
        let config = crate::multi_thread::Config {
            workers,
            driver: shared_driver()?,
            debug: self.debug_mode(),
        };
        Ok(Runtime::on_workers(crate::multi_thread::MultiThread::new(
            config,
        )?))
    }

    /// Builds a bare current-thread [`EventLoop`] (asyncio's low-level loop)
    /// with these settings.
    ///
    /// # Errors
    ///
    /// Returns the OS error when the default driver cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut event_loop = corio_executor::Runtime::builder()
    ///     .virtual_time(true)
    ///     .build_event_loop()
    ///     .unwrap();
    /// let start = event_loop.time();
    /// event_loop.run_until_complete(corio_timer::sleep(Duration::from_secs(3600)));
    /// assert!(event_loop.time() - start >= Duration::from_secs(3600));
    /// ```
    pub fn build_event_loop(self) -> io::Result<EventLoop> {
        Ok(EventLoop::from_config(self.loop_config()?))
    }

    /// Resolves the settings, making the default driver if none was given.
    fn loop_config(mut self) -> io::Result<LoopConfig> {
        let driver = match self.driver.take() {
            Some(driver) => driver,
            None => default_driver()?,
        };
        Ok(self.loop_config_on(driver))
    }

    /// Resolves the settings for a loop on `driver`.
    pub(crate) fn loop_config_on(self, driver: Box<dyn Driver>) -> LoopConfig {
        let clock = match self.time {
            Time::Real => Clock::real(),
            Time::Virtual => Clock::manual(),
        };
        LoopConfig {
            driver,
            clock,
            debug: self.debug_mode(),
        }
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("flavor", &self.flavor)
            .field("worker_threads", &self.worker_threads)
            .field("time", &self.time)
            .field("debug", &self.debug)
            .field("on_debug_event", &self.on_debug_event.is_some())
            .field("custom_driver", &self.driver.is_some())
            .finish()
    }
}

/// The driver of a loop whose builder was given none: the mio reactor.
#[cfg(feature = "io")]
fn default_driver() -> io::Result<Box<dyn Driver>> {
    #[cfg(all(feature = "uring", target_os = "linux"))]
    if let Some(driver) = crate::driver_choice::uring_from_env() {
        return Ok(driver);
    }
    Ok(Box::new(corio_reactor::Reactor::new()?))
}

/// The driver of a loop whose builder was given none: without the `io`
/// feature, the core's `ParkDriver` (timers work; sockets fail with
/// `Unsupported`, as no IO context is entered).
#[cfg(not(feature = "io"))]
fn default_driver() -> io::Result<Box<dyn Driver>> {
    Ok(Box::new(corio_core::ParkDriver::new()))
}

/// The driver the workers of a multi-thread runtime share: the mio reactor.
#[cfg(feature = "io")]
fn shared_driver() -> io::Result<Option<Box<dyn Driver + Send>>> {
    Ok(Some(Box::new(corio_reactor::Reactor::new()?)))
}

/// Without the `io` feature the workers share no driver: each parks on its
/// own condition variable.
#[cfg(not(feature = "io"))]
fn shared_driver() -> io::Result<Option<Box<dyn Driver + Send>>> {
    Ok(None)
}
