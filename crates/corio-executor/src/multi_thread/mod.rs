//! The multi-thread runtime: work-stealing workers, built by
//! `Runtime::builder().multi_thread()` (and `Runtime::new()`).
//!
//! Each concept has its own file:
//!
//! - `mod.rs` (this file): [`MultiThread`] (what a `Runtime` of this flavour
//!   owns: the shared state and the worker threads), its [`Handle`],
//!   spawning, `block_on` on the caller's thread, the thread-local current
//!   context, and shutdown.
//! - `worker.rs`: one worker's loop: where it takes its next task, the 61-poll
//!   maintenance, stealing, parking, timers and the driver.
//! - `queue.rs`: the bounded lock-free local run queue (the module's only
//!   unsafe code), loom- and Miri-checked.
//! - `idle.rs`: the searching-workers protocol (who parks, whom to wake).
//! - `park.rs`: one thread's parker, on its condition variable or in the
//!   shared driver; loom model of park/unpark with the idle protocol.
//! - `registry.rs`: the sharded registry of live tasks.
//! - `inject.rs`: the injection queue.
//!
//! # Where a task goes
//!
//! A `Send` task spawned on a worker goes to the back of that worker's local
//! queue (half of a full queue moves to the injection queue); one woken there
//! by the running task goes to the worker's LIFO slot, run next (at most 8
//! in a row, see `worker.rs`), and one woken there otherwise to the back;
//! spawned or woken anywhere else (a foreign thread, the `block_on` thread),
//! it goes to the injection queue (a lock-free ring with a locked overflow
//! list, see `inject.rs`). After a push onto the injection queue, or onto a
//! local queue that held nothing to steal (not into the LIFO slot), the
//! pusher runs the idle protocol's "new work" step, which wakes at most one
//! parked worker. A `spawn_local` task is pinned to its worker: its
//! schedule hook pushes to that worker's own queue when it runs there, and
//! otherwise to the worker's inbox, then unparks that worker specifically.
//!
//! # Shutdown
//!
//! Dropping the runtime sets `shutdown` and unparks every worker. Each worker
//! leaves its loop, cancels the tasks registered in its own shard and runs
//! what its queues hold until none of its pinned tasks is left (so every
//! `!Send` future is dropped on its own thread), marks itself closed and
//! exits. The dropping thread joins the workers, then cancels what is left
//! (only `Send` tasks) and runs their cancellations from the injection queue
//! until the registry is empty. Each future is dropped exactly once: the
//! task core guarantees it, whichever of these steps gets there first.
//!
//! Spawns and wakes from other threads race with all this. Once `shutdown`
//! is set, a spawn drops its runnable at once (which cancels the task and
//! drops its future on the spawner's thread). Before its final drain the
//! dropping thread sets `closed`, after which a push onto the injection
//! queue drops its runnable instead. Each flag is paired with the
//! `in_flight` count (`Shared::enter_unless`): a spawn or push counts itself
//! and then reads the flag, shutdown sets the flag and then waits for the
//! count to reach zero, all `SeqCst`, so a spawn that missed `shutdown` has
//! registered and queued its task before the final rounds look, and a push
//! that missed `closed` is in the queue before the final drain. The final
//! drain then empties the injection queue and the registry (cancelling what
//! `Send` tasks are left), so no runnable or task reference is left inside
//! the shared state to keep it alive.

mod idle;
mod inject;
mod park;
mod queue;
mod registry;
mod worker;

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::JoinHandle;
use std::time::Duration;

use corio_core::{coop, Driver, Runnable, Task, TaskMeta, TaskRef};
use corio_timer::{Clock, Timers};
use crossbeam_queue::SegQueue;

use crate::debug::Debug;
use crate::info::{MainTask, TaskInfo};
use idle::Idle;
use park::Parker;
use registry::{Pinning, Registry};
use worker::Worker;

/// The synchronization primitives of the queue and of the idle and park
/// protocols, swapped for loom's under `--cfg loom`.
pub(crate) mod sync {
    #[cfg(not(loom))]
    pub(crate) use std::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize};
    #[cfg(not(loom))]
    pub(crate) use std::sync::{atomic::Ordering, Arc, Condvar, Mutex, MutexGuard};

    #[cfg(loom)]
    pub(crate) use loom::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize};
    #[cfg(loom)]
    pub(crate) use loom::sync::{atomic::Ordering, Arc, Condvar, Mutex, MutexGuard};
}

