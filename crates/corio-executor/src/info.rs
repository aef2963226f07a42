//! Descriptions of tasks for `current_task` and `all_tasks`: [`TaskInfo`],
//! the main future's record ([`MainTask`]), and [`TaskDump`], the table a
//! person reads.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use corio_core::{TaskId, TaskRef, TaskState, UnretrievedPanic};

use crate::debug::{Debug, Millis};

/// A snapshot of one task: its id, name, state and where it was spawned.
///
/// # Examples
///
/// ```
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let info = event_loop.run_until_complete(async {
///     corio_executor::task::Builder::new()
///         .name("worker")
///         .spawn_local(async { corio_executor::current_task().unwrap() })
///         .await
///         .unwrap()
/// });
/// assert_eq!(info.name(), Some("worker"));
/// assert!(format!("{info:?}").contains("worker"));
/// ```
#[derive(Clone)]
pub struct TaskInfo {
    id: TaskId,
    name: Option<String>,
    state: TaskState,
    location: &'static Location<'static>,
    last_poll: LastPoll,
}

/// When a task was last polled, as far as its loop knows.
#[derive(Clone, Copy, Debug)]
enum LastPoll {
    /// Debug mode is off: the loop does not record it.
    Unknown,
    /// Not polled yet.
    Never,
    /// This long before the snapshot.
    Ago(Duration),
}

impl LastPoll {
    fn of(debug: Option<&Debug>, stamp: Option<u64>) -> LastPoll {
        match (debug, stamp) {
            (Some(debug), Some(stamp)) => debug.since(stamp).map_or(LastPoll::Never, LastPoll::Ago),
            _ => LastPoll::Unknown,
        }
    }
}

impl fmt::Display for LastPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LastPoll::Unknown => f.pad("-"),
            LastPoll::Never => f.pad("never"),
            LastPoll::Ago(ago) => f.pad(&format!("{} ago", Millis(*ago))),
        }
    }
}

impl TaskInfo {
    /// A snapshot of `task`; with `debug`, it says when the task was last
    /// polled.
    pub(crate) fn from_task(task: &TaskRef, debug: Option<&Debug>) -> TaskInfo {
        TaskInfo {
            id: task.id(),
            name: task.name().map(str::to_string),
            state: task.state(),
            location: task.location(),
            last_poll: LastPoll::of(debug, task.poll_stamp()),
        }
    }

