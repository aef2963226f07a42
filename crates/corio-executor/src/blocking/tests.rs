//! The pool's internals, on small pools of its own: thread counts, the idle
//! timeout, cancellation while queued, and a refused thread spawn.

use super::*;

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;

use corio_core::ParkDriver;

use crate::EventLoop;

/// A long idle timeout, for tests where no thread must retire.
const NEVER_IDLE_LONG_ENOUGH: Duration = Duration::from_secs(60);

impl Pool {
    fn threads(&self) -> usize {
        self.lock().threads
    }

    fn idle(&self) -> usize {
        self.lock().idle
    }

    fn queued(&self) -> usize {
        self.lock().queue.len()
    }

    fn spawn_attempts(&self) -> usize {
        self.started.load(Ordering::Relaxed)
    }
}

fn pool(max_threads: usize, idle_timeout: Duration) -> Arc<Pool> {
    Arc::new(Pool::new(Config {
        max_threads,
        idle_timeout,
    }))
}

/// A pool whose `attempt`-th thread spawn (counting from 0) succeeds only
/// when `succeeds(attempt)`; a refusal is the `EAGAIN` of an exhausted
/// process.
fn pool_refusing_threads(
    max_threads: usize,
    succeeds: impl Fn(usize) -> bool + Send + Sync + 'static,
) -> Arc<Pool> {
    let attempts = AtomicUsize::new(0);
    let config = Config {
        max_threads,
        idle_timeout: NEVER_IDLE_LONG_ENOUGH,
    };
    Arc::new(Pool::with_spawn_thread(
        config,
        Box::new(move |builder, worker| {
            if succeeds(attempts.fetch_add(1, Ordering::Relaxed)) {
                spawn_os_thread(builder, worker)
            } else {
                Err(io::Error::from(io::ErrorKind::WouldBlock))
            }
        }),
    ))
}

#[track_caller]
fn spawn_on<T: Send + 'static>(
    pool: &Arc<Pool>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Task<T> {
    pool.spawn(f, TaskMeta::new(Location::caller()))
}

fn block_on<F: Future>(future: F) -> F::Output {
    EventLoop::with_driver(ParkDriver::new()).run_until_complete(future)
}

fn await_all<T>(tasks: Vec<Task<T>>) -> Vec<T> {
    block_on(async {
        let mut outputs = Vec::new();
        for task in tasks {
            outputs.push(task.await.expect("the blocking closure returns"));
        }
        outputs
    })
}

/// Polls `condition` until it holds, failing after a generous deadline: the
/// tests check what happens, not how fast.
#[track_caller]
fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

fn thread_name() -> String {
    thread::current()
        .name()
        .expect("pool threads are named")
        .to_string()
}

/// A gate that closures block on until the test opens it.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<GateState>, Condvar)>);

#[derive(Default)]
struct GateState {
    open: bool,
    waiting: usize,
}

impl Gate {
    fn pass(&self) {
        let (state, opened) = &*self.0;
        let mut state = state.lock().unwrap();
        state.waiting += 1;
        while !state.open {
            state = opened.wait(state).unwrap();
        }
        state.waiting -= 1;
    }

    fn waiting(&self) -> usize {
        self.0 .0.lock().unwrap().waiting
    }

    fn open(&self) {
        self.0 .0.lock().unwrap().open = true;
        self.0 .1.notify_all();
    }
}

/// Spawns `count` closures that each block on `gate`, then return
/// `output(n)` for their number `n`.
fn spawn_behind_gate<T: Send + 'static>(
    pool: &Arc<Pool>,
    gate: &Gate,
    count: usize,
    output: fn(usize) -> T,
) -> Vec<Task<T>> {
    (0..count)
        .map(|n| {
            let gate = gate.clone();
            spawn_on(pool, move || {
                gate.pass();
                output(n)
            })
        })
        .collect()
}

/// Occupies a pool thread with a closure that blocks on `gate`; returns once
/// it blocks.
fn occupy_a_thread(pool: &Arc<Pool>, gate: &Gate) -> Task<()> {
    let blocked_before = gate.waiting();
    let task = spawn_behind_gate(pool, gate, 1, drop).remove(0);
    wait_until("the closure to block", || {
        gate.waiting() == blocked_before + 1
    });
    task
}