use std::sync::Arc;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The settings of a multi-thread runtime, resolved by the `Builder`.
pub(crate) struct Config {
    pub(crate) workers: usize,
    /// The shared driver (the IO reactor), if any.
    pub(crate) driver: Option<Box<dyn Driver + Send>>,
    pub(crate) debug: Option<Arc<Debug>>,
}

/// What the workers, the handles and the tasks' schedule hooks share.
///
/// The fields that other threads write while the workers run (the idle
/// protocol's word, the driver's lock, the `block_on` list, the in-flight
/// count) each have lines of their own ([`OwnLines`], the driver's on the
/// heap), so that writing them does not evict the fields every poll reads
/// (`debug`, `shutdown`, `workers`, whether there is a driver): with the
/// driver's lock beside `debug`, each worker's maintenance `try_lock` cost
/// the other worker a miss in its next `run_task`.
pub(crate) struct Shared {
    workers: Box<[Remote]>,
    injector: inject::Injector<Runnable>,
    idle: OwnLines<Idle>,
    registry: Registry,
    /// One timer wheel per worker, then one for the `block_on` threads.
    timers: Box<[Timers]>,
    /// The driver, held by whichever idle worker parks in it.
    driver: Option<Box<OwnLines<SharedDriver>>>,
    io_context: Option<std::sync::Arc<dyn Any + Send + Sync>>,
    /// Debug mode, if on.
    debug: Option<Arc<Debug>>,
    /// The main futures of the `block_on` calls under way.
    mains: OwnLines<std::sync::Mutex<Vec<Arc<MainTask>>>>,
    /// Set when the runtime starts shutting down: spawns are cancelled at
    /// once from then on.
    shutdown: AtomicBool,
    /// Set when the dropping thread's final drain starts: what reaches the
    /// injection queue from then on is dropped (cancelled) instead.
    closed: AtomicBool,
    /// Spawns and injection-queue pushes under way that saw neither flag;
    /// shutdown waits for them (see "Shutdown" in the module docs).
    in_flight: OwnLines<AtomicUsize>,
}

/// The driver, shared by the workers behind a lock.
type SharedDriver = std::sync::Mutex<Box<dyn Driver + Send>>;

/// A value aligned to, and so padded to a multiple of, 128 bytes (two cache
/// lines, as the adjacent-line prefetcher of x86 pulls them in pairs): no
/// other field shares its lines.
#[repr(align(128))]
struct OwnLines<T>(T);

impl<T> std::ops::Deref for OwnLines<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(all(test, not(loom)))]
impl Shared {
    /// The shared state of a runtime of `workers` workers whose threads
    /// never start, so that a test alone takes from its queues.
    pub(crate) fn without_threads(workers: usize) -> Arc<Shared> {
        Shared::new(Config {
            workers,
            driver: None,
            debug: None,
        })
        .0
    }
}

/// What other threads see of one worker.
struct Remote {
    stealer: queue::Stealer<Runnable>,
    parker: Parker,
    /// Pinned tasks woken from other threads.
    inbox: SegQueue<Runnable>,
    inbox_pending: AtomicBool,
    /// Set when the worker has shut down: its pinned tasks are all gone.
    closed: AtomicBool,
}

/// The multi-thread flavour of a [`Runtime`](crate::Runtime).
pub(crate) struct MultiThread {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// A handle to a multi-thread runtime: spawns and blocks on futures from any
/// thread.
#[derive(Clone)]
pub(crate) struct Handle {
    shared: Arc<Shared>,
}

thread_local! {
    /// The multi-thread context of this thread: a worker, or a thread inside
    /// `block_on`. A plain pointer for the same reason as the event loop's
    /// (no destructor registration on every read), set by `enter`, whose
    /// stack-scoped guard keeps the context alive and restores the previous
    /// pointer.
    static CURRENT: Cell<*const Context> = const { Cell::new(std::ptr::null()) };
}

/// A thread's view of the runtime it runs.
pub(crate) struct Context {
    shared: Arc<Shared>,
    /// `None` on a `block_on` thread.
    worker: Option<Worker>,
}

/// Calls `f` with this thread's multi-thread context, if any.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Context>) -> R) -> R {
    let current = CURRENT.with(Cell::get);
    // A non-null `CURRENT` was set by `enter`, whose guard borrows the
    // context for its whole life and restores the previous pointer when it
    // drops; guards are private and live on the stack of the function that
    // entered, so the context outlives every moment `CURRENT` points at it,
    // including this call of `f`.
    // SAFETY: as argued just above; the context is only shared (`&`).
    f(unsafe { current.as_ref() })
}

