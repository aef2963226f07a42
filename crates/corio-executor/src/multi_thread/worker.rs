//! One worker's loop.
//!
//! Each turn of the loop takes the next task:
//!
//! 1. Every [`EVENT_INTERVAL`] polls (61, LIFO ones included), maintenance
//!    first: fire the due timers of every wheel, poll the driver without
//!    blocking if no other worker holds it, and take a task from the
//!    injection queue before the local ones (and the LIFO slot), so that
//!    work from outside waits at most 61 local polls; with it, this
//!    worker's share of what else waits there goes to the back of the
//!    local queue, as when the local queue is empty (step 3).
//! 2. Then the LIFO slot: a task woken by the task that ran before, taken
//!    at most [`MAX_LIFO_POLLS`] times in a row (then it goes to the back of
//!    the local queue), so that message passing between two tasks runs them
//!    back to back on one worker without waking another (tokio's design,
//!    with a bound of 8 where tokio has 3).
//! 3. Otherwise the pinned inbox is moved into the pinned queue (when its flag
//!    says it holds anything); then the local queue and the pinned queue are
//!    tried, in an order that alternates every turn so neither starves the
//!    other; then the injection queue.
//! 4. With nothing there, the worker searches (if the idle protocol lets it):
//!    it steals half of another worker's queue, starting at a random victim,
//!    then tries the injection queue.
//! 5. With nothing found, it parks (see `idle.rs` for the protocol): in the
//!    driver if it is free (the first idle worker takes it; tokio's design),
//!    otherwise on its own parker, in both cases for at most the time until
//!    the earliest timer of any wheel. After waking it fires due timers, and
//!    if the driver or the timers queued more than one task onto its local
//!    queue it wakes another worker, so that the driver is handed over while
//!    this one runs them (tokio #4730).
//!
//! Each task runs inside the same coop budget as on the event loop. A worker
//! that starts running a task stops searching; if it was the last searcher it
//! wakes another worker.
//!
//! # Timers
//!
//! Each worker enters its own wheel ([`Timers`](corio_timer::Timers)), so a
//! `sleep` first polled there registers without contending with other
//! workers; the wheel's lock is taken once per timer operation. A timer
//! fires where it was registered and wakes its task wherever that runs. A
//! task that moved to another worker may touch the first worker's wheel
//! again (a re-poll, an `Interval` re-arming itself): because every worker
//! fires every wheel in its maintenance and parks for at most the earliest
//! deadline of all wheels, such a timer is seen by the thread that armed it
//! (which is awake at that moment) at its next maintenance or park.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use corio_core::{coop, Runnable, Task, TaskMeta, TaskRef};

use super::queue;
use super::registry::{Pinning, Tag};
use super::{enter, with_current, Context, Shared};
use crate::EVENT_INTERVAL;

/// How many rounds of cancellation a worker's shutdown runs before it gives
/// up on destructors that keep spawning tasks.
pub(crate) const SHUTDOWN_ROUNDS: usize = 64;

/// How many tasks in a row a worker takes from its LIFO slot before the slot's
/// task goes to the back of the local queue, so that two tasks waking each
/// other cannot starve the rest of the queue. tokio takes 3; 8 keeps a pair
/// exchanging messages on warm cache lines longer (docs/ARCHITECTURE.md has
/// the measurements) while a queued task still waits at most 8 polls of the
/// pair, and work from outside at most 61 polls whatever the slot does.
const MAX_LIFO_POLLS: u32 = 8;

/// A worker's own state, touched only on its thread.
pub(crate) struct Worker {
    index: usize,
    local: RefCell<queue::Local<Runnable>>,
    /// The LIFO slot: a task woken by the running task, run next (see
    /// [`MAX_LIFO_POLLS`]).
    lifo: Cell<Option<Runnable>>,
    /// How many tasks in a row came from the LIFO slot.
    lifo_streak: Cell<u32>,
    /// Pinned (`spawn_local`) tasks ready to run.
    pinned: RefCell<VecDeque<Runnable>>,
    /// Live pinned tasks.
    pinned_live: Cell<usize>,
    current_task: Cell<Option<usize>>,
    /// The (decoded) tags of tasks that finished here, removed from the
    /// registry in one batch (see `registry.rs`).
    finished: RefCell<Vec<Tag>>,
    /// The buffer their references pass through on the way out.
    released: RefCell<Vec<TaskRef>>,
    searching: Cell<bool>,
    tick: Cell<u32>,
    rng: Cell<u32>,
}