    /// The task of a panic nobody retrieved (it has completed).
    pub(crate) fn of_unretrieved(panic: &UnretrievedPanic<'_>) -> TaskInfo {
        TaskInfo {
            id: panic.id(),
            name: panic.name().map(str::to_string),
            state: TaskState::Completed,
            location: panic.location(),
            last_poll: LastPoll::Unknown,
        }
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let task = event_loop.spawn_local(async { corio_executor::current_task().unwrap().id() });
    /// let id = task.id();
    /// assert_eq!(event_loop.run_until_complete(task).unwrap(), id);
    /// ```
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name, if it was given one with `task::Builder`.
    ///
    /// # Examples
    ///
    /// See [`TaskInfo`].
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The task's state when the snapshot was taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_core::TaskState;
    ///
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let state = event_loop.run_until_complete(async {
    ///     corio_executor::spawn_local(async { corio_executor::current_task().unwrap().state() })
    ///         .await
    ///         .unwrap()
    /// });
    /// assert_eq!(state, TaskState::Running);
    /// ```
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// The file and line where the task was spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = corio_executor::EventLoop::new().unwrap();
    /// let _task = event_loop.spawn_local(std::future::pending::<()>());
    /// let info = &event_loop.all_tasks()[0];
    /// assert!(info.location().file().ends_with(".rs"));
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// How long before the snapshot the task's last poll started: `None`
    /// when it was never polled, and always `None` outside debug mode
    /// (which is what records it). For the task calling `all_tasks` (or
    /// `current_task`) it is how long its current poll has been running.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::Runtime::builder().debug(true).build_event_loop().unwrap();
    /// let ago = event_loop.run_until_complete(async {
    ///     corio_executor::spawn(async { corio_executor::current_task().unwrap().since_last_poll() })
    ///         .await
    ///         .unwrap()
    /// });
    /// assert!(ago.is_some());
    /// let mut quiet = corio_executor::Runtime::builder().debug(false).build_event_loop().unwrap();
    /// let ago = quiet.run_until_complete(async { corio_executor::current_task().unwrap().since_last_poll() });
    /// assert_eq!(ago, None);
    /// ```
    pub fn since_last_poll(&self) -> Option<Duration> {
        match self.last_poll {
            LastPoll::Ago(ago) => Some(ago),
            LastPoll::Unknown | LastPoll::Never => None,
        }
    }
}

/// The main future of `run`, `block_on` or `run_until_complete`, which
/// `all_tasks` lists (named `main`) and `current_task` returns while it is
/// polled, as asyncio does with its main task. It is not a core task: the
/// loop polls it inline.
pub(crate) struct MainTask {
    id: TaskId,
    location: &'static Location<'static>,
    polling: AtomicBool,
    /// As a task's poll stamp (debug mode only; `0` before any).
    poll_stamp: AtomicU64,
}

impl MainTask {
    /// The name `all_tasks` gives the main future.
    pub(crate) const NAME: &'static str = "main";

    pub(crate) fn new(location: &'static Location<'static>) -> MainTask {
        MainTask {
            id: TaskId::new_unique(),
            location,
            polling: AtomicBool::new(false),
            poll_stamp: AtomicU64::new(0),
        }
    }

    pub(crate) fn set_poll_stamp(&self, stamp: u64) {
        self.poll_stamp.store(stamp, Ordering::Relaxed);
    }

    /// Polls the main future with `poll`, as the running main task (timed in
    /// debug mode).
    pub(crate) fn poll<R>(&self, debug: Option<&Debug>, poll: impl FnOnce() -> R) -> R {
        self.polling.store(true, Ordering::Relaxed);
        let output = match debug {
            None => poll(),
            Some(debug) => debug.poll_main(self, poll),
        };
        self.polling.store(false, Ordering::Relaxed);
        output
    }

    /// A snapshot of the main future.
    pub(crate) fn info(&self, debug: Option<&Debug>) -> TaskInfo {
        let state = if self.polling.load(Ordering::Relaxed) {
            TaskState::Running
        } else {
            TaskState::Idle
        };
        let stamp = debug.map(|_| self.poll_stamp.load(Ordering::Relaxed));
        TaskInfo {
            id: self.id,
            name: Some(MainTask::NAME.to_string()),
            state,
            location: self.location,
            last_poll: LastPoll::of(debug, stamp),
        }
    }
}

/// The tasks of a runtime as a table a person can read: its `Display` gives
/// one row per task (id, state, how long since its last poll, name, spawn
/// site), the main future first. [`TaskDump::capture`] takes it from the
/// current runtime; `From<Vec<TaskInfo>>` from any list.
///
/// The "last poll" column is filled in debug mode only (`-` otherwise).
///
/// # Examples
///
/// ```
/// let mut event_loop = corio_executor::Runtime::builder().debug(true).build_event_loop().unwrap();
/// let table = event_loop.run_until_complete(async {
///     let _idle = corio_executor::task::Builder::new()
///         .name("idle")
///         .spawn(std::future::pending::<()>());
///     corio_executor::yield_now().await;
///     corio_executor::TaskDump::capture().to_string()
/// });
/// println!("{table}");
/// assert!(table.contains("main") && table.contains("idle") && table.contains("Running"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct TaskDump {
    tasks: Vec<TaskInfo>,
}

impl TaskDump {
    /// The tasks of the current runtime ([`all_tasks`](crate::all_tasks)).
    ///
    /// # Examples
    ///
    /// See [`TaskDump`].
    pub fn capture() -> TaskDump {
        TaskDump::from(crate::all_tasks())
    }

    /// The tasks of the dump.
    ///
    /// # Examples
    ///
    /// ```
    /// let dump = corio_executor::TaskDump::capture(); // outside a runtime: empty
    /// assert!(dump.tasks().is_empty());
    /// ```
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }
}

impl From<Vec<TaskInfo>> for TaskDump {
    fn from(tasks: Vec<TaskInfo>) -> TaskDump {
        TaskDump { tasks }
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEADER: [&str; 5] = ["ID", "STATE", "LAST POLL", "NAME", "SPAWNED AT"];
        let rows: Vec<[String; 5]> = self
            .tasks
            .iter()
            .map(|task| {
                [
                    task.id.to_string(),
                    format!("{:?}", task.state),
                    task.last_poll.to_string(),
                    task.name.as_deref().unwrap_or("<unnamed>").to_string(),
                    format!("{}:{}", task.location.file(), task.location.line()),
                ]
            })
            .collect();
        let mut widths = HEADER.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let count = rows.len();
        writeln!(f, "{count} task{}", if count == 1 { "" } else { "s" })?;
        let header = HEADER.map(String::from);
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
                if index + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  "));
                }
            }
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskInfo")
            .field("id", &self.id)
            .field("name", &self.name.as_deref().unwrap_or("<unnamed>"))
            .field("state", &self.state)
            .field(
                "spawned_at",
                &format_args!("{}:{}", self.location.file(), self.location.line()),
            )
            .field("since_last_poll", &self.since_last_poll())
            .finish()
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (id {}, {:?}, spawned at {}:{}",
            self.name.as_deref().unwrap_or("<unnamed>"),
            self.id.as_u64(),
            self.state,
            self.location.file(),
            self.location.line()
        )?;
        match self.last_poll {
            LastPoll::Unknown => f.write_str(")"),
            last_poll => write!(f, ", last poll: {last_poll})"),
        }
    }
}
