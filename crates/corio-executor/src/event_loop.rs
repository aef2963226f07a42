//! The current-thread event loop.
//!
//! # Implementation
//!
//! The loop owns a FIFO ready queue (`VecDeque`) of tasks, callbacks and the
//! "main future" marker, touched only on the loop's thread through a `RefCell`:
//! no lock on the hot path. Other threads hand work over through a lock-free
//! injection queue (`crossbeam_queue::SegQueue`) and wake the loop with the
//! driver's unparker; a `notified` flag makes sure that a burst of remote wakes
//! costs one unpark.
//!
//! One iteration (asyncio's `_run_once`) takes the entries that are ready at
//! its start and runs each once, in order; what they wake or spawn runs in the
//! next iteration. Between iterations, when nothing is ready or every
//! [`EVENT_INTERVAL`] polls, the loop does its maintenance: it polls the driver
//! (blocking until the next timer when idle), fires due timers, and with a
//! virtual clock jumps time to the next deadline when nothing else can run.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use corio_core::{coop, Driver, Runnable, Task, TaskMeta, TaskRef, Unpark};
use corio_timer::{Clock, Instant, Timers};
use crossbeam_queue::SegQueue;

use crate::info::TaskInfo;
use crate::task_map::TaskMap;

/// How many entries the loop runs before it polls the driver and the timers
/// even though more work is ready (tokio uses the same figure).
///
/// ```
/// assert_eq!(corio_executor::EVENT_INTERVAL, 61);
/// ```
pub const EVENT_INTERVAL: u32 = 61;

/// Ready-queue entries whose memory the loop always keeps; beyond that, a
/// queue that a burst grew gives its memory back once it is three quarters
/// empty (see `Local::shrink_ready_queue`).
const READY_KEPT: usize = 4096;

/// An asyncio-style event loop that runs tasks on the current thread.
///
/// Ready tasks and `call_soon` callbacks run in FIFO order, each once per loop
/// iteration. The loop is driven by a [`Driver`]: the IO reactor by default,
/// or any other through [`EventLoop::with_driver`].
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
    local: std::rc::Rc<Local>,
}

/// A handle to an [`EventLoop`] that can be used from any thread.
///
/// # Examples
///
/// ```
/// use corio_executor::EventLoop;
///
/// let mut event_loop = EventLoop::new().unwrap();
/// let handle = event_loop.handle();
/// let task = std::thread::spawn(move || handle.spawn(async { 1 + 1 }))
///     .join()
///     .unwrap();
/// assert_eq!(event_loop.run_until_complete(task).unwrap(), 2);
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    shared: Arc<Shared>,
}

/// A scheduled callback, returned by `call_soon`, `call_later` and `call_at`.
///
/// # Examples
///
/// ```
/// use corio_executor::EventLoop;
/// use std::time::Duration;
///
/// let mut event_loop = EventLoop::new().unwrap();
/// let handle = event_loop.call_later(Duration::from_secs(3600), || panic!("never runs"));
/// assert!(handle.cancel());
/// event_loop.run_until_complete(async {});
/// ```
#[derive(Clone, Debug)]
pub struct CallbackHandle {
    cancelled: Arc<AtomicBool>,
    task: Option<TaskRef>,
}

impl CallbackHandle {
    /// Cancels the callback. Returns `false` when it was already cancelled.
    ///
    /// A callback that has already run is not affected.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.call_soon(|| panic!("cancelled before it runs"));
    /// assert!(handle.cancel());
    /// assert!(!handle.cancel());
    /// event_loop.run_until_complete(async {});
    /// ```
    pub fn cancel(&self) -> bool {
        let first = !self.cancelled.swap(true, Ordering::AcqRel);
        if let Some(task) = &self.task {
            task.cancel();
        }
        first
    }

