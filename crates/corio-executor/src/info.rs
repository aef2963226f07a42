//! Descriptions of tasks for `current_task` and `all_tasks`.

use std::fmt;
use std::panic::Location;

use corio_core::{TaskId, TaskRef, TaskState};

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
}

impl TaskInfo {
    pub(crate) fn from_task(task: &TaskRef) -> TaskInfo {
        TaskInfo {
            id: task.id(),
            name: task.name().map(str::to_string),
            state: task.state(),
            location: task.location(),
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
            .finish()
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (id {}, {:?}, spawned at {}:{})",
            self.name.as_deref().unwrap_or("<unnamed>"),
            self.id.as_u64(),
            self.state,
            self.location.file(),
            self.location.line()
        )
    }
}
