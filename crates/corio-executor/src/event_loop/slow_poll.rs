//! Slow-poll timing (asyncio's debug mode): a task poll that runs longer than
//! a threshold is reported on standard error with the task's name and spawn
//! location.
//!
//! The threshold is set by the [`Builder`](crate::Builder)
//! (`debug(true)`, `slow_poll_threshold`) or by the `CORIO_DEBUG`
//! environment variable. Without one, `run_task` takes the untimed path and
//! reads no clock.

use std::time::Duration;

use corio_core::{coop, Runnable};

use crate::info::TaskInfo;

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

/// Where a loop's slow-poll threshold comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SlowPoll {
    /// `CORIO_DEBUG`: any value but empty or `0` turns debug mode on.
    FromEnv,
    /// No report.
    Off,
    /// Report polls longer than this.
    After(Duration),
}

impl SlowPoll {
    /// The threshold, if any.
    pub(crate) fn threshold(self) -> Option<Duration> {
        match self {
            SlowPoll::FromEnv => match std::env::var_os("CORIO_DEBUG") {
                Some(value) if !value.is_empty() && value != "0" => {
                    Some(DEFAULT_SLOW_POLL_THRESHOLD)
                }
                _ => None,
            },
            SlowPoll::Off => None,
            SlowPoll::After(threshold) => Some(threshold),
        }
    }
}

/// Runs a task and reports a poll slower than `threshold`; returns whether
/// the task has finished.
#[cold]
pub(crate) fn run_timed(runnable: Runnable, threshold: Duration) -> bool {
    let task = runnable.task_ref();
    let started = std::time::Instant::now();
    let finished = coop::with_budget(|| runnable.run());
    let took = started.elapsed();
    if took > threshold {
        eprintln!(
            "corio: slow poll: task {} took {:.1} ms \
             (a poll should not block the loop; move blocking work to a thread)",
            TaskInfo::from_task(&task),
            took.as_secs_f64() * 1e3,
        );
    }
    finished
}