    /// Returns `true` once [`CallbackHandle::cancel`] has been called.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.call_soon(|| {});
    /// assert!(!handle.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// The loop's state that only its own thread touches.
pub(crate) struct Local {
    pub(crate) shared: Arc<Shared>,
    ready: RefCell<VecDeque<Ready>>,
    tasks: RefCell<TaskMap>,
    timers: Timers,
    driver: RefCell<Box<dyn Driver>>,
    io_context: Option<Arc<dyn Any + Send + Sync>>,
    /// The registry slot of the task being polled.
    current_task: Cell<Option<usize>>,
    polls_since_maintenance: Cell<u32>,
    debug: Cell<Option<Duration>>,
}

/// The loop's state that other threads reach through wakers and handles.
pub(crate) struct Shared {
    injector: SegQueue<Remote>,
    /// Set after every push to `injector`, cleared by the loop before it
    /// drains it: the loop checks this plain load on every iteration instead
    /// of popping an empty `SegQueue`, which costs a `SeqCst` fence.
    remote_pending: AtomicBool,
    unparker: Arc<dyn Unpark>,
    notified: AtomicBool,
    stopping: AtomicBool,
    closed: AtomicBool,
}

/// One entry of the ready queue: two words, so that a queue holding a
/// million tasks costs 16 bytes each (a callback is boxed for that reason).
enum Ready {
    Task(Runnable),
    Callback(Box<Callback>),
    Main(Arc<MainWake>),
}

enum Remote {
    Spawn(Runnable),
    Wake(Runnable),
    Callback(Arc<AtomicBool>, Box<dyn FnOnce() + Send>),
    Main(Arc<MainWake>),
}

struct Callback {
    cancelled: Arc<AtomicBool>,
    f: Box<dyn FnOnce()>,
}

/// The waker of the future passed to `run_until_complete`: waking it queues
/// one `Ready::Main` marker.
struct MainWake {
    shared: Arc<Shared>,
    queued: AtomicBool,
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let queued = self.shared.on_this_loop(self.clone(), |local, main| {
            local.ready.borrow_mut().push_back(Ready::Main(main))
        });
        if let Err(main) = queued {
            self.shared.push_remote(Remote::Main(main));
        }
    }
}

impl Shared {
    fn new(unparker: Arc<dyn Unpark>) -> Shared {
        Shared {
            injector: SegQueue::new(),
            remote_pending: AtomicBool::new(false),
            unparker,
            notified: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    /// Makes a `Send` task whose wake-ups are scheduled on this loop.
    fn spawn_task<F>(self: &Arc<Self>, future: F, meta: TaskMeta) -> (Runnable, Task<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let shared = self.clone();
        corio_core::spawn(future, move |runnable| shared.schedule(runnable), meta)
    }

    /// The schedule hook of every task of this loop.
    pub(crate) fn schedule(self: &Arc<Self>, runnable: Runnable) {
        let queued = self.on_this_loop(runnable, |local, runnable| {
            local.ready.borrow_mut().push_back(Ready::Task(runnable))
        });
        if let Err(runnable) = queued {
            self.push_remote(Remote::Wake(runnable));
        }
    }

    /// Runs `on_loop` with `value` when this thread is running this loop;
    /// otherwise gives `value` back, for the injection queue.
    fn on_this_loop<T, R>(
        self: &Arc<Self>,
        value: T,
        on_loop: impl FnOnce(&Local, T) -> R,
    ) -> Result<R, T> {
        crate::context::with_local(|local| match local {
            Some(local) if Arc::ptr_eq(&local.shared, self) => Ok(on_loop(local, value)),
            _ => Err(value),
        })
    }

    fn push_remote(&self, remote: Remote) {
        if self.closed.load(Ordering::Acquire) {
            // The loop has shut down: every task it owned has finished and
            // its future was dropped on the loop's thread, so the work can be
            // dropped here. A remote spawn resolves as cancelled.
            drop(remote);
            return;
        }
        self.injector.push(remote);
        self.remote_pending.store(true, Ordering::Release);
        if !self.notified.swap(true, Ordering::AcqRel) {
            self.unparker.unpark();
        }
    }
}

impl EventLoop {
    /// Creates an event loop on the default driver (the IO reactor) with the
    /// real clock.
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
        Ok(EventLoop::with_driver(crate::default_driver()?))
    }

    /// Creates an event loop on `driver` with the real clock.
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
        EventLoop::with_driver_and_clock(Box::new(driver), Clock::real())
    }

