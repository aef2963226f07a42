//! Spawning tasks and the handles to them: [`Runnable`] for the executor,
//! [`Task`] for whoever awaits the output, [`TaskRef`] for registries.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};

use crate::coop;
use crate::debug::UnretrievedPanicHook;
use crate::error::TaskError;
use crate::raw::{CacheLine, DebugMeta, Extra, JoinRef, Meta, Natural, RawTask};
use crate::state::{Snapshot, CANCELLED, COMPLETE, RUNNING, SCHEDULED};

/// A task's unique identifier: a process-wide counter starting at 1.
///
/// # Examples
///
/// ```
/// use corio_core::{spawn, TaskMeta};
///
/// let meta = || TaskMeta::new(std::panic::Location::caller());
/// let (_, first) = spawn(async {}, drop, meta());
/// let (_, second) = spawn(async {}, drop, meta());
/// assert!(first.id() < second.id());
/// assert_eq!(first.id().to_string(), first.id().as_u64().to_string());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct TaskId(u64);

impl TaskId {
    /// Hands out ids from a per-thread block of 1024 reserved with
    /// one atomic operation, so that a spawn costs no shared-counter update:
    /// ids are unique and increase on each thread, but are not ordered across
    /// threads.
    fn next() -> TaskId {
        const ID_BLOCK: u64 = 1024;
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            // The next id of this thread's block, and the end of the block.
            static BLOCK: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
        }
        BLOCK.with(|block| {
            let (mut next, mut end) = block.get();
            if next == end {
                next = NEXT_BLOCK.fetch_add(ID_BLOCK, Ordering::Relaxed);
                end = next + ID_BLOCK;
            }
            block.set((next + 1, end));
            TaskId(next)
        })
    }

    /// A fresh id from the counter tasks take theirs from, for what an
    /// executor lists among its tasks without it being one (the main future
    /// of `run`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_, task) = corio_core::spawn(async {}, drop, corio_core::TaskMeta::new(std::panic::Location::caller()));
    /// assert_ne!(corio_core::TaskId::new_unique(), task.id());
    /// ```
    pub fn new_unique() -> TaskId {
        TaskId::next()
    }

    /// Returns the id as a number.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_, task) = corio_core::spawn(async {}, drop, corio_core::TaskMeta::new(std::panic::Location::caller()));
    /// assert!(task.id().as_u64() >= 1);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What a task records about itself: an optional name and where it was
/// spawned.
///
/// # Examples
///
/// ```
/// use corio_core::{spawn, TaskMeta};
///
/// let meta = TaskMeta::new(std::panic::Location::caller()).with_name("fetcher");
/// let (_, task) = spawn(async {}, drop, meta);
/// assert_eq!(task.name(), Some("fetcher"));
/// ```
#[derive(Debug, Clone)]
pub struct TaskMeta {
    /// The name and debug metadata; a thin pointer keeps the field one word.
    extra: Option<Box<Extra>>,
    location: &'static Location<'static>,
}

impl TaskMeta {
    /// Metadata for a task spawned at `location` (usually
    /// `Location::caller()` in a `#[track_caller]` spawn function).
    ///
    /// # Examples
    ///
    /// ```
    /// let meta = corio_core::TaskMeta::new(std::panic::Location::caller());
    /// # let _ = meta;
    /// ```
    pub fn new(location: &'static Location<'static>) -> TaskMeta {
        TaskMeta {
            extra: None,
            location,
        }
    }

    /// Gives the task a name.
    ///
    /// # Examples
    ///
    /// ```
    /// let meta = corio_core::TaskMeta::new(std::panic::Location::caller()).with_name("worker-1");
    /// # let _ = meta;
    /// ```
    pub fn with_name(mut self, name: impl Into<String>) -> TaskMeta {
        self.extra.get_or_insert_with(Box::default).name = Some(name.into());
        self
    }

