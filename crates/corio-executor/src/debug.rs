//! Debug mode (asyncio's): slow polls of tasks, callbacks and the main
//! future, and panics nobody retrieved, reported as [`DebugEvent`]s to a
//! hook the user can replace (standard error by default).
//!
//! Debug mode is set by the [`Builder`](crate::Builder) (`debug(true)`,
//! `slow_poll_threshold`, `on_debug_event`) or by the `CORIO_DEBUG`
//! environment variable. A loop or runtime without it holds no [`Debug`]:
//! its tasks are spawned without debug metadata and polled on the untimed
//! path, which reads no clock.
//!
//! With it:
//!
//! - every poll of a task, of a `call_soon` / `call_later` / `call_at`
//!   callback and of the main future (`run`, `block_on`) is timed, and one
//!   longer than the threshold is reported once, after it returns;
//! - each task records when it was last polled (the core's poll-stamp word),
//!   which [`TaskInfo::since_last_poll`] reads;
//! - each task carries the core's unretrieved-panic hook, so that a task
//!   that ended with a panic nobody read is reported when its output is
//!   dropped. The panic hook of `std` has already printed the panic's message
//!   and location when it happened, so the report does not print it again:
//!   it names the task and where it was spawned, and carries the message in
//!   [`DebugEvent::UnretrievedPanic`] for hooks that want it.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corio_core::{coop, Runnable, TaskMeta, UnretrievedPanic, UnretrievedPanicHook};

use crate::info::{MainTask, TaskInfo};

/// The slow-poll threshold that `CORIO_DEBUG=1` and `debug(true)` turn on.
///
/// ```
/// let runtime = corio_executor::Runtime::builder()
///     .slow_poll_threshold(corio_executor::DEFAULT_SLOW_POLL_THRESHOLD)
///     .build()
///     .unwrap();
/// # drop(runtime);
/// ```
pub const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

/// Something debug mode reports, passed to the hook set by
/// [`Builder::on_debug_event`](crate::Builder::on_debug_event) (by default,
/// printed on standard error as `corio: {event}`).
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use corio_executor::{DebugEvent, Runtime};
///
/// let events = Arc::new(Mutex::new(Vec::new()));
/// let sink = events.clone();
/// let runtime = Runtime::builder()
///     .current_thread()
///     .slow_poll_threshold(Duration::from_millis(20))
///     .on_debug_event(move |event| sink.lock().unwrap().push(event.to_string()))
///     .build()
///     .unwrap();
/// runtime.block_on(async {
///     corio_executor::task::Builder::new()
///         .name("blocker")
///         .spawn(async { std::thread::sleep(Duration::from_millis(60)) })
///         .await
///         .unwrap();
/// });
/// let events = events.lock().unwrap();
/// assert!(events.iter().any(|e| e.starts_with("slow poll") && e.contains("blocker")), "{events:?}");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum DebugEvent {
    /// A poll of a task took longer than the threshold.
    #[non_exhaustive]
    SlowPoll {
        /// The task: its name, id and spawn site.
        task: TaskInfo,
        /// How long the poll took.
        duration: Duration,
    },
    /// A `call_soon`, `call_later` or `call_at` callback took longer than
    /// the threshold.
    #[non_exhaustive]
    SlowCallback {
        /// Where the callback was scheduled.
        site: &'static Location<'static>,
        /// How long it ran.
        duration: Duration,
    },
    /// A poll of the main future (of `run`, `block_on` or
    /// `run_until_complete`) took longer than the threshold.
    #[non_exhaustive]
    SlowMainPoll {
        /// The main future, as `all_tasks` lists it (named `main`).
        task: TaskInfo,
        /// How long the poll took.
        duration: Duration,
    },
    /// A task ended with a panic, and its `Task` was dropped without being
    /// awaited (asyncio's "Task exception was never retrieved"); reported
    /// when the last handle goes, or when the task ends if it was detached.
    #[non_exhaustive]
    UnretrievedPanic {
        /// The task: its name, id and spawn site.
        task: TaskInfo,
        /// The panic's message, when its payload is a string. The
        /// `Display` of the event leaves it out: the panic hook printed it
        /// when the panic happened.
        message: Option<String>,
    },
}

impl fmt::Display for DebugEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ADVICE: &str = "a poll should not block the loop; move blocking work to a thread";
        match self {
            DebugEvent::SlowPoll { task, duration } => write!(
                f,
                "slow poll: task {task} took {} ({ADVICE})",
                Millis(*duration)
            ),
            DebugEvent::SlowCallback { site, duration } => write!(
                f,
                "slow callback: the callback scheduled at {site} took {} ({ADVICE})",
                Millis(*duration)
            ),
            DebugEvent::SlowMainPoll { task, duration } => write!(
                f,
                "slow poll: the main future {task} took {} ({ADVICE})",
                Millis(*duration)
            ),
            DebugEvent::UnretrievedPanic { task, .. } => write!(
                f,
                "task exception was never retrieved: task {task} panicked (the panic \
                 hook printed its message above) and its Task was dropped without \
                 being awaited"
            ),
        }
    }
}

