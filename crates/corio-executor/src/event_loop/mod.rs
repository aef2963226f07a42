//! The current-thread event loop.
//!
//! The loop owns a FIFO ready queue (`VecDeque`) of tasks, callbacks and the
//! "main future" marker, touched only on the loop's thread through a
//! `RefCell`: no lock on the hot path. Each concept has its own file:
//!
//! - `mod.rs` (this file): [`EventLoop`] and its construction, the loop's
//!   own state (`Local`), the ready queue's entries, and spawning onto the
//!   loop from its own thread.
//! - `handoff.rs`: the cross-thread hand-off: [`LoopHandle`], the injection
//!   queue and its flags, written as a protocol in its module documentation
//!   and checked by loom models.
//! - `callbacks.rs`: `call_soon`, `call_later`, `call_at` and
//!   [`CallbackHandle`].
//! - `run.rs`: `run_until_complete`, `run_forever` and one iteration.
//! - `maintenance.rs`: polling the driver, firing timers, virtual time, and
//!   shrinking the ready queue ([`EVENT_INTERVAL`]).
//! - `shutdown.rs`: cancelling what is left when the loop is dropped.
//!
//! Debug mode (timing polls, stamping tasks, reporting) lives in the
//! crate's `debug` module; the loop holds it, when on, in its `Shared`.
//!
//! A loop is configured by [`Builder`](crate::Builder) (`Runtime::builder()`),
//! whose `build_event_loop` makes a bare loop; [`EventLoop::new`] and
//! [`EventLoop::with_driver`] are its two common cases.

mod callbacks;
mod handoff;
mod maintenance;
mod run;
mod shutdown;

pub use callbacks::CallbackHandle;
pub use handoff::LoopHandle;
pub use maintenance::EVENT_INTERVAL;

pub(crate) use handoff::Shared;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;

use corio_core::{Driver, Runnable, Task, TaskMeta, TaskRef};
use corio_timer::{Instant, Timers};

use crate::builder::LoopConfig;
use crate::context::EnterMode;
use crate::debug::Debug;
use crate::info::TaskInfo;
use crate::task_map::{TaskMap, Visibility};

/// An asyncio-style event loop that runs tasks on the current thread.
///
/// Ready tasks and `call_soon` callbacks run in FIFO order, each once per loop
/// iteration. The loop is driven by a [`Driver`]: the IO reactor by default
/// (the `io` feature; without it, the core's `ParkDriver`), or any other
/// through [`EventLoop::with_driver`]. [`Runtime::builder`](crate::Runtime::builder)
/// configures everything else (a virtual clock, debug mode) and builds a
/// loop with `build_event_loop`.
///
/// # Examples
///
/// ```
/// use corio_executor::EventLoop;
///
/// let mut event_loop = EventLoop::new().unwrap();
/// let task = event_loop.spawn_local(async { 6 * 7 });
/// assert_eq!(event_loop.run_until_complete(task).unwrap(), 42);
/// ```
pub struct EventLoop {
    local: Rc<Local>,
}

/// The loop's state that only its own thread touches.
pub(crate) struct Local {
    pub(crate) shared: Arc<Shared>,
    ready: RefCell<VecDeque<Ready>>,
    tasks: RefCell<TaskMap>,
    timers: Timers,
    driver: RefCell<Box<dyn Driver>>,
    io_context: Option<Arc<dyn Any + Send + Sync>>,
    /// What is being polled.
    current: Cell<Current>,
    /// The main future of the `run_until_complete` under way, if any.
    main: RefCell<Option<Arc<run::MainWake>>>,
    polls_since_maintenance: Cell<u32>,
}

/// What the loop is polling, for `current_task`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Current {
    /// Nothing (or a callback).
    Nothing,
    /// The main future of `run_until_complete`.
    Main,
    /// The task in this registry slot.
    Task(usize),
}

/// One entry of the ready queue: two words, so that a queue holding a
/// million tasks costs 16 bytes each (a callback is boxed for that reason).
enum Ready {
    Task(Runnable),
    Callback(Box<callbacks::Callback>),
    Main(Arc<run::MainWake>),
}

