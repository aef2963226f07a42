//! The current thread's loop, and the free functions that use it: `spawn`,
//! `spawn_local`, `current_task`, `all_tasks`, `yield_now`.

use std::cell::Cell;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use corio_core::{Task, TaskMeta, TaskRef};

use crate::event_loop::Local;
use crate::info::TaskInfo;

thread_local! {
    /// The current loop, kept alive by the `EnterGuard` that set it. A plain
    /// pointer rather than an `Rc`: a thread-local without a destructor is
    /// read without a lazy-registration check, and this one is read on every
    /// spawn and wake.
    static CURRENT: Cell<*const Local> = const { Cell::new(std::ptr::null()) };
    static RUNNING: Cell<bool> = const { Cell::new(false) };
}

/// Calls `f` with the loop that is current on this thread, if any.
pub(crate) fn with_local<R>(f: impl FnOnce(Option<&Local>) -> R) -> R {
    let current = CURRENT.with(Cell::get);
    // A non-null `CURRENT` was set by `enter`, whose guard owns an `Rc` of
    // that loop and puts the previous pointer back when it drops. Guards are
    // crate-private, never leaked, and live on the stack of the call that
    // entered the loop, so they drop in reverse order of creation and the
    // loop outlives every moment `CURRENT` points at it, including this call
    // of `f`, which runs inside that scope.
    // SAFETY: as argued just above; `Local` is only ever shared (`&`).
    f(unsafe { current.as_ref() })
}

/// Calls `f` with the debug mode of the runtime current on this thread (the
/// loop, or a multi-thread runtime), if it has one.
pub(crate) fn with_debug<R>(f: impl FnOnce(Option<&crate::debug::Debug>) -> R) -> R {
    with_local(|local| match local {
        Some(local) => f(local.debug()),
        None => crate::multi_thread::with_debug(f),
    })
}

/// Panics with a message that says so when a loop already runs on this
/// thread: loops cannot be nested.
pub(crate) fn assert_no_loop_running() {
    if RUNNING.with(Cell::get) {
        panic!(
            "cannot run a corio event loop: a loop is already running on this thread \
             (corio::run, block_on and run_until_complete cannot be nested; \
             await the future instead)"
        );
    }
}

/// Marks this thread as running a runtime (a multi-thread worker or
/// `block_on` caller) until the guard drops, so that a nested `block_on` or
/// `run` panics with the message of [`assert_no_loop_running`].
pub(crate) fn mark_running() -> RunningMark {
    RunningMark {
        was_running: RUNNING.with(|flag| flag.replace(true)),
    }
}

/// Restores the running flag on drop; see [`mark_running`].
pub(crate) struct RunningMark {
    was_running: bool,
}

impl Drop for RunningMark {
    fn drop(&mut self) {
        RUNNING.with(|flag| flag.set(self.was_running));
    }
}

/// Why a loop is entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EnterMode {
    /// To run it: no other loop may run on this thread meanwhile.
    Running,
    /// To drop what is left of it at shutdown, which may happen inside a
    /// running loop (a loop dropped by a task of another loop).
    Cleanup,
}

/// Makes `local` the current loop until the guard drops.
pub(crate) fn enter(local: Rc<Local>, mode: EnterMode) -> EnterGuard {
    let previous = CURRENT.with(|current| current.replace(Rc::as_ptr(&local)));
    let running = mode == EnterMode::Running;
    let was_running = RUNNING.with(|flag| flag.replace(running || flag.get()));
    EnterGuard {
        _local: local,
        previous,
        was_running,
    }
}

/// Keeps the entered loop alive and current; restores the previous one on
/// drop.
pub(crate) struct EnterGuard {
    _local: Rc<Local>,
    previous: *const Local,
    was_running: bool,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.previous));
        RUNNING.with(|flag| flag.set(self.was_running));
    }
}

/// Calls `f` with the current event loop; panics naming `what` when there
/// is none: with a message that says the function needs the event loop on a
/// multi-thread runtime, and that it needs a runtime outside any.
#[track_caller]
pub(crate) fn expect_loop<R>(what: &str, f: impl FnOnce(&Local) -> R) -> R {
    with_local(|local| match local {
        Some(local) => f(local),
        None if crate::multi_thread::with_current(|context| context.is_some()) => panic!(
            "{what} needs the event loop (a current-thread runtime: corio::run, \
             EventLoop or Runtime::builder().current_thread()), and this is a \
             multi-thread runtime: spawn a task instead (corio::spawn, or \
             corio::spawn_local to stay on this worker)"
        ),
        None => no_runtime(what),
    })
}