/// Makes `context` current until the guard drops.
fn enter(context: &Context) -> EnterGuard<'_> {
    let previous = CURRENT.with(|current| current.replace(context));
    EnterGuard {
        previous,
        _context: std::marker::PhantomData,
    }
}

struct EnterGuard<'a> {
    previous: *const Context,
    _context: std::marker::PhantomData<&'a Context>,
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.previous));
    }
}

/// Spawns on the multi-thread runtime current on this thread, or gives the
/// future back when there is none.
pub(crate) fn spawn_in_current<F>(future: F, meta: TaskMeta) -> Result<Task<F::Output>, F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    with_current(|context| match context {
        Some(context) => Ok(context.shared.spawn(future, meta)),
        None => Err(future),
    })
}

/// Like [`spawn_in_current`], and also returns a reference to the task, for
/// an owner that may cancel it later (a `TaskGroup`).
pub(crate) fn spawn_with_ref_in_current<F>(
    future: F,
    meta: TaskMeta,
) -> Result<(Task<F::Output>, TaskRef), F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    with_current(|context| match context {
        Some(context) => Ok(context.shared.spawn_then(future, meta, Runnable::task_ref)),
        None => Err(future),
    })
}

/// Spawns a pinned task on the current worker; panics on a `block_on`
/// thread; gives the future back outside any multi-thread runtime.
pub(crate) fn spawn_local_in_current<F>(future: F, meta: TaskMeta) -> Result<Task<F::Output>, F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local_then_in_current(future, meta, |_| ()).map(|(task, ())| task)
}

/// Like [`spawn_local_in_current`], and also returns a reference to the
/// task, for an owner that may cancel it later (a `TaskGroup`).
pub(crate) fn spawn_local_with_ref_in_current<F>(
    future: F,
    meta: TaskMeta,
) -> Result<(Task<F::Output>, TaskRef), F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local_then_in_current(future, meta, Runnable::task_ref)
}

fn spawn_local_then_in_current<F, R>(
    future: F,
    meta: TaskMeta,
    then: impl FnOnce(&Runnable) -> R,
) -> Result<(Task<F::Output>, R), F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_current(|context| match context {
        Some(Context {
            worker: Some(worker),
            shared,
        }) => {
            let meta = crate::debug::task_meta(shared.debug.as_deref(), meta);
            Ok(worker.spawn_local(shared, future, meta, then))
        }
        Some(Context { worker: None, .. }) => panic!(
            "corio::spawn_local was called in the future of a multi-thread runtime's \
             block_on, which runs on the calling thread, not on a worker: spawn a task \
             (corio::spawn) and call spawn_local inside it, or use a current-thread runtime"
        ),
        None => Err(future),
    })
}

/// Calls `f` with the debug mode of the multi-thread runtime current on
/// this thread, if any.
pub(crate) fn with_debug<R>(f: impl FnOnce(Option<&Debug>) -> R) -> R {
    with_current(|context| f(context.and_then(|context| context.shared.debug.as_deref())))
}

/// The task running on this worker, or the main future on a `block_on`
/// thread, if this thread runs a multi-thread runtime.
pub(crate) fn current_task() -> Option<TaskInfo> {
    with_current(|context| {
        let context = context?;
        let debug = context.shared.debug.as_deref();
        match &context.worker {
            Some(worker) => {
                let task = context.shared.registry.get(worker.current_task()?)?;
                Some(TaskInfo::from_task(&task, debug))
            }
            None => BLOCK_ON_MAIN.with_borrow(|main| Some(main.as_ref()?.info(debug))),
        }
    })
}