    /// Creates an event loop on `driver` whose timers follow `clock`; with a
    /// virtual clock, time jumps to the next timer whenever nothing is ready.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_core::ParkDriver;
    /// use corio_executor::EventLoop;
    /// use corio_timer::Clock;
    /// use std::time::Duration;
    ///
    /// let mut event_loop = EventLoop::with_driver_and_clock(Box::new(ParkDriver::new()), Clock::manual());
    /// let start = event_loop.time();
    /// event_loop.run_until_complete(corio_timer::sleep(Duration::from_secs(3600)));
    /// assert!(event_loop.time() - start >= Duration::from_secs(3600));
    /// ```
    pub fn with_driver_and_clock(driver: Box<dyn Driver>, clock: Clock) -> EventLoop {
        let shared = Arc::new(Shared::new(driver.unparker()));
        let io_context = driver.io_context();
        EventLoop {
            local: std::rc::Rc::new(Local {
                shared,
                ready: RefCell::new(VecDeque::new()),
                tasks: RefCell::new(TaskMap::default()),
                timers: Timers::new(clock),
                driver: RefCell::new(driver),
                io_context,
                current_task: Cell::new(None),
                polls_since_maintenance: Cell::new(0),
                debug: Cell::new(crate::runtime::debug_from_env()),
            }),
        }
    }

    /// Runs the loop until `future` completes and returns its output.
    ///
    /// Tasks that are still pending stay on the loop and go on in the next
    /// call to `run_until_complete` or `run_forever`.
    ///
    /// # Panics
    ///
    /// Panics when a loop is already running on this thread, and resumes the
    /// panic of `future` if it panics.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let answer = event_loop.run_until_complete(async { 42 });
    /// assert_eq!(answer, 42);
    /// ```
    pub fn run_until_complete<F: Future>(&mut self, future: F) -> F::Output {
        let _running = self.local.enter_running();
        let mut future = pin!(future);
        let main = Arc::new(MainWake {
            shared: self.local.shared.clone(),
            queued: AtomicBool::new(true),
        });
        let waker = Waker::from(main.clone());
        self.local
            .ready
            .borrow_mut()
            .push_back(Ready::Main(main.clone()));
        let mut output = None;
        self.local.run(Some(&main), &mut || {
            let mut cx = Context::from_waker(&waker);
            match coop::with_budget(|| future.as_mut().poll(&mut cx)) {
                Poll::Ready(value) => {
                    output = Some(value);
                    true
                }
                Poll::Pending => false,
            }
        });
        output.expect("the loop returns only once the main future is complete")
    }

    /// Runs the loop until [`LoopHandle::stop`] is called.
    ///
    /// The loop finishes the iteration in which `stop` was called, then
    /// returns; it can be run again afterwards.
    ///
    /// # Panics
    ///
    /// Panics when a loop is already running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// event_loop.call_soon(move || handle.stop());
    /// event_loop.run_forever();
    /// ```
    pub fn run_forever(&mut self) {
        let _running = self.local.enter_running();
        self.local.run(None, &mut || false);
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

    /// Schedules `callback` to run in a later loop iteration, after what is
    /// already ready (asyncio's `call_soon`).
    ///
    /// A panic in the callback is reported on standard error; the loop goes
    /// on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let ran = Rc::new(Cell::new(false));
    /// let flag = ran.clone();
    /// event_loop.call_soon(move || flag.set(true));
    /// event_loop.run_until_complete(corio_executor::yield_now());
    /// assert!(ran.get());
    /// ```
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) -> CallbackHandle {
        self.local.call_soon(callback)
    }