/// Spawns a `Send` future as a task on the current loop.
///
/// The task starts after the spawner yields (asyncio's `create_task`). The
/// returned [`Task`] can be awaited for the result; dropping it detaches the
/// task, which keeps running.
///
/// # Panics
///
/// Panics when called outside a corio runtime.
///
/// # Examples
///
/// ```
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let sum = event_loop.run_until_complete(async {
///     let task = corio_executor::spawn(async { 1 + 2 });
///     task.await.unwrap()
/// });
/// assert_eq!(sum, 3);
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_with_meta(future, TaskMeta::new(Location::caller()))
}

#[track_caller]
fn spawn_with_meta<F>(future: F, meta: TaskMeta) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    with_local(|local| match local {
        Some(local) => local.spawn_send(future, meta),
        None => crate::multi_thread::spawn_in_current(future, meta)
            .unwrap_or_else(|_| no_runtime("corio::spawn")),
    })
}

/// Spawns a `Send` task on whatever runtime is current (the loop, or the
/// multi-thread runtime), and also returns a reference to it, for an owner
/// that may cancel it later (a `TaskGroup`); panics naming `what` outside
/// any runtime.
#[track_caller]
pub(crate) fn spawn_send_with_ref<F>(
    what: &str,
    future: F,
    meta: TaskMeta,
) -> (Task<F::Output>, TaskRef)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    with_local(|local| match local {
        Some(local) => local.spawn_send_with_ref(future, meta),
        None => crate::multi_thread::spawn_with_ref_in_current(future, meta)
            .unwrap_or_else(|_| no_runtime(what)),
    })
}

/// Spawns a task that need not be `Send` on the current thread (the loop, or
/// pinned to the current worker), and also returns a reference to it; see
/// [`spawn_send_with_ref`].
#[track_caller]
pub(crate) fn spawn_local_with_ref<F>(
    what: &str,
    future: F,
    meta: TaskMeta,
) -> (Task<F::Output>, TaskRef)
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_local(|local| match local {
        Some(local) => local.spawn_local_with_ref(future, meta),
        None => crate::multi_thread::spawn_local_with_ref_in_current(future, meta)
            .unwrap_or_else(|_| no_runtime(what)),
    })
}

#[track_caller]
fn no_runtime(what: &str) -> ! {
    panic!(
        "{what} must be called from inside a corio runtime \
         (corio::run, EventLoop::run_until_complete or Runtime::block_on)"
    )
}

/// Spawns a future that need not be `Send` as a task on the current thread's
/// loop.
///
/// # Panics
///
/// Panics when called outside a corio runtime.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let shared = Rc::new(5);
/// let value = event_loop.run_until_complete(async move {
///     corio_executor::spawn_local(async move { *shared }).await.unwrap()
/// });
/// assert_eq!(value, 5);
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local_with_meta(future, TaskMeta::new(Location::caller()))
}

#[track_caller]
fn spawn_local_with_meta<F>(future: F, meta: TaskMeta) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_local(|local| match local {
        Some(local) => local.spawn_local(future, meta),
        None => crate::multi_thread::spawn_local_in_current(future, meta)
            .unwrap_or_else(|_| no_runtime("corio::spawn_local")),
    })
}

/// Schedules `callback` on the current loop, after what is already ready
/// (asyncio's `get_running_loop().call_soon`).
///
/// # Panics
///
/// Panics when called outside a corio runtime, and on a multi-thread
/// runtime (a worker or its `block_on` thread), which has no event loop to
/// queue the callback on: the message says to spawn a task instead.
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
/// event_loop.run_until_complete(async move {
///     corio_executor::call_soon(move || flag.set(true));
///     corio_executor::yield_now().await;
/// });
/// assert!(ran.get());
/// ```
#[track_caller]
pub fn call_soon(callback: impl FnOnce() + 'static) -> crate::CallbackHandle {
    let site = Location::caller();
    expect_loop("corio::call_soon", |local| local.call_soon(site, callback))
}