/// Every live task of the current multi-thread runtime, if any, the main
/// futures of its `block_on` calls first.
pub(crate) fn all_tasks() -> Option<Vec<TaskInfo>> {
    with_current(|context| {
        let shared = &context?.shared;
        let debug = shared.debug.as_deref();
        let mut listed: Vec<TaskInfo> = corio_core::lock(&shared.mains)
            .iter()
            .map(|main| main.info(debug))
            .collect();
        let tasks = shared.registry.all();
        listed.extend(tasks.iter().map(|task| TaskInfo::from_task(task, debug)));
        Some(listed)
    })
}

impl Shared {
    /// The shared state of a runtime with `config`, and the owner ends of
    /// its workers' local queues, one per worker thread to start.
    fn new(config: Config) -> (Arc<Shared>, Vec<queue::Local<Runnable>>) {
        let Config {
            workers: count,
            driver,
            debug,
        } = config;
        let unparker = driver.as_ref().map(|driver| driver.unparker());
        let io_context = driver.as_ref().and_then(|driver| driver.io_context());
        let mut locals = Vec::with_capacity(count);
        let mut remotes = Vec::with_capacity(count);
        for _ in 0..count {
            let (local, stealer) = queue::local();
            locals.push(local);
            remotes.push(Remote {
                stealer,
                parker: Parker::new(unparker.clone()),
                inbox: SegQueue::new(),
                inbox_pending: AtomicBool::new(false),
                closed: AtomicBool::new(false),
            });
        }
        let shared = Arc::new(Shared {
            workers: remotes.into_boxed_slice(),
            injector: inject::Injector::new(inject::RING_CAPACITY),
            idle: OwnLines(Idle::new(count)),
            registry: Registry::new(count + 1),
            timers: (0..=count).map(|_| Timers::new(Clock::real())).collect(),
            driver: driver.map(|driver| Box::new(OwnLines(std::sync::Mutex::new(driver)))),
            io_context,
            debug,
            mains: OwnLines(std::sync::Mutex::new(Vec::new())),
            shutdown: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            in_flight: OwnLines(AtomicUsize::new(0)),
        });
        (shared, locals)
    }

    /// The shard of tasks spawned from outside the workers.
    fn outside_shard(&self) -> usize {
        self.workers.len()
    }