impl EventLoop {
    /// Creates an event loop on the default driver (the IO reactor with the
    /// `io` feature, which is on by default; the core's `ParkDriver` without
    /// it) with the real clock. The same as
    /// `Runtime::builder().build_event_loop()`.
    ///
    /// # Errors
    ///
    /// Returns the OS error when the driver cannot be created (for example
    /// when the process is out of file descriptors).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new()?;
    /// event_loop.run_until_complete(async {});
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<EventLoop> {
        crate::Runtime::builder().build_event_loop()
    }

    /// Creates an event loop on `driver` with the real clock. The same as
    /// `Runtime::builder().driver(driver).build_event_loop()`, which cannot
    /// fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_core::ParkDriver;
    /// use corio_executor::EventLoop;
    ///
    /// let mut event_loop = EventLoop::with_driver(ParkDriver::new());
    /// assert_eq!(event_loop.run_until_complete(async { 5 }), 5);
    /// ```
    pub fn with_driver(driver: impl Driver) -> EventLoop {
        EventLoop::from_config(crate::Runtime::builder().loop_config_on(Box::new(driver)))
    }

    /// Makes the loop a [`Builder`](crate::Builder) configured.
    pub(crate) fn from_config(config: LoopConfig) -> EventLoop {
        let LoopConfig {
            driver,
            clock,
            debug,
        } = config;
        let shared = Arc::new(Shared::new(driver.unparker(), debug));
        let io_context = driver.io_context();
        EventLoop {
            local: Rc::new(Local {
                shared,
                ready: RefCell::new(VecDeque::new()),
                tasks: RefCell::new(TaskMap::default()),
                timers: Timers::new(clock),
                driver: RefCell::new(driver),
                io_context,
                current: Cell::new(Current::Nothing),
                main: RefCell::new(None),
                polls_since_maintenance: Cell::new(0),
            }),
        }
    }

    /// Returns the loop's current time (virtual with a virtual clock).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = corio_executor::EventLoop::new().unwrap();
    /// let before = event_loop.time();
    /// assert!(event_loop.time() >= before);
    /// ```
    pub fn time(&self) -> Instant {
        self.local.timers.now()
    }

    /// Spawns a task on this loop; it starts in the loop's next iteration.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let task = event_loop.spawn_local(async { "done" });
    /// assert_eq!(event_loop.run_until_complete(task).unwrap(), "done");
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.local
            .spawn_local(future, TaskMeta::new(Location::caller()))
    }

    /// Returns a handle that can stop the loop, schedule callbacks and spawn
    /// tasks from any thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// handle.stop();
    /// ```
    pub fn handle(&self) -> LoopHandle {
        LoopHandle {
            shared: self.local.shared.clone(),
        }
    }

    /// Returns a description of every task alive on this loop, the main
    /// future of a `run_until_complete` under way first (named `main`).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = corio_executor::EventLoop::new().unwrap();
    /// let _task = event_loop.spawn_local(std::future::pending::<()>());
    /// assert_eq!(event_loop.all_tasks().len(), 1);
    /// ```
    pub fn all_tasks(&self) -> Vec<TaskInfo> {
        self.local.all_tasks()
    }
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("ready", &self.local.ready.borrow().len())
            .field("tasks", &self.local.tasks.borrow().len())
            .field("timers", &self.local.timers.len())
            .finish()
    }
}

/// Makes a loop the current one of this thread, with its timers and IO
/// context; undone on drop, also when a panic unwinds out of the loop.
pub(crate) struct RunningGuard {
    _context: crate::context::EnterGuard,
    _timers: corio_timer::EnterGuard,
    _io: corio_core::IoContextGuard,
}

impl Local {
    /// Enters the loop to run it; panics when a loop already runs here.
    fn enter_running(self: &Rc<Self>) -> RunningGuard {
        crate::context::assert_no_loop_running();
        self.enter(EnterMode::Running)
    }

    fn enter(self: &Rc<Self>, mode: EnterMode) -> RunningGuard {
        RunningGuard {
            _context: crate::context::enter(self.clone(), mode),
            _timers: self.timers.enter(),
            _io: corio_core::enter_io_context(self.io_context.clone()),
        }
    }