#[test]
fn threads_start_on_demand_up_to_the_cap_and_extra_work_waits_in_the_queue() {
    let pool = pool(2, NEVER_IDLE_LONG_ENOUGH);
    let gate = Gate::default();
    let tasks = spawn_behind_gate(&pool, &gate, 10, |n| (n, thread_name()));
    wait_until("two closures to block", || gate.waiting() == 2);
    assert_eq!(pool.threads(), 2);
    assert_eq!(pool.queued(), 8);
    gate.open();
    let outputs = await_all(tasks);
    let numbers: Vec<_> = outputs.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, (0..10).collect::<Vec<_>>());
    let names: BTreeSet<_> = outputs.into_iter().map(|(_, name)| name).collect();
    assert_eq!(
        names,
        BTreeSet::from(["corio-blocking-1".into(), "corio-blocking-2".into()])
    );
    assert_eq!(pool.spawn_attempts(), 2);
}

#[test]
fn an_idle_thread_takes_new_work_instead_of_a_new_thread() {
    let pool = pool(4, NEVER_IDLE_LONG_ENOUGH);
    for n in 0..5 {
        assert_eq!(block_on(spawn_on(&pool, move || n * 2)).unwrap(), n * 2);
        wait_until("the thread to go idle", || pool.idle() == 1);
    }
    assert_eq!(pool.threads(), 1);
    assert_eq!(pool.spawn_attempts(), 1);
}

#[test]
fn idle_threads_retire_after_the_idle_timeout() {
    let pool = pool(4, Duration::from_millis(50));
    let gate = Gate::default();
    let tasks = spawn_behind_gate(&pool, &gate, 3, |n| n);
    wait_until("three closures to block", || gate.waiting() == 3);
    assert_eq!(pool.threads(), 3);
    gate.open();
    assert_eq!(await_all(tasks), [0, 1, 2]);
    wait_until("every thread to retire", || pool.threads() == 0);
    assert_eq!(pool.idle(), 0);
    // The pool starts a thread again for new work.
    assert_eq!(block_on(spawn_on(&pool, || 7)).unwrap(), 7);
    assert_eq!(pool.spawn_attempts(), 4);
}

#[test]
fn a_task_cancelled_while_queued_never_runs_its_closure() {
    let pool = pool(1, NEVER_IDLE_LONG_ENOUGH);
    let gate = Gate::default();
    let first = occupy_a_thread(&pool, &gate);
    let ran = Arc::new(AtomicBool::new(false));
    let second = {
        let ran = ran.clone();
        spawn_on(&pool, move || ran.store(true, Ordering::SeqCst))
    };
    assert_eq!(pool.queued(), 1);
    assert!(second.cancel());
    gate.open();
    block_on(first).unwrap();
    assert!(block_on(second).unwrap_err().is_cancelled());
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn a_panicking_closure_does_not_end_its_thread() {
    let pool = pool(1, NEVER_IDLE_LONG_ENOUGH);
    let error = block_on(spawn_on(&pool, || panic!("closure failed"))).unwrap_err();
    assert_eq!(
        *error.into_panic().downcast::<&str>().unwrap(),
        "closure failed"
    );
    assert_eq!(
        block_on(spawn_on(&pool, thread_name)).unwrap(),
        "corio-blocking-1"
    );
    assert_eq!(pool.spawn_attempts(), 1);
}

#[test]
fn a_refused_thread_leaves_the_work_queued_for_an_existing_thread() {
    let pool = pool_refusing_threads(4, |attempt| attempt == 0);
    let gate = Gate::default();
    let first = occupy_a_thread(&pool, &gate);
    let second = spawn_on(&pool, thread_name);
    assert_eq!(pool.spawn_attempts(), 2);
    assert_eq!(pool.threads(), 1);
    assert_eq!(pool.queued(), 1);
    gate.open();
    block_on(first).unwrap();
    assert_eq!(block_on(second).unwrap(), "corio-blocking-1");
}

#[test]
fn the_next_call_retries_a_refused_thread() {
    let pool = pool_refusing_threads(4, |attempt| attempt != 1);
    let gate = Gate::default();
    let first = occupy_a_thread(&pool, &gate);
    let second = spawn_on(&pool, thread_name);
    assert_eq!(pool.queued(), 1);
    let third = spawn_on(&pool, thread_name);
    // Both run on the third attempt's thread while the first still blocks.
    assert_eq!(
        await_all(vec![second, third]),
        ["corio-blocking-3", "corio-blocking-3"]
    );
    assert_eq!(pool.threads(), 2);
    gate.open();
    block_on(first).unwrap();
}

#[test]
fn without_any_thread_a_refused_thread_means_the_caller_runs_the_work() {
    let pool = pool_refusing_threads(4, |_| false);
    let caller = thread::current().id();
    let task = spawn_on(&pool, || thread::current().id());
    assert!(task.is_done());
    assert_eq!(block_on(task).unwrap(), caller);
    assert_eq!(pool.threads(), 0);
    assert_eq!(pool.queued(), 0);
}