    /// Makes a `Send` task of this runtime.
    fn spawn<F>(self: &Arc<Self>, future: F, meta: TaskMeta) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_then(future, meta, |_| ()).0
    }

    /// Makes a `Send` task of this runtime, calling `then` with its
    /// runnable before it is scheduled.
    fn spawn_then<F, R>(
        self: &Arc<Self>,
        future: F,
        meta: TaskMeta,
        then: impl FnOnce(&Runnable) -> R,
    ) -> (Task<F::Output>, R)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = crate::debug::task_meta(self.debug.as_deref(), meta);
        let shared = self.clone();
        // Padded: tasks spawned together often run on different workers
        // (see `corio_core::spawn_padded`; `mt_yield` ran 1.2x slower
        // without).
        let (runnable, task) =
            corio_core::spawn_padded(future, move |runnable| shared.schedule(runnable), meta);
        let extra = then(&runnable);
        // On a worker, the join of the worker threads orders this spawn
        // before the dropping thread's final rounds; from any other thread
        // it is counted in flight (see "Shutdown" in the module docs).
        let (shard, in_flight) = match worker::current_index(self) {
            Some(index) => {
                let open = !self.shutdown.load(Ordering::Acquire);
                (index, open.then_some(None))
            }
            None => (
                self.outside_shard(),
                self.enter_unless(&self.shutdown).map(Some),
            ),
        };
        let Some(_in_flight) = in_flight else {
            // The runtime is shutting down: dropping the runnable cancels the
            // task (its future is dropped here) and it resolves as cancelled.
            drop(runnable);
            return (task, extra);
        };
        self.registry.insert(shard, &runnable, Pinning::Free);
        // A new task goes to the back of the queue, never to the LIFO slot.
        if let Err(runnable) = worker::push_local(self, runnable) {
            self.push_injector(runnable);
        }
        (task, extra)
    }

    /// The schedule hook of every `Send` task: the current worker's local
    /// queue on a worker of this runtime, the injection queue elsewhere.
    fn schedule(self: &Arc<Self>, runnable: Runnable) {
        if let Err(runnable) = worker::wake_local(self, runnable) {
            self.push_injector(runnable);
        }
    }

    /// Pushes onto the injection queue from a thread that is not a worker
    /// of this runtime (a worker's overflow pushes directly).
    fn push_injector(&self, runnable: Runnable) {
        let Some(_in_flight) = self.enter_unless(&self.closed) else {
            // The final drain has started (or ended): a task woken now was
            // cancelled by shutdown, and dropping its runnable finishes it.
            drop(runnable);
            return;
        };
        self.injector.push(runnable);
        self.notify_parked();
    }

    /// Counts the caller in `in_flight` unless `flag` is set. The increment
    /// and the flag's load are `SeqCst`, as are shutdown's store of the flag
    /// and its later loads of `in_flight` ([`Shared::wait_in_flight`]), so
    /// either the caller sees the flag, or shutdown sees the caller in flight
    /// and waits until it is done (Dekker's pattern).
    fn enter_unless(&self, flag: &AtomicBool) -> Option<InFlight<'_>> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(&self.in_flight);
        (!flag.load(Ordering::SeqCst)).then_some(guard)
    }

    /// Waits until no spawn or push that missed the flag just set is under
    /// way.
    fn wait_in_flight(&self) {
        while self.in_flight.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
    }

    /// The "new work" step of the idle protocol: wake one parked worker if
    /// nobody is searching. Its first step is a `SeqCst` fence, which orders
    /// it after the push that came before (see `idle.rs`).
    fn notify_parked(&self) {
        if let Some(worker) = self.idle.worker_to_notify() {
            self.workers[worker].parker.unpark();
        }
    }

    /// Whether any queue a worker could take from holds work (racy).
    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.workers.iter().any(|w| !w.stealer.is_empty())
    }

    /// Fires the due timers of every wheel, each only when its lock-free
    /// bound says something may be due, so that a round of maintenance
    /// takes no wheel's lock (nor its cache line) for nothing. A wheel left
    /// behind the clock this way may announce an earlier deadline (a step
    /// moving far timers down a level) for a timer inserted later: one early
    /// wake-up, whose firing catches the wheel up.
    fn fire_timers(&self) {
        for timers in self.timers.iter() {
            timers.fire_due_if_needed();
        }
    }

    /// How long a thread may park before some wheel has a timer to fire.
    fn park_timeout(&self) -> Option<Duration> {
        self.timers.iter().filter_map(Timers::park_timeout).min()
    }

    fn unpark_all(&self) {
        for worker in self.workers.iter() {
            worker.parker.unpark();
        }
    }
}

/// One spawn or push under way; see [`Shared::enter_unless`].
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl MultiThread {
    /// Starts the workers.
    pub(crate) fn new(config: Config) -> io::Result<MultiThread> {
        let (shared, locals) = Shared::new(config);
        let mut runtime = MultiThread {
            shared: shared.clone(),
            threads: Vec::with_capacity(locals.len()),
        };
        for (index, local) in locals.into_iter().enumerate() {
            let shared = shared.clone();
            let thread = std::thread::Builder::new()
                .name(format!("corio-worker-{index}"))
                .spawn(move || worker::run(shared, index, local))?;
            runtime.threads.push(thread);
        }
        Ok(runtime)
    }

    pub(crate) fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }
}

impl Handle {
    /// Spawns a `Send` future on the runtime.
    pub(crate) fn spawn<F>(&self, future: F, meta: TaskMeta) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future, meta)
    }

    /// Runs `future` on the calling thread until it completes; tasks it
    /// spawns run on the workers; its timers and sockets use the runtime's.
    #[track_caller]
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        crate::context::assert_no_loop_running();
        let _running = crate::context::mark_running();
        let main = Arc::new(MainTask::new(std::panic::Location::caller()));
        let _listed = ListedMain::new(&self.shared, main.clone());
        let context = Context {
            shared: self.shared.clone(),
            worker: None,
        };
        let _entered = enter(&context);
        let shared = &self.shared;
        let _timers = shared.timers[shared.outside_shard()].enter();
        let _io = corio_core::enter_io_context(shared.io_context.clone());
        let main = Some((&*main, shared.debug.as_deref()));
        park_on(future, main, || {
            shared.fire_timers();
            shared.park_timeout()
        })
    }
}