    /// Debug mode: `hook` is called if the task ends with a panic that no
    /// [`Task`] reads (see [`UnretrievedPanicHook`]), and the task gets a
    /// word for its executor to record when it last polled it
    /// ([`Runnable::set_poll_stamp`], [`TaskRef::poll_stamp`]).
    ///
    /// # Examples
    ///
    /// See [`UnretrievedPanicHook`].
    pub fn with_debug(mut self, hook: UnretrievedPanicHook) -> TaskMeta {
        self.extra.get_or_insert_with(Box::default).debug = Some(DebugMeta {
            hook,
            poll_stamp: AtomicU64::new(0),
        });
        self
    }
}

/// Where a task is in its life, as seen by [`TaskRef::state`].
///
/// # Examples
///
/// ```
/// use corio_core::{spawn, TaskMeta, TaskState};
///
/// let (runnable, task) = spawn(async {}, drop, TaskMeta::new(std::panic::Location::caller()));
/// let task_ref = runnable.task_ref();
/// assert_eq!(task_ref.state(), TaskState::Scheduled);
/// runnable.run();
/// assert_eq!(task_ref.state(), TaskState::Completed);
/// # drop(task);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for a wake-up.
    Idle,
    /// A [`Runnable`] for it is waiting to run.
    Scheduled,
    /// Being polled right now.
    Running,
    /// Finished with an output, or with a panic.
    Completed,
    /// Finished because it was cancelled.
    Cancelled,
}

impl TaskState {
    fn of(snapshot: Snapshot) -> TaskState {
        if snapshot.is(COMPLETE) {
            if snapshot.is(CANCELLED) {
                TaskState::Cancelled
            } else {
                TaskState::Completed
            }
        } else if snapshot.is(RUNNING) {
            TaskState::Running
        } else if snapshot.is(SCHEDULED) {
            TaskState::Scheduled
        } else {
            TaskState::Idle
        }
    }
}