    /// Schedules `callback` to run once `delay` has passed (asyncio's
    /// `call_later`). Callbacks due at the same time run in the order they
    /// were scheduled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// event_loop.call_later(Duration::from_millis(5), move || handle.stop());
    /// event_loop.run_forever();
    /// ```
    pub fn call_later(&self, delay: Duration, callback: impl FnOnce() + 'static) -> CallbackHandle {
        let when = self.time() + delay;
        self.call_at(when, callback)
    }

    /// Schedules `callback` to run at `when` on the loop's clock (asyncio's
    /// `call_at`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// let when = event_loop.time() + Duration::from_millis(2);
    /// event_loop.call_at(when, move || handle.stop());
    /// event_loop.run_forever();
    /// ```
    pub fn call_at(&self, when: Instant, callback: impl FnOnce() + 'static) -> CallbackHandle {
        let cancelled = Arc::new(AtomicBool::new(false));
        let flag = cancelled.clone();
        let future = async move {
            corio_timer::sleep_until(when).await;
            if !flag.load(Ordering::Acquire) {
                run_callback(Box::new(callback));
            }
        };
        let meta = TaskMeta::new(Location::caller()).with_name("call_at");
        let (task, key) = self.local.spawn_on_thread(future, meta, true);
        let task_ref = self.local.tasks.borrow().get(key).cloned();
        task.detach();
        CallbackHandle {
            cancelled,
            task: task_ref,
        }
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

    /// Turns the slow-poll report on (`Some(threshold)`) or off (`None`): a
    /// task poll that runs longer than `threshold` is reported on standard
    /// error with the task's name and spawn location, like asyncio's debug
    /// mode. `CORIO_DEBUG=1` turns it on with a threshold of 100 ms.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let event_loop = corio_executor::EventLoop::new().unwrap();
    /// event_loop.set_slow_poll_threshold(Some(Duration::from_millis(100)));
    /// ```
    pub fn set_slow_poll_threshold(&self, threshold: Option<Duration>) {
        self.local.debug.set(threshold);
    }

    /// Returns a description of every task alive on this loop.
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

impl Drop for EventLoop {
    fn drop(&mut self) {
        self.local.shutdown();
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

impl LoopHandle {
    /// Stops the loop: `run_forever` returns after the current iteration.
    ///
    /// A stop requested while the loop runs `run_until_complete` does not cut
    /// that future short; it is kept, and the next `run_forever` runs one
    /// iteration and returns (asyncio's behaviour for a stop before
    /// `run_forever`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// std::thread::spawn(move || handle.stop());
    /// event_loop.run_forever();
    /// ```
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.unparker.unpark();
    }

    /// Schedules `callback` on the loop from any thread, waking the loop if
    /// it is parked (asyncio's `call_soon_threadsafe`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// let stopper = handle.clone();
    /// std::thread::spawn(move || {
    ///     handle.call_soon_threadsafe(move || stopper.stop());
    /// });
    /// event_loop.run_forever();
    /// ```
    pub fn call_soon_threadsafe(&self, callback: impl FnOnce() + Send + 'static) -> CallbackHandle {
        let cancelled = Arc::new(AtomicBool::new(false));
        self.shared
            .push_remote(Remote::Callback(cancelled.clone(), Box::new(callback)));
        CallbackHandle {
            cancelled,
            task: None,
        }
    }

    /// Spawns a `Send` future on the loop from any thread.
    ///
    /// If the loop has already shut down, the task is cancelled at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let task = event_loop.handle().spawn(async { 3 });
    /// assert_eq!(event_loop.run_until_complete(task).unwrap(), 3);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with_meta(future, TaskMeta::new(Location::caller()))
    }

    pub(crate) fn spawn_with_meta<F>(&self, future: F, meta: TaskMeta) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let spawned = self
            .shared
            .on_this_loop((future, meta), |local, (future, meta)| {
                local.spawn_send(future, meta)
            });
        spawned.unwrap_or_else(|(future, meta)| {
            let (runnable, task) = self.shared.spawn_task(future, meta);
            self.shared.push_remote(Remote::Spawn(runnable));
            task
        })
    }
}

impl std::fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopHandle").finish_non_exhaustive()
    }
}