thread_local! {
    /// The main future of the `block_on` running on this thread, for
    /// `current_task` (a `block_on` thread's context has no worker).
    static BLOCK_ON_MAIN: std::cell::RefCell<Option<Arc<MainTask>>> =
        const { std::cell::RefCell::new(None) };
}

/// Lists a `block_on` call's main future in `all_tasks`, and makes it this
/// thread's current task between worker-less polls, until dropped.
struct ListedMain<'a> {
    shared: &'a Shared,
    main: Arc<MainTask>,
    previous: Option<Arc<MainTask>>,
}

impl<'a> ListedMain<'a> {
    fn new(shared: &'a Shared, main: Arc<MainTask>) -> ListedMain<'a> {
        corio_core::lock(&shared.mains).push(main.clone());
        let previous = BLOCK_ON_MAIN.replace(Some(main.clone()));
        ListedMain {
            shared,
            main,
            previous,
        }
    }
}

impl Drop for ListedMain<'_> {
    fn drop(&mut self) {
        BLOCK_ON_MAIN.set(self.previous.take());
        corio_core::lock(&self.shared.mains).retain(|main| !Arc::ptr_eq(main, &self.main));
    }
}

/// Runs `future` on the calling thread with no runtime entered, parking
/// between polls (a current-thread runtime's `Handle::block_on`).
pub(crate) fn block_on_plain<F: Future>(future: F) -> F::Output {
    crate::context::assert_no_loop_running();
    let _running = crate::context::mark_running();
    park_on(future, None, || None)
}

/// Polls `future` on this thread whenever it was woken, within a coop
/// budget (as `main`, with its debug mode, when listed); between polls
/// calls `idle` (which returns how long this thread may park at most) and
/// parks.
fn park_on<F: Future>(
    future: F,
    main: Option<(&MainTask, Option<&Debug>)>,
    mut idle: impl FnMut() -> Option<Duration>,
) -> F::Output {
    let wake = Arc::new(BlockOnWake {
        parker: Parker::new(None),
        woken: AtomicBool::new(true),
    });
    let waker = Waker::from(wake.clone());
    let mut cx = TaskContext::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if wake.woken.swap(false, Ordering::AcqRel) {
            let mut poll = || coop::with_budget(|| future.as_mut().poll(&mut cx));
            let polled = match main {
                None => poll(),
                Some((main, debug)) => main.poll(debug, poll),
            };
            if let Poll::Ready(output) = polled {
                return output;
            }
            continue;
        }
        let timeout = idle();
        if wake.woken.load(Ordering::Acquire) {
            continue;
        }
        wake.parker.park(timeout);
    }
}

/// The waker of a `block_on` future: a flag and the caller's parker.
struct BlockOnWake {
    parker: Parker,
    woken: AtomicBool,
}

impl Wake for BlockOnWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.parker.unpark();
    }
}

impl Drop for MultiThread {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.shutdown.store(true, Ordering::SeqCst);
        shared.unpark_all();
        for thread in self.threads.drain(..) {
            // A worker never panics out of its loop (task panics are caught);
            // if it did, the rest of shutdown still runs.
            let _ = thread.join();
        }
        shared.finish_shutdown();
    }
}

impl Shared {
    /// The dropping thread's part of shutdown, after the workers exited:
    /// cancel and drop what is left (`Send` tasks only, see the module
    /// documentation), then close.
    fn finish_shutdown(&self) {
        // Spawns that missed `shutdown` have registered and queued their
        // task once this returns; later ones are cancelled at once.
        self.wait_in_flight();
        for _ in 0..worker::SHUTDOWN_ROUNDS {
            let tasks = self.registry.all();
            if tasks.is_empty() && self.injector.is_empty() {
                break;
            }
            for task in &tasks {
                // A pinned task's cancellation would go to its closed
                // worker; only `Send` tasks are finished here.
                if self.registry.decode(task.tag()).pinning == Pinning::Free {
                    task.cancel();
                }
            }
            drop(tasks);
            while let Some(runnable) = self.injector.pop() {
                runnable.task_ref().cancel();
                let tag = runnable.tag();
                if runnable.run() {
                    self.registry.remove(tag);
                }
            }
        }
        self.closed.store(true, Ordering::SeqCst);
        // Wakes that missed `closed` have pushed once this returns; later
        // ones drop their runnable. Dropping a runnable cancels its task.
        self.wait_in_flight();
        while self.injector.pop().is_some() {}
        // The registry's references must go, or each would keep its task and
        // so (through its schedule hook) this state alive: `Send` tasks left
        // (spawned by destructors in the last rounds) are cancelled (their
        // cancellation reaches the closed injection queue, which drops it,
        // and with it the future) and their references dropped.
        let (free, left): (Vec<_>, Vec<_>) = self
            .registry
            .take_all()
            .into_iter()
            .partition(|task| self.registry.decode(task.tag()).pinning == Pinning::Free);
        for task in free {
            task.cancel();
        }
        if !left.is_empty() {
            // Pinned tasks outlived their worker's rounds (destructors kept
            // waking them): dropping a live `!Send` future here would be
            // unsound, so they are leaked, and said so.
            eprintln!(
                "corio: {} pinned tasks were still alive when the multi-thread runtime \
                 shut down; they are leaked",
                left.len()
            );
            left.into_iter().for_each(std::mem::forget);
        }
    }
}