/// Creates a task for `future`, returning the [`Runnable`] that polls it and
/// the [`Task`] that awaits its output.
///
/// `schedule` is called with a new `Runnable` each time the task must run
/// again: after a wake-up, or after a cancellation of an idle task (so that
/// the owner thread drops the future). The first `Runnable` is returned
/// here; the task does not start until it is run.
///
/// # Examples
///
/// ```
/// use corio_core::{spawn, TaskMeta};
/// use std::collections::VecDeque;
/// use std::sync::{Arc, Mutex};
///
/// let queue = Arc::new(Mutex::new(VecDeque::new()));
/// let schedule = {
///     let queue = queue.clone();
///     move |runnable| queue.lock().unwrap().push_back(runnable)
/// };
/// let (runnable, task) = spawn(async { 1 + 1 }, schedule, TaskMeta::new(std::panic::Location::caller()));
/// queue.lock().unwrap().push_back(runnable);
/// while let Some(runnable) = queue.lock().unwrap().pop_front() {
///     runnable.run();
/// }
/// assert!(task.is_done());
/// ```
///
/// A future that is not `Send` needs [`spawn_unchecked`]:
///
/// ```compile_fail
/// let shared = std::rc::Rc::new(1);
/// corio_core::spawn(async move { *shared }, drop, corio_core::TaskMeta::new(std::panic::Location::caller()));
/// ```
#[track_caller]
pub fn spawn<F, S>(future: F, schedule: S, meta: TaskMeta) -> (Runnable, Task<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Fn(Runnable) + Send + Sync + 'static,
{
    // SAFETY: the future and its output are `Send`, so they may be polled and
    // dropped on any thread.
    unsafe { spawn_unchecked(future, schedule, meta) }
}

/// Like [`spawn`], for futures that are not `Send`.
///
/// # Safety
///
/// The [`Runnable`] (and so the future) must only be run and dropped on the
/// thread that called `spawn_unchecked`, and the last reference that drops a
/// still-live future (a `Task`, `TaskRef` or `Waker`) must be dropped on that
/// thread too; an executor ensures this by keeping a [`TaskRef`] in its
/// registry until it has cancelled and run the task. Likewise the output, if
/// it is not `Send`, must be taken or dropped on that thread.
///
/// # Examples
///
/// ```
/// use corio_core::{spawn_unchecked, TaskMeta};
/// use std::rc::Rc;
///
/// let shared = Rc::new(5);
/// let future = { let shared = shared.clone(); async move { *shared * 2 } };
/// // SAFETY: the runnable is run right here, on the spawning thread.
/// let (runnable, task) = unsafe { spawn_unchecked(future, drop, TaskMeta::new(std::panic::Location::caller())) };
/// assert!(runnable.run());
/// assert!(task.is_done());
/// ```
#[track_caller]
pub unsafe fn spawn_unchecked<F, S>(
    future: F,
    schedule: S,
    meta: TaskMeta,
) -> (Runnable, Task<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Fn(Runnable) + Send + Sync + 'static,
{
    // SAFETY: the caller upholds this function's contract, which is
    // `spawn_with`'s.
    unsafe { spawn_with::<Natural, F, S>(future, schedule, meta) }
}

/// Like [`spawn`], with the task's allocation aligned to a cache line and
/// rounded up to whole lines, so that it shares no line with any other task.
///
/// For executors whose tasks run on several threads: tasks spawned one
/// after another sit side by side in memory, and when two of them run on
/// different threads, every poll of one otherwise invalidates the other's
/// line (false sharing). A task on one thread only gains nothing from this
/// and pays the rounding, so [`spawn`] does not do it.
///
/// # Examples
///
/// ```
/// use corio_core::{spawn_padded, TaskMeta};
///
/// let (runnable, task) = spawn_padded(async { 3 }, drop, TaskMeta::new(std::panic::Location::caller()));
/// assert!(runnable.run());
/// assert!(task.is_done());
/// ```
#[track_caller]
pub fn spawn_padded<F, S>(future: F, schedule: S, meta: TaskMeta) -> (Runnable, Task<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Fn(Runnable) + Send + Sync + 'static,
{
    // SAFETY: the future and its output are `Send`, so they may be polled and
    // dropped on any thread.
    unsafe { spawn_with::<CacheLine, F, S>(future, schedule, meta) }
}

/// Like [`spawn_unchecked`], with the allocation of [`spawn_padded`].
///
/// # Safety
///
/// The contract of [`spawn_unchecked`].
///
/// # Examples
///
/// ```
/// use corio_core::{spawn_unchecked_padded, TaskMeta};
/// use std::rc::Rc;
///
/// let shared = Rc::new(5);
/// let future = { let shared = shared.clone(); async move { *shared * 2 } };
/// // SAFETY: the runnable is run right here, on the spawning thread.
/// let (runnable, task) = unsafe {
///     spawn_unchecked_padded(future, drop, TaskMeta::new(std::panic::Location::caller()))
/// };
/// assert!(runnable.run());
/// assert!(task.is_done());
/// ```
#[track_caller]
pub unsafe fn spawn_unchecked_padded<F, S>(
    future: F,
    schedule: S,
    meta: TaskMeta,
) -> (Runnable, Task<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Fn(Runnable) + Send + Sync + 'static,
{
    // SAFETY: the caller upholds this function's contract, which is
    // `spawn_with`'s.
    unsafe { spawn_with::<CacheLine, F, S>(future, schedule, meta) }
}

/// The spawn functions' common body; `A` is the allocation's alignment
/// marker.
///
/// # Safety
///
/// The contract of [`spawn_unchecked`].
unsafe fn spawn_with<A, F, S>(future: F, schedule: S, meta: TaskMeta) -> (Runnable, Task<F::Output>)
where
    A: 'static,
    F: Future + 'static,
    F::Output: 'static,
    S: Fn(Runnable) + Send + Sync + 'static,
{
    let meta = Meta {
        id: TaskId::next(),
        extra: meta.extra,
        location: meta.location,
        tag: std::sync::atomic::AtomicUsize::new(0),
    };
    // SAFETY: the caller upholds this function's contract, which is
    // `RawTask::new`'s.
    let (runnable, task) = unsafe { RawTask::new::<A, F, S>(future, schedule, meta) };
    (
        Runnable {
            raw: Some(runnable),
        },
        Task {
            raw: JoinRef::new(task),
            _output: PhantomData,
        },
    )
}

/// Permission to poll a task once; the executor's handle.
///
/// A `Runnable` exists only while the task is scheduled, and there is at most
/// one. Dropping it without running it cancels the task: its future is
/// dropped right there and its output becomes [`TaskError::Cancelled`].
///
/// # Examples
///
/// ```
/// use corio_core::{spawn, TaskMeta};
///
/// let (runnable, task) = spawn(async { 7 }, drop, TaskMeta::new(std::panic::Location::caller()));
/// assert!(runnable.run());
/// assert!(task.is_done());
/// ```
pub struct Runnable {
    // `None` only inside `run`, after the reference moved out.
    raw: Option<RawTask>,
}

impl Runnable {
    pub(crate) fn from_raw(raw: RawTask) -> Runnable {
        Runnable { raw: Some(raw) }
    }

    pub(crate) fn raw(&self) -> &RawTask {
        self.raw
            .as_ref()
            .expect("a Runnable holds its task until it runs")
    }

    /// Polls the task once on this thread, or drops its future if it was
    /// cancelled. Returns `true` when the task finished (completed, panicked
    /// or was cancelled) during this call.
    ///
    /// A panic in the future's `poll` or `drop` is caught and becomes
    /// [`TaskError::Panicked`]; it never unwinds out of `run`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_core::{spawn, TaskMeta};
    ///
    /// let (runnable, task) = spawn(async { panic!("boom") }, drop, TaskMeta::new(std::panic::Location::caller()));
    /// assert!(runnable.run()); // the panic is stored, not propagated
    /// assert!(task.is_done());
    /// ```
    pub fn run(mut self) -> bool {
        match self.raw.take() {
            Some(raw) => raw.run(),
            None => false,
        }
    }

    /// Returns the task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// let (runnable, task) = corio_core::spawn(async {}, drop, corio_core::TaskMeta::new(std::panic::Location::caller()));
    /// assert_eq!(runnable.id(), task.id());
    /// ```
    pub fn id(&self) -> TaskId {
        self.raw().meta().id
    }

    /// Stores `tag` in the task: a word that belongs to the executor (for
    /// example the task's slot in its registry), read back with
    /// [`Runnable::tag`] and [`TaskRef::tag`]. It starts at 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let (runnable, _task) = corio_core::spawn(async {}, drop, corio_core::TaskMeta::new(std::panic::Location::caller()));
    /// runnable.set_tag(7);
    /// assert_eq!(runnable.tag(), 7);
    /// assert_eq!(runnable.task_ref().tag(), 7);
    /// ```
    pub fn set_tag(&self, tag: usize) {
        self.raw()
            .meta()
            .tag
            .store(tag, std::sync::atomic::Ordering::Relaxed);
    }

    /// Returns the executor's word set by [`Runnable::set_tag`].
    ///
    /// # Examples
    ///
    /// See [`Runnable::set_tag`].
    pub fn tag(&self) -> usize {
        self.raw()
            .meta()
            .tag
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records `stamp` in the task's debug word: when its executor last
    /// polled it, in the executor's own units. Does nothing for a task
    /// spawned without [`TaskMeta::with_debug`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corio_core::{spawn, TaskMeta};
    ///
    /// let meta = TaskMeta::new(std::panic::Location::caller()).with_debug(Arc::new(|_| {}));
    /// let (runnable, _task) = spawn(async {}, drop, meta);
    /// assert_eq!(runnable.task_ref().poll_stamp(), Some(0));
    /// runnable.set_poll_stamp(42);
    /// assert_eq!(runnable.task_ref().poll_stamp(), Some(42));
    /// ```
    pub fn set_poll_stamp(&self, stamp: u64) {
        if let Some(debug) = self.raw().meta().debug() {
            debug.poll_stamp.store(stamp, Ordering::Relaxed);
        }
    }

    /// Returns an untyped, cloneable reference to the task.
    ///
    /// # Examples
    ///
    /// ```
    /// let (runnable, _task) = corio_core::spawn(async {}, drop, corio_core::TaskMeta::new(std::panic::Location::caller()));
    /// assert_eq!(runnable.task_ref().id(), runnable.id());
    /// ```
    pub fn task_ref(&self) -> TaskRef {
        TaskRef {
            raw: self.raw().clone(),
        }
    }
}

impl Drop for Runnable {
    fn drop(&mut self) {
        if let Some(raw) = self.raw.take() {
            raw.cancel_run();
        }
    }
}

impl fmt::Debug for Runnable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.raw {
            Some(raw) => debug_task(f, "Runnable", raw),
            None => f.write_str("Runnable(<ran>)"),
        }
    }
}

/// An untyped, cloneable, thread-safe reference to a task, for registries
/// and debugging.
///
/// Holding a `TaskRef` keeps the task's allocation (and, if it has not
/// finished, its future) alive.
///
/// # Examples
///
/// ```
/// use corio_core::{spawn, TaskMeta, TaskState};
///
/// let (runnable, task) = spawn(async {}, drop, TaskMeta::new(std::panic::Location::caller()).with_name("job"));
/// let task_ref = runnable.task_ref();
/// assert_eq!(task_ref.name(), Some("job"));
/// assert!(task_ref.cancel());
/// runnable.run(); // drops the future
/// assert_eq!(task_ref.state(), TaskState::Cancelled);
/// assert!(task.is_cancelled());
/// ```
#[derive(Clone)]
pub struct TaskRef {
    raw: RawTask,
}

impl TaskRef {
    /// Returns the task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// let (runnable, task) = corio_core::spawn(async {}, drop, corio_core::TaskMeta::new(std::panic::Location::caller()));
    /// assert_eq!(runnable.task_ref().id(), task.id());
    /// ```
    pub fn id(&self) -> TaskId {
        self.raw.meta().id
    }

    /// Returns the executor's word set by [`Runnable::set_tag`].
    ///
    /// # Examples
    ///
    /// See [`Runnable::set_tag`].
    pub fn tag(&self) -> usize {
        self.raw
            .meta()
            .tag
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Returns the stamp last recorded by [`Runnable::set_poll_stamp`] (`0`
    /// before any), or `None` for a task spawned without
    /// [`TaskMeta::with_debug`].
    ///
    /// # Examples
    ///
    /// See [`Runnable::set_poll_stamp`].
    pub fn poll_stamp(&self) -> Option<u64> {
        let debug = self.raw.meta().debug()?;
        Some(debug.poll_stamp.load(Ordering::Relaxed))
    }

    /// Returns the task's name, if it was given one.
    ///
    /// # Examples
    ///
    /// ```
    /// let (runnable, _task) = corio_core::spawn(async {}, drop, corio_core::TaskMeta::new(std::panic::Location::caller()));
    /// assert_eq!(runnable.task_ref().name(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.raw.meta().name()
    }

    /// Returns where the task was spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// let here = std::panic::Location::caller();
    /// let (runnable, _task) = corio_core::spawn(async {}, drop, corio_core::TaskMeta::new(here));
    /// assert_eq!(runnable.task_ref().location().line(), here.line());
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.raw.meta().location
    }

    /// Returns where the task is in its life. The answer may be stale as soon
    /// as it is returned if other threads run or wake the task.
    ///
    /// # Examples
    ///
    /// See [`TaskState`].
    pub fn state(&self) -> TaskState {
        TaskState::of(self.raw.state())
    }

    /// Cancels the task; see [`Task::cancel`].
    ///
    /// # Examples
    ///
    /// See [`TaskRef`].
    pub fn cancel(&self) -> bool {
        self.raw.cancel()
    }

    /// Returns `true` once the task has finished in any way.
    ///
    /// # Examples
    ///
    /// ```
    /// let (runnable, _task) = corio_core::spawn(async {}, drop, corio_core::TaskMeta::new(std::panic::Location::caller()));
    /// let task_ref = runnable.task_ref();
    /// assert!(!task_ref.is_done());
    /// runnable.run();
    /// assert!(task_ref.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.raw.state().is(COMPLETE)
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_task(f, "TaskRef", &self.raw)
    }
}

fn debug_task(f: &mut fmt::Formatter<'_>, kind: &str, raw: &RawTask) -> fmt::Result {
    let meta = raw.meta();
    f.debug_struct(kind)
        .field("id", &meta.id)
        .field("name", &meta.name())
        .field("state", &TaskState::of(raw.state()))
        .field("location", &format_args!("{}", meta.location))
        .finish()
}

/// The join handle of a task: a future of its output.
///
/// Awaiting it yields `Ok(output)`, or a [`TaskError`] if the task was
/// cancelled or panicked. Dropping it detaches the task, which keeps running;
/// its output is then dropped when it finishes. Polling it is a
/// [coop](crate::coop) leaf operation.
///
/// # Examples
///
/// ```
/// use corio_core::{spawn, TaskMeta};
///
/// let (runnable, task) = spawn(async { "done" }, drop, TaskMeta::new(std::panic::Location::caller()));
/// runnable.run();
/// assert!(task.is_done() && !task.is_cancelled());
/// assert!(!task.cancel()); // too late
/// ```
///
/// `Task<T>` is `Send` only when `T` is:
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// // SAFETY: the runnable stays on this thread (it is never run).
/// let (_runnable, task) = unsafe {
///     corio_core::spawn_unchecked(async { std::rc::Rc::new(1) }, drop, corio_core::TaskMeta::new(std::panic::Location::caller()))
/// };
/// assert_send(task);
/// ```
#[must_use = "dropping a Task detaches it; call `detach` to say so"]
pub struct Task<T> {
    // Dropping it gives up join interest and the reference.
    raw: JoinRef,
    // Owns a `T` (the output may be dropped by the handle); `Send` and `Sync`
    // exactly when `T` is `Send`, like a `Mutex<T>`, since only `&mut self`
    // reads the output.
    _output: PhantomData<Mutex<T>>,
}

impl<T> Task<T> {
    /// Requests cancellation of the task. Returns `false` if it already
    /// finished.
    ///
    /// An idle task is scheduled once more so that its future is dropped on
    /// the executor's thread; a scheduled task drops its future instead of
    /// being polled; a running task finishes its current poll, then drops its
    /// future (discarding the output if that poll completed it). Once `cancel`
    /// returned `true`, the task ends with [`TaskError::Cancelled`] (or with
    /// [`TaskError::Panicked`] if dropping the future panicked).
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_core::{spawn, TaskMeta};
    ///
    /// let (runnable, task) = spawn(async {}, drop, TaskMeta::new(std::panic::Location::caller()));
    /// assert!(task.cancel());
    /// assert!(runnable.run()); // drops the future without polling it
    /// assert!(task.is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        self.raw.cancel()
    }

    /// Returns `true` once the task has finished in any way.
    ///
    /// # Examples
    ///
    /// See [`Task`].
    pub fn is_done(&self) -> bool {
        self.raw.state().is(COMPLETE)
    }

    /// Returns `true` if the task finished because it was cancelled.
    ///
    /// # Examples
    ///
    /// See [`Task::cancel`].
    pub fn is_cancelled(&self) -> bool {
        self.raw.state().is(COMPLETE | CANCELLED)
    }

    /// Returns `true` if the task finished by panicking and its output (the
    /// panic) was not taken yet by awaiting this handle. A task whose future
    /// panicked while being dropped after [`Task::cancel`] counts too.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_core::{spawn, TaskMeta};
    ///
    /// let meta = || TaskMeta::new(std::panic::Location::caller());
    /// let (runnable, failed) = spawn(async { panic!("boom") }, drop, meta());
    /// runnable.run();
    /// let (runnable, fine) = spawn(async {}, drop, meta());
    /// runnable.run();
    /// assert!(failed.is_panicked() && !fine.is_panicked());
    /// ```
    pub fn is_panicked(&self) -> bool {
        if !self.raw.state().is(COMPLETE) {
            return false;
        }
        // SAFETY: this handle holds `JOIN_INTEREST` and saw `COMPLETE`.
        unsafe { self.raw.output_is_panic() }
    }

    /// Waits for the task to finish without taking its output: returns
    /// `Poll::Ready(())` once the task finished in any way (after which
    /// awaiting the handle yields the output at once), or registers `cx`'s
    /// waker to be woken when it does. As when awaiting the handle, only the
    /// waker of the latest call is woken.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::Pin;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// use std::task::{Context, Poll, Wake, Waker};
    ///
    /// use corio_core::{spawn, TaskMeta};
    ///
    /// struct Woken(AtomicBool);
    ///
    /// impl Wake for Woken {
    ///     fn wake(self: Arc<Self>) {
    ///         self.0.store(true, Ordering::SeqCst);
    ///     }
    /// }
    ///
    /// let (runnable, mut task) = spawn(async { 7 }, drop, TaskMeta::new(std::panic::Location::caller()));
    /// let woken = Arc::new(Woken(AtomicBool::new(false)));
    /// let waker = Waker::from(woken.clone());
    /// let mut cx = Context::from_waker(&waker);
    /// assert!(task.poll_done(&mut cx).is_pending());
    /// runnable.run();
    /// assert!(woken.0.load(Ordering::SeqCst));
    /// assert!(task.poll_done(&mut cx).is_ready());
    /// // The output is still there.
    /// assert!(matches!(Pin::new(&mut task).poll(&mut cx), Poll::Ready(Ok(7))));
    /// ```
    pub fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.raw.poll_join(cx.waker()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Returns the task's id.
    ///
    /// # Examples
    ///
    /// See [`TaskId`].
    pub fn id(&self) -> TaskId {
        self.raw.meta().id
    }

    /// Returns the task's name, if it was given one.
    ///
    /// # Examples
    ///
    /// See [`TaskMeta`].
    pub fn name(&self) -> Option<&str> {
        self.raw.meta().name()
    }

    /// Lets the task run on without anyone awaiting it; the same as dropping
    /// the handle.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_core::{spawn, TaskMeta};
    ///
    /// let (runnable, task) = spawn(async { println!("still runs") }, drop, TaskMeta::new(std::panic::Location::caller()));
    /// task.detach();
    /// assert!(runnable.run());
    /// ```
    pub fn detach(self) {
        drop(self);
    }
}

// The handle never pins anything: the future lives in the task's allocation.
impl<T> Unpin for Task<T> {}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let permit = std::task::ready!(coop::poll_proceed(cx));
        if !self.raw.poll_join(cx.waker()) {
            return Poll::Pending;
        }
        // SAFETY: this handle was created with the future's output type `T`,
        // holds `JOIN_INTEREST`, and `poll_join` saw `COMPLETE`.
        match unsafe { self.raw.take_output::<T>() } {
            Some(output) => {
                permit.made_progress();
                Poll::Ready(output)
            }
            None => panic!("`Task` polled after it returned its output"),
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_task(f, "Task", &self.raw)
    }
}

/// The size in bytes of a task's header. Used by the `layout` example.
#[doc(hidden)]
pub fn task_header_size() -> usize {
    crate::raw::header_size()
}

/// The size in bytes of the one allocation a task for `future` scheduled by
/// `schedule` makes. Used by the `layout` example.
#[doc(hidden)]
pub fn task_allocation_size<F: Future, S>(future: &F, schedule: &S) -> usize {
    let _ = (future, schedule);
    crate::raw::cell_size::<Natural, F, S>()
}