fn run_callback(callback: Box<dyn FnOnce()>) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(callback)) {
        eprintln!(
            "corio: exception in callback: {}",
            crate::info::panic_message(payload.as_ref())
        );
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
    fn enter_running(self: &std::rc::Rc<Self>) -> RunningGuard {
        crate::context::assert_no_loop_running();
        self.enter(true)
    }

    fn enter(self: &std::rc::Rc<Self>, running: bool) -> RunningGuard {
        RunningGuard {
            _context: crate::context::enter(self.clone(), running),
            _timers: self.timers.enter(),
            _io: corio_core::enter_io_context(self.io_context.clone()),
        }
    }

    pub(crate) fn call_soon(&self, callback: impl FnOnce() + 'static) -> CallbackHandle {
        let cancelled = Arc::new(AtomicBool::new(false));
        self.ready
            .borrow_mut()
            .push_back(Ready::Callback(Box::new(Callback {
                cancelled: cancelled.clone(),
                f: Box::new(callback),
            })));
        CallbackHandle {
            cancelled,
            task: None,
        }
    }

    /// Spawns a `Send` task of this loop from its own thread.
    pub(crate) fn spawn_send<F>(&self, future: F, meta: TaskMeta) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, task) = self.shared.spawn_task(future, meta);
        self.adopt(runnable, false);
        task
    }

    /// Spawns a task of this loop from its own thread.
    pub(crate) fn spawn_local<F>(&self, future: F, meta: TaskMeta) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_on_thread(future, meta, false).0
    }

    /// Spawns a task of this loop from its thread; returns it with its
    /// registry slot.
    fn spawn_on_thread<F>(
        &self,
        future: F,
        meta: TaskMeta,
        internal: bool,
    ) -> (Task<F::Output>, usize)
    where
        F: Future + 'static,
        F::Output: 'static,
    {
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
        let key = self.adopt(runnable, internal);
        (task, key)
    }

    /// Registers a new task, queues its first poll, and returns its
    /// registry slot (also stored as the task's tag).
    fn adopt(&self, runnable: Runnable, internal: bool) -> usize {
        let mut tasks = self.tasks.borrow_mut();
        let tag = tasks.next_tag(internal);
        runnable.set_tag(tag);
        tasks.insert(runnable.task_ref());
        self.ready.borrow_mut().push_back(Ready::Task(runnable));
        crate::task_map::key_of(tag)
    }

    pub(crate) fn current_task(&self) -> Option<TaskInfo> {
        let key = self.current_task.get()?;
        self.tasks.borrow().get(key).map(TaskInfo::from_task)
    }

    pub(crate) fn all_tasks(&self) -> Vec<TaskInfo> {
        self.tasks
            .borrow()
            .visible()
            .map(TaskInfo::from_task)
            .collect()
    }

    /// The loop proper. `poll_main` polls the main future and returns `true`
    /// once it is complete; `main` identifies its live wake marker.
    fn run(&self, main: Option<&Arc<MainWake>>, poll_main: &mut dyn FnMut() -> bool) {
        loop {
            self.drain_remote();
            // `stop` ends `run_forever` only; one that arrives during
            // `run_until_complete` waits for the next `run_forever`, as in
            // asyncio, which then runs one iteration and returns.
            let stoppable = main.is_none();
            if self.ready.borrow().is_empty() {
                self.maintain(true, stoppable);
            } else if self.polls_since_maintenance.get() >= EVENT_INTERVAL {
                self.maintain(false, stoppable);
            }
            let batch = self.ready.borrow().len();
            for _ in 0..batch {
                let Some(entry) = self.ready.borrow_mut().pop_front() else {
                    break;
                };
                self.polls_since_maintenance
                    .set(self.polls_since_maintenance.get() + 1);
                match entry {
                    Ready::Task(runnable) => self.run_task(runnable),
                    Ready::Callback(callback) => {
                        if !callback.cancelled.load(Ordering::Acquire) {
                            run_callback(callback.f);
                        }
                    }
                    Ready::Main(marker) => {
                        let is_current = main.is_some_and(|main| Arc::ptr_eq(main, &marker));
                        if is_current {
                            marker.queued.store(false, Ordering::Release);
                            if poll_main() {
                                return;
                            }
                        }
                    }
                }
            }
            if stoppable && self.shared.stopping.swap(false, Ordering::AcqRel) {
                return;
            }
        }
    }

    fn run_task(&self, runnable: Runnable) {
        let key = crate::task_map::key_of(runnable.tag());
        let previous = self.current_task.replace(Some(key));
        let finished = match self.debug.get() {
            None => coop::with_budget(|| runnable.run()),
            Some(threshold) => self.run_task_timed(runnable, threshold),
        };
        self.current_task.set(previous);
        if finished {
            self.tasks.borrow_mut().remove(key);
        }
    }

    /// Runs a task and reports a poll slower than `threshold` (debug mode).
    #[cold]
    fn run_task_timed(&self, runnable: Runnable, threshold: Duration) -> bool {
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

    /// Moves what other threads handed over into the ready queue, if they
    /// handed over anything since the last drain.
    fn drain_remote(&self) {
        let pending = &self.shared.remote_pending;
        // A push sets the flag after it lands, so a push this swap clears is
        // visible to the pops below, and a later one sets the flag again.
        if pending.load(Ordering::Relaxed) && pending.swap(false, Ordering::AcqRel) {
            self.drain_remote_now();
        }
    }

    fn drain_remote_now(&self) {
        while let Some(remote) = self.shared.injector.pop() {
            match remote {
                Remote::Spawn(runnable) => {
                    self.adopt(runnable, false);
                }
                Remote::Wake(runnable) => self.ready.borrow_mut().push_back(Ready::Task(runnable)),
                Remote::Callback(cancelled, f) => self
                    .ready
                    .borrow_mut()
                    .push_back(Ready::Callback(Box::new(Callback { cancelled, f }))),
                Remote::Main(marker) => self.ready.borrow_mut().push_back(Ready::Main(marker)),
            }
        }
    }

    /// Polls the driver and fires due timers. With `idle`, nothing is ready:
    /// block until the next timer, an IO event or a remote wake-up (or not
    /// at all when a `stop` is pending and `stoppable`).
    fn maintain(&self, idle: bool, stoppable: bool) {
        self.polls_since_maintenance.set(0);
        self.shrink_ready_queue();
        let mut timeout = if idle {
            self.idle_timeout()
        } else {
            Some(Duration::ZERO)
        };
        if idle {
            // Announce that the loop may sleep, then look once more: a remote
            // push that lands after this point sees `notified == false` and
            // unparks the driver.
            self.shared.notified.store(false, Ordering::SeqCst);
            let stop_pending = stoppable && self.shared.stopping.load(Ordering::Acquire);
            if !self.shared.injector.is_empty() || stop_pending {
                timeout = Some(Duration::ZERO);
            }
        }
        let parked = self.driver.borrow_mut().park(timeout);
        if let Err(error) = parked {
            // The driver could not wait for events; report it and go on
            // rather than take the loop down. Sleep a little so that a
            // persistent failure does not spin.
            eprintln!("corio: the event loop's driver failed to park: {error}");
            std::thread::sleep(Duration::from_millis(1));
        }
        if idle {
            // Most likely woken by a push: look at the queue itself rather
            // than wait for its flag to be seen.
            self.drain_remote_now();
        } else {
            self.drain_remote();
        }
        if idle && self.ready.borrow().is_empty() && self.timers.clock().is_virtual() {
            self.timers.advance_virtual();
        }
        self.timers.fire_due();
    }

    /// Gives back the memory of a ready queue that a burst grew (a million
    /// spawns make it 16 MB) once at most a quarter of it is in use, keeping
    /// room for twice what is queued: a queue that keeps growing and draining
    /// by the same amount is reallocated once per fourfold change, not at
    /// every burst.
    fn shrink_ready_queue(&self) {
        let mut ready = self.ready.borrow_mut();
        if ready.capacity() > READY_KEPT && ready.len() <= ready.capacity() / 4 {
            let keep = (2 * ready.len()).max(READY_KEPT);
            ready.shrink_to(keep);
        }
    }

    fn idle_timeout(&self) -> Option<Duration> {
        if self.timers.clock().is_virtual() && !self.timers.is_empty() {
            // Virtual time jumps after this poll of the driver; don't sleep.
            return Some(Duration::ZERO);
        }
        self.timers.park_timeout()
    }

    /// Cancels every task still alive and runs the cancellations, so that
    /// every future is dropped on this thread; then closes the loop.
    fn shutdown(self: &std::rc::Rc<Self>) {
        let _entered = self.enter(false);
        // Dropping a future may spawn or wake other tasks; repeat until
        // nothing is left, with a bound so that a pathological destructor
        // cannot keep the loop alive forever.
        for _ in 0..64 {
            self.drain_remote_now();
            let tasks = self.tasks.borrow().all_refs();
            if tasks.is_empty() && self.ready.borrow().is_empty() {
                break;
            }
            for task in &tasks {
                task.cancel();
            }
            drop(tasks);
            loop {
                let entry = self.ready.borrow_mut().pop_front();
                match entry {
                    Some(Ready::Task(runnable)) => self.run_task(runnable),
                    Some(Ready::Callback(_)) | Some(Ready::Main(_)) => {}
                    None => break,
                }
            }
        }
        self.shared.closed.store(true, Ordering::Release);
        // Work handed over before `closed` was set: drop it here, on the
        // loop's thread (a spawn resolves as cancelled).
        while let Some(remote) = self.shared.injector.pop() {
            drop(remote);
        }
        self.ready.borrow_mut().clear();
        let mut tasks = self.tasks.borrow_mut();
        if tasks.len() > 0 {
            // Destructors kept spawning tasks. Dropping the last reference of
            // a still-live `!Send` future elsewhere would be unsound, so what
            // is left is leaked, and said so.
            eprintln!(
                "corio: {} tasks were still being spawned by destructors when the loop shut down; \
                 they are leaked",
                tasks.len()
            );
            tasks.all_refs().into_iter().for_each(std::mem::forget);
        }
        tasks.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready_capacity() -> usize {
        crate::context::with_local(|local| {
            local.expect("inside the loop").ready.borrow().capacity()
        })
    }

    #[test]
    fn a_ready_queue_gives_back_the_memory_of_a_burst() {
        let mut event_loop = EventLoop::with_driver(corio_core::ParkDriver::new());
        let burst = 100 * READY_KEPT;
        event_loop.run_until_complete(async move {
            let tasks: Vec<_> = (0..burst).map(|i| crate::spawn(async move { i })).collect();
            let grown = ready_capacity();
            assert!(grown >= burst, "the burst is queued at once: {grown}");
            for (i, task) in tasks.into_iter().enumerate() {
                assert_eq!(task.await.unwrap(), i);
            }
            // Enough iterations for the loop's maintenance to run.
            for _ in 0..2 * EVENT_INTERVAL {
                crate::yield_now().await;
            }
            let kept = ready_capacity();
            assert!(
                kept <= 2 * READY_KEPT,
                "the queue kept room for {kept} entries"
            );
        });
    }

    #[test]
    fn a_ready_queue_entry_is_two_words() {
        assert_eq!(
            std::mem::size_of::<super::Ready>(),
            2 * std::mem::size_of::<usize>()
        );
    }
}