impl fmt::Debug for MultiThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiThread")
            .field("workers", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.workers.len())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    use std::panic::Location;
    use std::sync::atomic::AtomicUsize;

    /// The fields other threads write while the workers run share no
    /// 128-byte block with the fields every poll reads.
    #[test]
    fn written_fields_have_lines_of_their_own() {
        use std::mem::{offset_of, size_of_val};
        let shared = Shared::without_threads(2);
        // A field's name and the 128-byte blocks it covers.
        macro_rules! blocks {
            ($field:ident) => {{
                let (offset, size) = (offset_of!(Shared, $field), size_of_val(&shared.$field));
                (
                    stringify!($field),
                    (offset / 128)..=((offset + size - 1) / 128),
                )
            }};
        }
        let read = [
            blocks!(workers),
            blocks!(registry),
            blocks!(timers),
            blocks!(driver),
            blocks!(debug),
            blocks!(shutdown),
        ];
        let written = [blocks!(idle), blocks!(mains), blocks!(in_flight)];
        for (name, written) in &written {
            for (read_name, read) in &read {
                assert!(
                    written.end() < read.start() || read.end() < written.start(),
                    "{name} shares a block with {read_name}, a field read on every poll"
                );
            }
        }
    }

    /// Counts its creations and drops.
    struct Counted(Arc<(AtomicUsize, AtomicUsize)>);

    impl Counted {
        fn new(counts: &Arc<(AtomicUsize, AtomicUsize)>) -> Counted {
            counts.0.fetch_add(1, Ordering::SeqCst);
            Counted(counts.clone())
        }
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0 .1.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn spawns_racing_with_the_end_of_shutdown_leave_nothing_behind() {
        for round in 0..40 {
            let runtime = MultiThread::new(Config {
                workers: 2,
                driver: None,
                debug: None,
            })
            .unwrap();
            let shared = Arc::downgrade(&runtime.shared);
            let counts = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
            let spawners: Vec<_> = (0..2)
                .map(|_| {
                    let handle = runtime.handle();
                    let counts = counts.clone();
                    std::thread::spawn(move || {
                        // Spawn until well after the runtime has closed.
                        let mut after_close = 0;
                        while after_close < 200 {
                            if handle.shared.closed.load(Ordering::Acquire) {
                                after_close += 1;
                            }
                            let guard = Counted::new(&counts);
                            let meta = TaskMeta::new(Location::caller());
                            let task = handle.spawn(
                                async move {
                                    let _guard = guard;
                                    std::future::pending::<()>().await;
                                },
                                meta,
                            );
                            drop(task);
                        }
                    })
                })
                .collect();
            // Let some tasks start, then drop the runtime while the
            // spawners keep going.
            std::thread::sleep(Duration::from_millis(round % 3));
            drop(runtime);
            for spawner in spawners {
                spawner.join().unwrap();
            }
            let (made, dropped) = (&counts.0, &counts.1);
            assert_eq!(
                made.load(Ordering::SeqCst),
                dropped.load(Ordering::SeqCst),
                "every future was dropped exactly once"
            );
            assert!(
                shared.upgrade().is_none(),
                "nothing left in a queue or the registry keeps the shared state alive"
            );
        }
    }
}