/// How many finished tasks a worker collects before it removes them from
/// the registry; it also removes them before it parks.
const FINISHED_BATCH: usize = 32;

/// The body of worker thread `index`.
pub(crate) fn run(shared: Arc<Shared>, index: usize, local: queue::Local<Runnable>) {
    let context = Context {
        shared: shared.clone(),
        worker: Some(Worker::new(index, local)),
    };
    let worker = context.worker.as_ref().expect("a worker context");
    let _entered = enter(&context);
    let _running = crate::context::mark_running();
    let _timers = shared.timers[index].enter();
    let _io = corio_core::enter_io_context(shared.io_context.clone());
    worker.run(&shared);
    worker.shutdown(&shared);
}

/// Calls `f` with this thread's worker, when this thread is a worker of
/// `shared`.
fn with_own_worker<R>(shared: &Arc<Shared>, f: impl FnOnce(&Worker) -> R) -> Option<R> {
    with_current(|context| match context {
        Some(Context {
            shared: current,
            worker: Some(worker),
        }) if Arc::ptr_eq(current, shared) => Some(f(worker)),
        _ => None,
    })
}

/// The index of this thread's worker, when it is a worker of `shared`.
pub(crate) fn current_index(shared: &Arc<Shared>) -> Option<usize> {
    with_own_worker(shared, |worker| worker.index)
}

/// Pushes `runnable` onto this thread's local queue, when this thread is a
/// worker of `shared`; gives it back otherwise.
pub(crate) fn push_local(shared: &Arc<Shared>, runnable: Runnable) -> Result<(), Runnable> {
    let mut runnable = Some(runnable);
    with_own_worker(shared, |worker| {
        if let Some(runnable) = runnable.take() {
            worker.push_back(shared, runnable);
        }
    });
    runnable.map_or(Ok(()), Err)
}

/// Schedules a woken `runnable` on this thread's worker, when this thread is
/// a worker of `shared`; gives it back otherwise. A task woken by the
/// running task (not the running task itself, which yielded) goes to the
/// LIFO slot, without waking another worker; whatever it displaces goes to
/// the back of the local queue.
pub(crate) fn wake_local(shared: &Arc<Shared>, runnable: Runnable) -> Result<(), Runnable> {
    let mut runnable = Some(runnable);
    with_own_worker(shared, |worker| {
        let Some(runnable) = runnable.take() else {
            return;
        };
        match worker.current_task.get() {
            Some(running) if running != runnable.tag() => {
                if let Some(displaced) = worker.lifo.replace(Some(runnable)) {
                    worker.push_back(shared, displaced);
                }
            }
            // The running task woke itself (it yielded), or no task runs:
            // to the back of the queue, and a parked worker is woken if
            // nobody searches, so that a queue of yielding tasks is shared
            // out.
            _ => worker.push_back(shared, runnable),
        }
    });
    runnable.map_or(Ok(()), Err)
}

impl Shared {
    /// The schedule hook of a task pinned to worker `index`.
    fn schedule_pinned(self: &Arc<Self>, index: usize, runnable: Runnable) {
        let on_owner = with_current(|context| match context {
            Some(Context {
                shared: current,
                worker: Some(worker),
            }) if Arc::ptr_eq(current, self) && worker.index == index => {
                worker.pinned.borrow_mut().push_back(runnable);
                None
            }
            _ => Some(runnable),
        });
        let Some(runnable) = on_owner else {
            return;
        };
        let remote = &self.workers[index];
        if remote.closed.load(Ordering::Acquire) {
            // The worker has shut down after running every pinned task it
            // had, so this belongs to a finished task: nothing is left to
            // drop but the reference.
            drop(runnable);
            return;
        }
        remote.inbox.push(runnable);
        remote.inbox_pending.store(true, Ordering::Release);
        remote.parker.unpark();
    }
}

impl Worker {
    fn new(index: usize, local: queue::Local<Runnable>) -> Worker {
        Worker {
            index,
            local: RefCell::new(local),
            lifo: Cell::new(None),
            lifo_streak: Cell::new(0),
            pinned: RefCell::new(VecDeque::new()),
            pinned_live: Cell::new(0),
            current_task: Cell::new(None),
            finished: RefCell::new(Vec::with_capacity(FINISHED_BATCH)),
            released: RefCell::new(Vec::with_capacity(FINISHED_BATCH)),
            searching: Cell::new(false),
            tick: Cell::new(0),
            rng: Cell::new(0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1),
        }
    }