/// A duration printed in milliseconds with one decimal.
pub(crate) struct Millis(pub(crate) Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} ms", self.0.as_secs_f64() * 1e3)
    }
}

/// The hook debug events go to.
pub(crate) type Reporter = Arc<dyn Fn(&DebugEvent) + Send + Sync>;

/// Where a builder's debug mode comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DebugSetting {
    /// `CORIO_DEBUG`: any value but empty or `0` turns debug mode on.
    FromEnv,
    /// No debug mode.
    Off,
    /// Debug mode, reporting polls longer than this.
    After(Duration),
}

impl DebugSetting {
    /// The slow-poll threshold, if debug mode is on.
    pub(crate) fn threshold(self) -> Option<Duration> {
        match self {
            DebugSetting::FromEnv => match std::env::var_os("CORIO_DEBUG") {
                Some(value) if !value.is_empty() && value != "0" => {
                    Some(DEFAULT_SLOW_POLL_THRESHOLD)
                }
                _ => None,
            },
            DebugSetting::Off => None,
            DebugSetting::After(threshold) => Some(threshold),
        }
    }
}

/// A loop's or runtime's debug mode: its threshold, its hook, and the
/// epoch its tasks' poll stamps count from.
pub(crate) struct Debug {
    threshold: Duration,
    report: Reporter,
    unretrieved: UnretrievedPanicHook,
    epoch: Instant,
}

impl Debug {
    /// Debug mode reporting to `report`, or on standard error without one.
    pub(crate) fn new(threshold: Duration, report: Option<Reporter>) -> Arc<Debug> {
        let report = report.unwrap_or_else(|| Arc::new(|event| eprintln!("corio: {event}")));
        let to = report.clone();
        let unretrieved: UnretrievedPanicHook = Arc::new(move |panic: &UnretrievedPanic<'_>| {
            emit(
                &to,
                DebugEvent::UnretrievedPanic {
                    task: TaskInfo::of_unretrieved(panic),
                    message: panic.message().map(String::from),
                },
            );
        });
        Arc::new(Debug {
            threshold,
            report,
            unretrieved,
            epoch: Instant::now(),
        })
    }

    /// `meta` with the debug metadata of this mode.
    pub(crate) fn meta(&self, meta: TaskMeta) -> TaskMeta {
        meta.with_debug(self.unretrieved.clone())
    }

    /// Runs a task within a coop budget, stamping it and reporting a slow
    /// poll; returns whether the task has finished.
    #[cold]
    pub(crate) fn run_task(&self, runnable: Runnable) -> bool {
        let task = runnable.task_ref();
        let started = Instant::now();
        runnable.set_poll_stamp(self.stamp(started));
        let finished = coop::with_budget(|| runnable.run());
        let duration = started.elapsed();
        if duration > self.threshold {
            self.emit(DebugEvent::SlowPoll {
                task: TaskInfo::from_task(&task, None),
                duration,
            });
        }
        finished
    }

    /// Runs a callback scheduled at `site`, reporting it if slow.
    #[cold]
    pub(crate) fn run_callback(&self, site: &'static Location<'static>, callback: impl FnOnce()) {
        let started = Instant::now();
        callback();
        let duration = started.elapsed();
        if duration > self.threshold {
            self.emit(DebugEvent::SlowCallback { site, duration });
        }
    }

    /// Polls the main future with `poll`, stamping it and reporting a slow
    /// poll.
    #[cold]
    pub(crate) fn poll_main<R>(&self, main: &MainTask, poll: impl FnOnce() -> R) -> R {
        let started = Instant::now();
        main.set_poll_stamp(self.stamp(started));
        let output = poll();
        let duration = started.elapsed();
        if duration > self.threshold {
            self.emit(DebugEvent::SlowMainPoll {
                task: main.info(None),
                duration,
            });
        }
        output
    }

    /// The poll stamp of `at`: nanoseconds since the epoch, plus one, so
    /// that `0` means "never polled".
    fn stamp(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX - 1) + 1
    }

    /// How long ago the poll of `stamp` started; `None` for "never".
    pub(crate) fn since(&self, stamp: u64) -> Option<Duration> {
        let polled_at = Duration::from_nanos(stamp.checked_sub(1)?);
        Some(self.epoch.elapsed().saturating_sub(polled_at))
    }

    fn emit(&self, event: DebugEvent) {
        emit(&self.report, event);
    }
}

/// Calls the hook; a panic in it is reported on standard error and goes no
/// further (it must not unwind into the loop or a `Task`'s drop).
fn emit(report: &Reporter, event: DebugEvent) {
    if catch_unwind(AssertUnwindSafe(|| report(&event))).is_err() {
        eprintln!("corio: the debug event hook panicked while reporting: {event}");
    }
}

/// `meta`, with debug metadata when debug mode is on.
pub(crate) fn task_meta(debug: Option<&Debug>, meta: TaskMeta) -> TaskMeta {
    match debug {
        Some(debug) => debug.meta(meta),
        None => meta,
    }
}

impl fmt::Debug for Debug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Debug")
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}