/// Returns a description of the task that is running: inside the main
/// future of `run`, `block_on` or `run_until_complete`, that future (named
/// `main`, as asyncio's main task); `None` outside a runtime and in a
/// `call_soon` callback.
///
/// # Examples
///
/// ```
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let (inside, main) = event_loop.run_until_complete(async {
///     let inside = corio_executor::spawn(async { corio_executor::current_task().is_some() });
///     (inside.await.unwrap(), corio_executor::current_task().unwrap())
/// });
/// assert!(inside);
/// assert_eq!(main.name(), Some("main"));
/// assert!(corio_executor::current_task().is_none());
/// ```
pub fn current_task() -> Option<TaskInfo> {
    with_local(|local| match local {
        Some(local) => local.current_task(),
        None => crate::multi_thread::current_task(),
    })
}

/// Returns a description of every task alive on the current runtime, the
/// main future first (named `main`); empty outside a runtime.
/// [`TaskDump`](crate::TaskDump) prints them as a table.
///
/// # Examples
///
/// ```
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let names = event_loop.run_until_complete(async {
///     let _sleeper = corio_executor::task::Builder::new()
///         .name("sleeper")
///         .spawn(std::future::pending::<()>());
///     let tasks = corio_executor::all_tasks();
///     tasks.iter().map(|task| task.name().unwrap().to_string()).collect::<Vec<_>>()
/// });
/// assert_eq!(names, ["main", "sleeper"]);
/// ```
pub fn all_tasks() -> Vec<TaskInfo> {
    with_local(|local| match local {
        Some(local) => local.all_tasks(),
        None => crate::multi_thread::all_tasks().unwrap_or_default(),
    })
}

/// Yields once to the loop: the task goes to the back of the ready queue
/// (asyncio's `await asyncio.sleep(0)`).
///
/// # Examples
///
/// ```
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// event_loop.run_until_complete(async {
///     corio_executor::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// # Examples
///
/// ```
/// let future: corio_executor::YieldNow = corio_executor::yield_now();
/// # drop(future);
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Task spawning with options: `task::Builder::new().name("fetcher").spawn(fut)`.
pub mod task {
    use super::*;

    /// Spawns tasks with a name (shown by `current_task`, `all_tasks` and
    /// debug reports).
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_executor::task::Builder;
    ///
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let name = event_loop.run_until_complete(async {
    ///     Builder::new()
    ///         .name("fetcher")
    ///         .spawn(async { corio_executor::current_task().unwrap().name().map(String::from) })
    ///         .await
    ///         .unwrap()
    /// });
    /// assert_eq!(name.as_deref(), Some("fetcher"));
    /// ```
    #[derive(Debug, Default, Clone)]
    pub struct Builder {
        name: Option<String>,
    }

    impl Builder {
        /// A builder with no name set.
        ///
        /// # Examples
        ///
        /// ```
        /// let builder = corio_executor::task::Builder::new();
        /// # drop(builder);
        /// ```
        pub fn new() -> Builder {
            Builder::default()
        }

        /// Names the task.
        ///
        /// # Examples
        ///
        /// ```
        /// let builder = corio_executor::task::Builder::new().name("monitor");
        /// # drop(builder);
        /// ```
        pub fn name(mut self, name: impl Into<String>) -> Builder {
            self.name = Some(name.into());
            self
        }

        #[track_caller]
        fn meta(self) -> TaskMeta {
            let meta = TaskMeta::new(Location::caller());
            match self.name {
                Some(name) => meta.with_name(name),
                None => meta,
            }
        }

        /// Spawns a `Send` future on the current loop, like
        /// [`spawn`](crate::spawn).
        ///
        /// # Panics
        ///
        /// Panics when called outside a corio runtime.
        ///
        /// # Examples
        ///
        /// See [`Builder`].
        #[track_caller]
        pub fn spawn<F>(self, future: F) -> Task<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            spawn_with_meta(future, self.meta())
        }

        /// Spawns a future that need not be `Send` on the current thread's
        /// loop, like [`spawn_local`](crate::spawn_local).
        ///
        /// # Panics
        ///
        /// Panics when called outside a corio runtime.
        ///
        /// # Examples
        ///
        /// ```
        /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
        /// let value = event_loop.run_until_complete(async {
        ///     corio_executor::task::Builder::new().name("local").spawn_local(async { 1 }).await.unwrap()
        /// });
        /// assert_eq!(value, 1);
        /// ```
        #[track_caller]
        pub fn spawn_local<F>(self, future: F) -> Task<F::Output>
        where
            F: Future + 'static,
            F::Output: 'static,
        {
            spawn_local_with_meta(future, self.meta())
        }
    }
}