    /// Pushes onto the back of the local queue (half of a full one moves to
    /// the injection queue) and, when the queue held nothing to steal
    /// before, runs the idle protocol's "new work" step (see `idle.rs` for
    /// why a push onto a queue that already held work need not).
    fn push_back(&self, shared: &Shared, runnable: Runnable) {
        let was_empty = self
            .local
            .borrow_mut()
            .push_back(runnable, &mut |overflow| shared.injector.push(overflow));
        if was_empty {
            shared.notify_parked();
        }
    }

    /// The tag of the task running on this worker.
    pub(crate) fn current_task(&self) -> Option<usize> {
        self.current_task.get()
    }

    /// Spawns a task pinned to this worker, calling `then` with its
    /// runnable before it is queued.
    pub(crate) fn spawn_local<F, R>(
        &self,
        shared: &Arc<Shared>,
        future: F,
        meta: TaskMeta,
        then: impl FnOnce(&Runnable) -> R,
    ) -> (Task<F::Output>, R)
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let index = self.index;
        let hook = shared.clone();
        // `spawn_unchecked_padded` needs the runnable, and so the future, to be run
        // and dropped only on this thread. The schedule hook pushes it onto
        // this worker's pinned queue when called here, and otherwise onto
        // this worker's inbox, which only this worker drains, on this
        // thread; the pinned queue is never stolen from. The registry keeps
        // a reference to the task until it has finished, and this worker's
        // shutdown cancels and runs every pinned task before it sets
        // `closed`; the runtime's own shutdown never cancels pinned tasks
        // (it leaks leftovers), so the future is never dropped elsewhere.
        // After `closed`, runnables that reach the hook elsewhere belong to
        // finished tasks whose futures are gone.
        // SAFETY: the contract of `spawn_unchecked_padded` holds, as argued
        // above.
        let (runnable, task) = unsafe {
            corio_core::spawn_unchecked_padded(
                future,
                move |runnable| hook.schedule_pinned(index, runnable),
                meta,
            )
        };
        shared.registry.insert(index, &runnable, Pinning::Pinned);
        self.pinned_live.set(self.pinned_live.get() + 1);
        let extra = then(&runnable);
        self.pinned.borrow_mut().push_back(runnable);
        (task, extra)
    }

    fn run(&self, shared: &Arc<Shared>) {
        while !shared.shutdown.load(Ordering::Acquire) {
            if let Some(task) = self.next_task(shared) {
                self.run_task(shared, task);
            } else if let Some(task) = self.search(shared) {
                self.run_task(shared, task);
            } else {
                self.park(shared);
            }
        }
    }

    fn next_task(&self, shared: &Shared) -> Option<Runnable> {
        // Every poll counts, the LIFO slot's too, so that maintenance (and
        // the injection queue) comes every 61 polls, not every 61 turns of
        // the queues.
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick % EVENT_INTERVAL == 0 {
            self.maintain(shared);
            if let Some(task) = self.take_injected(shared) {
                // A task in the LIFO slot stays there and runs next.
                return Some(task);
            }
        }
        if let Some(task) = self.lifo.take() {
            let streak = self.lifo_streak.get() + 1;
            if streak <= MAX_LIFO_POLLS {
                self.lifo_streak.set(streak);
                return Some(task);
            }
            self.push_back(shared, task);
        }
        self.lifo_streak.set(0);
        self.take_inbox(shared);
        let local = || self.local.borrow_mut().pop();
        let pinned = || self.pinned.borrow_mut().pop_front();
        let own = if tick % 2 == 0 {
            local().or_else(pinned)
        } else {
            pinned().or_else(local)
        };
        own.or_else(|| self.take_injected(shared))
    }

    /// Takes a task from the injection queue and, with it, a batch for the
    /// back of the local queue: this worker's share of what waits there (at
    /// most what keeps the local queue half full), so that the tasks spawned
    /// from outside reach the workers in runs, not one by one. Runs keep
    /// tasks spawned together, which often talk to each other, on one
    /// worker. tokio takes such a batch only when the local queue is empty,
    /// and one task at its maintenance; taking the batch at maintenance too
    /// keeps a burst of spawns from being handed out one task at a time,
    /// which split ping-pong pairs between the workers (docs/ARCHITECTURE.md
    /// has the measurements).
    fn take_injected(&self, shared: &Shared) -> Option<Runnable> {
        let first = shared.injector.pop()?;
        let mut local = self.local.borrow_mut();
        let room = (queue::CAPACITY / 2).saturating_sub(local.len());
        let share = shared.injector.len() / shared.workers.len();
        for _ in 0..share.min(room) {
            let Some(task) = shared.injector.pop() else {
                break;
            };
            local.push_back(task, &mut |overflow| shared.injector.push(overflow));
        }
        Some(first)
    }

    /// Moves pinned tasks woken elsewhere into the pinned queue, if the
    /// inbox's flag says there are any.
    fn take_inbox(&self, shared: &Shared) {
        let remote = &shared.workers[self.index];
        let pending = &remote.inbox_pending;
        if pending.load(Ordering::Relaxed) && pending.swap(false, Ordering::Acquire) {
            let mut pinned = self.pinned.borrow_mut();
            while let Some(task) = remote.inbox.pop() {
                pinned.push_back(task);
            }
        }
    }

    /// Timers of every wheel, then the driver without blocking.
    fn maintain(&self, shared: &Shared) {
        shared.fire_timers();
        if let Some(driver) = &shared.driver {
            if let Ok(mut driver) = driver.try_lock() {
                if let Err(error) = driver.park(Some(Duration::ZERO)) {
                    eprintln!("corio: a worker's driver failed to poll: {error}");
                }
            }
        }
    }

    /// Steals from another worker or takes from the injection queue, when
    /// the idle protocol lets this worker search.
    fn search(&self, shared: &Shared) -> Option<Runnable> {
        if !self.searching.get() {
            if !shared.idle.try_start_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let count = shared.workers.len();
        let start = self.next_random() as usize % count;
        for offset in 0..count {
            let victim = (start + offset) % count;
            if victim == self.index {
                continue;
            }
            let stolen = shared.workers[victim]
                .stealer
                .steal_into(&mut self.local.borrow_mut());
            if stolen.is_some() {
                return stolen;
            }
        }
        self.take_injected(shared)
    }

    fn next_random(&self) -> u32 {
        // xorshift32: a cheap spread of victims, not a statistical generator.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }

    /// Runs a task within a coop budget, as the current task, and forgets it
    /// once it has finished.
    fn run_task(&self, shared: &Shared, runnable: Runnable) {
        if self.searching.replace(false) && shared.idle.stop_searching() {
            // The last searcher found work: there may be more.
            shared.notify_parked();
        }
        let tag = runnable.tag();
        let previous = self.current_task.replace(Some(tag));
        let finished = match &shared.debug {
            None => coop::with_budget(|| runnable.run()),
            Some(debug) => debug.run_task(runnable),
        };
        self.current_task.set(previous);
        if finished {
            let tag = shared.registry.decode(tag);
            if tag.pinning == Pinning::Pinned {
                self.pinned_live.set(self.pinned_live.get() - 1);
            }
            let batch_full = {
                let mut finished = self.finished.borrow_mut();
                finished.push(tag);
                finished.len() >= FINISHED_BATCH
            };
            if batch_full {
                self.forget_finished(shared);
            }
        }
    }

    /// Removes the tasks that finished here from the registry.
    fn forget_finished(&self, shared: &Shared) {
        let mut finished = self.finished.borrow_mut();
        if !finished.is_empty() {
            shared
                .registry
                .remove_batch(&mut finished, &mut self.released.borrow_mut());
        }
    }

    fn park(&self, shared: &Shared) {
        let remote = &shared.workers[self.index];
        if remote.inbox_pending.load(Ordering::Acquire) {
            return;
        }
        self.forget_finished(shared);
        let was_searching = self.searching.replace(false);
        if shared.idle.park(self.index, was_searching) {
            std::sync::atomic::fence(Ordering::SeqCst);
            if shared.has_work() {
                shared.notify_parked();
            }
        }
        let timeout = shared.park_timeout();
        let driver = shared
            .driver
            .as_ref()
            .and_then(|driver| driver.try_lock().ok());
        match driver {
            Some(mut driver) => remote.parker.park_in_driver(&mut **driver, timeout),
            None => remote.parker.park(timeout),
        }
        self.searching.set(shared.idle.unpark(self.index));
        shared.fire_timers();
        if !self.searching.get() && self.local.borrow().len() > 1 {
            // The driver or the timers queued more tasks here than this
            // worker runs next: wake a worker to take the driver (or to
            // steal) while this one runs them (tokio #4730). One task alone
            // is run here at once, and a searcher's own search wakes the
            // next worker when it finds work, so neither wakes anybody.
            shared.notify_parked();
        }
    }

    /// This worker's part of shutdown (see the module documentation of
    /// `multi_thread`).
    fn shutdown(&self, shared: &Shared) {
        let remote = &shared.workers[self.index];
        for _ in 0..SHUTDOWN_ROUNDS {
            // Cancelling is safe from any thread: a pinned task's cancellation
            // is scheduled onto its own worker.
            for task in shared.registry.all() {
                task.cancel();
            }
            remote.inbox_pending.store(true, Ordering::Relaxed);
            loop {
                self.take_inbox(shared);
                let next = self.lifo.take();
                let next = next.or_else(|| self.local.borrow_mut().pop());
                let next = next.or_else(|| self.pinned.borrow_mut().pop_front());
                let Some(task) = next else {
                    break;
                };
                // A task spawned since the cancellation above is cancelled
                // here, so that running it drops it rather than polls it.
                task.task_ref().cancel();
                self.run_task(shared, task);
            }
            self.forget_finished(shared);
            if self.pinned_live.get() == 0 {
                break;
            }
        }
        remote.closed.store(true, Ordering::Release);
        // Pushed before `closed` was seen: runnables of finished tasks.
        while remote.inbox.pop().is_some() {}
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{queue, Worker};
    use crate::multi_thread::Shared;
    use crate::EVENT_INTERVAL;
    use corio_core::{Runnable, TaskMeta};
    use std::panic::Location;

    fn empty_task() -> Runnable {
        let meta = TaskMeta::new(Location::caller());
        corio_core::spawn(async {}, drop, meta).0
    }

    /// A worker that finds its queues empty takes its share of the injection
    /// queue in one go: the waiting tasks divided by the workers, at most
    /// half its queue.
    #[test]
    fn an_idle_worker_takes_its_share_of_the_injection_queue() {
        let shared = &Shared::without_threads(2);
        let worker = Worker::new(0, queue::local().0);
        let taken = |count: usize| {
            for _ in 0..count {
                shared.injector.push(empty_task());
            }
            let first = worker.take_injected(shared);
            let moved = worker.local.borrow().len();
            // Leave both queues empty for the next case.
            drop(first);
            while worker.local.borrow_mut().pop().is_some() {}
            while shared.injector.pop().is_some() {}
            moved
        };
        assert_eq!(taken(1), 0, "one task: nothing else to take");
        assert_eq!(taken(21), 10, "20 left over 2 workers: 10 each");
        assert_eq!(
            taken(3 * queue::CAPACITY),
            queue::CAPACITY / 2,
            "never more than half the local queue"
        );
        assert!(worker.take_injected(shared).is_none());
    }

    /// At its maintenance a worker with tasks of its own runs a task from
    /// the injection queue first and takes its share of the rest to the
    /// back of its local queue, so that a burst spawned from outside reaches
    /// the workers in runs rather than one task per maintenance.
    #[test]
    fn maintenance_takes_a_share_of_the_injection_queue() {
        let shared = &Shared::without_threads(2);
        let worker = Worker::new(0, queue::local().0);
        let own = empty_task();
        let own_id = own.id();
        worker
            .local
            .borrow_mut()
            .push_back(own, &mut |_| unreachable!("one task cannot overflow"));
        for _ in 0..21 {
            shared.injector.push(empty_task());
        }
        worker.tick.set(EVENT_INTERVAL - 1);
        let first = worker.next_task(shared).expect("a task");
        assert_ne!(first.id(), own_id, "the injected task runs first");
        assert_eq!(
            worker.local.borrow().len(),
            1 + 10,
            "its own task, then its share: 20 left over 2 workers"
        );
        assert_eq!(shared.injector.len(), 10);
        assert_eq!(
            worker.local.borrow_mut().pop().map(|task| task.id()),
            Some(own_id),
            "the share goes behind the worker's own tasks"
        );
        drop(first);
        while worker.local.borrow_mut().pop().is_some() {}
        while shared.injector.pop().is_some() {}
    }
}
