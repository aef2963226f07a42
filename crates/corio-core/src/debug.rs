//! Debug mode's hook in the task core: a task that ended with a panic nobody
//! read is reported when its output is dropped (asyncio's "Task exception
//! was never retrieved").
//!
//! An executor in debug mode gives each task an [`UnretrievedPanicHook`]
//! through [`TaskMeta::with_debug`](crate::TaskMeta::with_debug). The core
//! calls it, once, where it drops a panic output that no [`Task`](crate::Task)
//! took: when the `Task` is dropped (or detached) after the task panicked
//! without having been awaited to the end, or when the task panics after its
//! `Task` was already dropped. A task spawned without the hook pays nothing:
//! the hook lives in the metadata's optional box, which a task without a
//! name or a hook does not allocate, and it is looked up only on the path
//! that drops a panic.

use std::any::Any;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;

use crate::error::TaskError;
use crate::task::TaskId;

/// Called with the description of a task whose panic was never retrieved;
/// set with [`TaskMeta::with_debug`](crate::TaskMeta::with_debug).
///
/// It runs on the thread that drops the output (wherever the last `Task`
/// handle went, or the thread that ran the task), must not block, and a
/// panic it raises is caught and discarded.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use corio_core::{spawn, TaskMeta, UnretrievedPanicHook};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let hook: UnretrievedPanicHook = Arc::new(move |report| {
///     sink.lock().unwrap().push(report.message().map(String::from));
/// });
/// let meta = TaskMeta::new(std::panic::Location::caller()).with_debug(hook);
/// let (runnable, task) = spawn(async { panic!("lost") }, drop, meta);
/// runnable.run();
/// drop(task); // never awaited: the panic is reported now
/// assert_eq!(*seen.lock().unwrap(), [Some("lost".to_string())]);
/// ```
pub type UnretrievedPanicHook = Arc<dyn Fn(&UnretrievedPanic<'_>) + Send + Sync>;

/// What an [`UnretrievedPanicHook`] is told: which task panicked, where it
/// was spawned, and the panic itself.
///
/// # Examples
///
/// See [`UnretrievedPanicHook`].
pub struct UnretrievedPanic<'a> {
    pub(crate) id: TaskId,
    pub(crate) name: Option<&'a str>,
    pub(crate) location: &'static Location<'static>,
    pub(crate) error: &'a TaskError,
}

impl<'a> UnretrievedPanic<'a> {
    /// The task's id.
    ///
    /// # Examples
    ///
    /// See [`UnretrievedPanicHook`].
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name, if it was given one.
    ///
    /// # Examples
    ///
    /// See [`UnretrievedPanicHook`].
    pub fn name(&self) -> Option<&'a str> {
        self.name
    }

    /// Where the task was spawned.
    ///
    /// # Examples
    ///
    /// See [`UnretrievedPanicHook`].
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The panic's message, when its payload is a string.
    ///
    /// # Examples
    ///
    /// See [`UnretrievedPanicHook`].
    pub fn message(&self) -> Option<&'a str> {
        self.error.panic_message()
    }

    /// The panic's payload.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use corio_core::{spawn, TaskMeta};
    ///
    /// let code = Arc::new(Mutex::new(None));
    /// let sink = code.clone();
    /// let meta = TaskMeta::new(std::panic::Location::caller()).with_debug(Arc::new(move |report| {
    ///     *sink.lock().unwrap() = report.payload().downcast_ref::<u32>().copied();
    /// }));
    /// let (runnable, task) = spawn(async { std::panic::panic_any(7_u32) }, drop, meta);
    /// drop(task); // dropped first: the panic is reported when the task ends
    /// runnable.run();
    /// assert_eq!(*code.lock().unwrap(), Some(7));
    /// ```
    pub fn payload(&self) -> &'a (dyn Any + Send) {
        match self.error {
            TaskError::Panicked(payload) => &**payload,
            TaskError::Cancelled => unreachable!("only panics are reported"),
        }
    }
}

impl fmt::Debug for UnretrievedPanic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnretrievedPanic")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("location", &format_args!("{}", self.location))
            .field("message", &self.message())
            .finish()
    }
}