    /// Spawns a `Send` task of this loop from its own thread.
    pub(crate) fn spawn_send<F>(&self, future: F, meta: TaskMeta) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, task) = self.shared.spawn_task(future, meta);
        self.adopt(runnable, Visibility::Listed);
        task
    }

    /// Spawns a task of this loop from its own thread.
    pub(crate) fn spawn_local<F>(&self, future: F, meta: TaskMeta) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_on_thread(future, meta, Visibility::Listed).0
    }

    /// Spawns a `Send` task like [`Local::spawn_send`], and also returns a
    /// reference to it, for an owner that may cancel it later (a
    /// `TaskGroup`).
    pub(crate) fn spawn_send_with_ref<F>(
        &self,
        future: F,
        meta: TaskMeta,
    ) -> (Task<F::Output>, TaskRef)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, task) = self.shared.spawn_task(future, meta);
        let task_ref = runnable.task_ref();
        self.adopt(runnable, Visibility::Listed);
        (task, task_ref)
    }

    /// Spawns a task like [`Local::spawn_local`], and also returns a
    /// reference to it, for an owner that may cancel it later (a
    /// `TaskGroup`).
    pub(crate) fn spawn_local_with_ref<F>(
        &self,
        future: F,
        meta: TaskMeta,
    ) -> (Task<F::Output>, TaskRef)
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let (task, key) = self.spawn_on_thread(future, meta, Visibility::Listed);
        let task_ref = self
            .tasks
            .borrow()
            .get(key)
            .cloned()
            .expect("a task just spawned is in the registry");
        (task, task_ref)
    }

    /// Spawns a task of this loop from its thread; returns it with its
    /// registry slot.
    fn spawn_on_thread<F>(
        &self,
        future: F,
        meta: TaskMeta,
        visibility: Visibility,
    ) -> (Task<F::Output>, usize)
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let meta = crate::debug::task_meta(self.debug(), meta);
        let shared = self.shared.clone();
        // `spawn_unchecked` needs the runnable, and so the future, to be run
        // and dropped only on this thread. The runnable goes to this loop's
        // ready queue; wakes from other threads go through the injector,
        // which only this loop drains, on this thread (`Local` is not
        // `Send`). The task map keeps a reference to the task until it has
        // finished, and `shutdown` cancels and runs every task here before the
        // loop is closed, so the future is never dropped elsewhere; after
        // `closed` is set, runnables dropped on other threads belong to
        // finished tasks whose futures are gone.
        // SAFETY: the contract of `spawn_unchecked` holds, as argued above.
        let (runnable, task) = unsafe {
            corio_core::spawn_unchecked(future, move |runnable| shared.schedule(runnable), meta)
        };
        let key = self.adopt(runnable, visibility);
        (task, key)
    }

    /// Registers a new task, queues its first poll, and returns its
    /// registry slot (also stored as the task's tag).
    fn adopt(&self, runnable: Runnable, visibility: Visibility) -> usize {
        let mut tasks = self.tasks.borrow_mut();
        let tag = tasks.next_tag(visibility);
        runnable.set_tag(tag);
        tasks.insert(runnable.task_ref());
        self.ready.borrow_mut().push_back(Ready::Task(runnable));
        crate::task_map::key_of(tag)
    }

    /// Debug mode, if on.
    pub(crate) fn debug(&self) -> Option<&Debug> {
        self.shared.debug.as_deref()
    }

    pub(crate) fn current_task(&self) -> Option<TaskInfo> {
        match self.current.get() {
            Current::Nothing => None,
            Current::Main => Some(self.main.borrow().as_ref()?.task.info(self.debug())),
            Current::Task(key) => {
                let tasks = self.tasks.borrow();
                Some(TaskInfo::from_task(tasks.get(key)?, self.debug()))
            }
        }
    }

    pub(crate) fn all_tasks(&self) -> Vec<TaskInfo> {
        let debug = self.debug();
        let main = self
            .main
            .borrow()
            .as_ref()
            .map(|main| main.task.info(debug));
        let tasks = self.tasks.borrow();
        let tasks = tasks.visible().map(|task| TaskInfo::from_task(task, debug));
        main.into_iter().chain(tasks).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hand_off_entry_is_two_words() {
        assert_eq!(
            std::mem::size_of::<super::handoff::Remote>(),
            2 * std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn a_ready_queue_entry_is_two_words() {
        assert_eq!(
            std::mem::size_of::<super::Ready>(),
            2 * std::mem::size_of::<usize>()
        );
    }
}
