//! Property tests: random operations on one task or one promise from several
//! handles on several OS threads, checked against the invariants users rely
//! on (one completion, one outcome for everyone, no lost wake-up, every drop
//! exactly once, nothing leaked).

mod util;

use std::future::{poll_fn, IntoFuture};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;

use corio_core::{spawn, CallbackId, Promise, PromiseError, PromiseWait, TaskError, TaskMeta};
use corio_test_support::{counting_waker, poll_once, proptest_config, DropCounter, WakeCounter};
use proptest::prelude::*;
use util::Executor;

// ---------------------------------------------------------------- tasks

#[derive(Debug, Clone)]
enum TaskOp {
    /// Run the next queued runnable.
    RunOne,
    /// Drop the next queued runnable unrun (cancels the task).
    DropOne,
    /// Wake the waker the future stored, by reference or through a clone.
    Wake { by_value: bool },
    /// Let the future finish (or panic) at its next poll.
    Release,
    /// Cancel through this thread's `TaskRef` (or the `Task` on thread 0).
    Cancel,
    /// Poll the join handle with one of two wakers (thread 0 only).
    PollJoin { second_waker: bool },
    /// Detach the join handle (thread 0 only).
    DropTask,
    /// Drop this thread's `TaskRef`.
    DropRef,
}

fn task_op() -> impl Strategy<Value = TaskOp> {
    prop_oneof![
        3 => Just(TaskOp::RunOne),
        1 => Just(TaskOp::DropOne),
        2 => any::<bool>().prop_map(|by_value| TaskOp::Wake { by_value }),
        2 => Just(TaskOp::Release),
        1 => Just(TaskOp::Cancel),
        2 => any::<bool>().prop_map(|second_waker| TaskOp::PollJoin { second_waker }),
        1 => Just(TaskOp::DropTask),
        1 => Just(TaskOp::DropRef),
    ]
}

#[derive(Default)]
struct TaskLog {
    cancel_succeeded: AtomicBool,
    runnable_dropped: AtomicBool,
}

fn check_task(threads: Vec<Vec<TaskOp>>, panics: bool, self_wakes: bool) {
    let executor = Executor::new();
    let released = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let polled_after_finish = Arc::new(AtomicBool::new(false));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let futures = DropCounter::new();
    let outputs = DropCounter::new();
    let produced = Arc::new(AtomicUsize::new(0));
    // Wakes sent so far, and how many of them the latest poll had seen when
    // it started: a wake is lost if the task ends idle with the two apart.
    let wakes_sent = Arc::new(AtomicUsize::new(0));
    let wakes_seen_by_last_poll = Arc::new(AtomicUsize::new(0));
    let polls = AtomicUsize::new(0);
    let future = {
        let (sent, seen) = (wakes_sent.clone(), wakes_seen_by_last_poll.clone());
        let (released, finished, after) = (
            released.clone(),
            finished.clone(),
            polled_after_finish.clone(),
        );
        let (slot, token, outputs, produced) = (
            slot.clone(),
            futures.token(),
            outputs.clone(),
            produced.clone(),
        );
        poll_fn(move |cx| {
            let _ = &token;
            seen.store(sent.load(SeqCst), SeqCst);
            if finished.load(SeqCst) {
                after.store(true, SeqCst);
            }
            *slot.lock().unwrap() = Some(cx.waker().clone());
            if !released.load(SeqCst) {
                // Every third poll wakes itself while running: the task must
                // be polled again.
                if self_wakes && polls.fetch_add(1, SeqCst) % 3 == 0 {
                    sent.fetch_add(1, SeqCst);
                    cx.waker().wake_by_ref();
                }
                return Poll::Pending;
            }
            finished.store(true, SeqCst);
            if panics {
                panic!("released into a panic");
            }
            produced.fetch_add(1, SeqCst);
            Poll::Ready(outputs.token())
        })
    };
    let (runnable, task) = spawn(
        future,
        executor.schedule(),
        TaskMeta::new(std::panic::Location::caller()),
    );
    let main_ref = runnable.task_ref();
    executor.push(runnable);
    let log = TaskLog::default();
    let (first_waker, first_wakes) = counting_waker();
    let (second_waker, second_wakes) = counting_waker();
    let mut task = Some(task);
    // Which waker the join handle last registered, if its last poll was
    // `Pending`; and the outcome if it returned one.
    let mut last_pending: Option<bool> = None;
    let mut joined = None;

    let shared = Shared {
        executor: &executor,
        slot: &slot,
        wakes_sent: &wakes_sent,
        released: &released,
        log: &log,
    };
    thread::scope(|scope| {
        let mut ops = threads.into_iter();
        let first_ops = ops.next().unwrap_or_default();
        for thread_ops in ops {
            let log = &log;
            let mut task_ref = Some(main_ref.clone());
            scope.spawn(move || {
                for op in thread_ops {
                    if shared.apply(&op) {
                        continue;
                    }
                    match op {
                        TaskOp::RunOne
                        | TaskOp::DropOne
                        | TaskOp::Wake { .. }
                        | TaskOp::Release => unreachable!("done by Shared::apply"),
                        TaskOp::Cancel | TaskOp::PollJoin { .. } | TaskOp::DropTask => {
                            if let Some(task_ref) = &task_ref {
                                if task_ref.cancel() {
                                    log.cancel_succeeded.store(true, SeqCst);
                                }
                            }
                        }
                        TaskOp::DropRef => task_ref = None,
                    }
                }
            });
        }
        for op in first_ops {
            if shared.apply(&op) {
                continue;
            }
            match op {
                TaskOp::RunOne | TaskOp::DropOne | TaskOp::Wake { .. } | TaskOp::Release => {
                    unreachable!("done by Shared::apply")
                }
                TaskOp::Cancel => {
                    if let Some(task) = &task {
                        if task.cancel() {
                            log.cancel_succeeded.store(true, SeqCst);
                        }
                    }
                }
                TaskOp::PollJoin {
                    second_waker: use_second,
                } => {
                    if let (Some(task), None) = (&mut task, &joined) {
                        let waker = if use_second {
                            &second_waker
                        } else {
                            &first_waker
                        };
                        match poll_once(task, waker) {
                            Poll::Pending => last_pending = Some(use_second),
                            Poll::Ready(outcome) => {
                                last_pending = None;
                                joined = Some(outcome);
                            }
                        }
                    }
                }
                TaskOp::DropTask => {
                    task = None;
                    last_pending = None;
                }
                TaskOp::DropRef => {}
            }
        }
    });

    executor.run_all();
    if !main_ref.is_done() {
        assert_eq!(
            wakes_seen_by_last_poll.load(SeqCst),
            wakes_sent.load(SeqCst),
            "a wake-up was lost: the task is idle but was never polled after it"
        );
    }

    // Let everything finish: release the future, wake it, run the queue.
    released.store(true, SeqCst);
    wake(&slot, &wakes_sent, true);
    executor.run_all();
    assert!(main_ref.is_done(), "every task finishes once released");
    assert!(
        !polled_after_finish.load(SeqCst),
        "polled after it finished"
    );
    assert!(produced.load(SeqCst) <= 1, "completed more than once");

    if let Some(which) = last_pending {
        let wakes = if which { &second_wakes } else { &first_wakes };
        assert!(
            wakes.count() >= 1,
            "the registered join waker was not woken"
        );
    }
    if let Some(task) = &mut task {
        if joined.is_none() {
            let Poll::Ready(outcome) = poll_once(task, &first_waker) else {
                panic!("a finished task's handle is ready");
            };
            joined = Some(outcome);
        }
    }
    let cancelled = log.cancel_succeeded.load(SeqCst) || log.runnable_dropped.load(SeqCst);
    if let Some(outcome) = &joined {
        match outcome {
            Ok(_) => assert!(!cancelled && !panics && produced.load(SeqCst) == 1),
            Err(TaskError::Cancelled) => assert!(cancelled),
            Err(TaskError::Panicked(_)) => assert!(panics && !cancelled),
        }
    }
    if cancelled {
        assert_eq!(main_ref.state(), corio_core::TaskState::Cancelled);
    }

    drop(joined);
    drop(task);
    drop(main_ref);
    drop(slot.lock().unwrap().take());
    assert_eq!(futures.count(), 1, "the future is dropped exactly once");
    assert_eq!(
        outputs.count(),
        produced.load(SeqCst),
        "the output is dropped exactly once"
    );
    assert_eq!(executor.live_tasks(), 0, "the task was leaked");
}

/// Wakes the waker the future stored, counting the wake first so that a
/// poll that starts afterwards sees it.
/// What every thread of the task property may touch, and the operations
/// that are the same on all of them.
#[derive(Clone, Copy)]
struct Shared<'a> {
    executor: &'a Executor,
    slot: &'a Mutex<Option<Waker>>,
    wakes_sent: &'a AtomicUsize,
    released: &'a AtomicBool,
    log: &'a TaskLog,
}

impl Shared<'_> {
    /// Performs `op` if it is one of the shared operations (running or
    /// dropping a queued runnable, waking, releasing the future); returns
    /// whether it was.
    fn apply(self, op: &TaskOp) -> bool {
        match *op {
            TaskOp::RunOne => {
                if let Some(runnable) = self.executor.pop() {
                    runnable.run();
                }
            }
            TaskOp::DropOne => {
                if let Some(runnable) = self.executor.pop() {
                    self.log.runnable_dropped.store(true, SeqCst);
                    drop(runnable);
                }
            }
            TaskOp::Wake { by_value } => wake(self.slot, self.wakes_sent, by_value),
            TaskOp::Release => self.released.store(true, SeqCst),
            _ => return false,
        }
        true
    }
}

fn wake(slot: &Mutex<Option<Waker>>, wakes_sent: &AtomicUsize, by_value: bool) {
    let waker = slot.lock().unwrap().clone();
    if let Some(waker) = waker {
        wakes_sent.fetch_add(1, SeqCst);
        if by_value {
            waker.wake();
        } else {
            waker.wake_by_ref();
        }
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn prop_task_state_machine_from_several_threads(
        threads in prop::collection::vec(prop::collection::vec(task_op(), 0..12), 1..4),
        panics in any::<bool>(),
        self_wakes in any::<bool>(),
    ) {
        check_task(threads, panics, self_wakes);
    }
}

// ---------------------------------------------------------------- promises

#[derive(Debug, Clone)]
enum PromiseOp {
    SetResult(u8),
    SetException,
    Cancel,
    AddCallback,
    /// Remove the n-th callback this thread registered (modulo the count).
    RemoveCallback(usize),
    /// Start awaiting through a cloned handle or a reference.
    StartAwait {
        by_reference: bool,
    },
    /// Poll the n-th awaiter of this thread (modulo the count).
    Poll(usize),
    /// Drop the n-th awaiter of this thread (modulo the count).
    DropAwaiter(usize),
}

fn promise_op() -> impl Strategy<Value = PromiseOp> {
    prop_oneof![
        1 => any::<u8>().prop_map(PromiseOp::SetResult),
        1 => Just(PromiseOp::SetException),
        1 => Just(PromiseOp::Cancel),
        2 => Just(PromiseOp::AddCallback),
        1 => any::<usize>().prop_map(PromiseOp::RemoveCallback),
        2 => any::<bool>().prop_map(|by_reference| PromiseOp::StartAwait { by_reference }),
        3 => any::<usize>().prop_map(PromiseOp::Poll),
        1 => any::<usize>().prop_map(PromiseOp::DropAwaiter),
    ]
}

/// A promise value whose clones are counted through `Arc`'s strong count.
#[derive(Debug, Clone)]
struct Value(
    u8,
    #[allow(dead_code, reason = "held for its strong count")] Arc<()>,
);

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.0 == other.0
    }
}

#[derive(Debug, thiserror::Error)]
#[error("failure {0}")]
struct Failure(u8);

/// How one thread's attempt to complete the promise went.
#[derive(Debug, Clone, PartialEq)]
enum Winner {
    Result(u8),
    Exception,
    Cancelled,
}

enum Awaiter<'a> {
    Owned(Promise<Value>),
    Borrowed(PromiseWait<'a, Value>),
}

impl Awaiter<'_> {
    fn poll(&mut self, waker: &Waker) -> Poll<Result<Value, PromiseError>> {
        match self {
            Awaiter::Owned(promise) => poll_once(promise, waker),
            Awaiter::Borrowed(wait) => poll_once(wait, waker),
        }
    }
}

struct AwaiterState<'a> {
    awaiter: Awaiter<'a>,
    waker: Waker,
    wakes: Arc<WakeCounter>,
    pending: bool,
    seen: Option<Result<Value, PromiseError>>,
}

struct CallbackRecord {
    id: CallbackId,
    runs: Arc<AtomicUsize>,
    removed: bool,
}

struct ThreadReport<'a> {
    winners: Vec<Winner>,
    callbacks: Vec<(Arc<AtomicUsize>, bool)>,
    /// The awaiters still alive when the thread's operations ended.
    awaiters: Vec<AwaiterState<'a>>,
}

fn run_promise_thread<'a>(
    promise: &'a Promise<Value>,
    ops: Vec<PromiseOp>,
    leak: &Arc<()>,
    observed: &Arc<Mutex<Vec<Result<Value, PromiseError>>>>,
) -> ThreadReport<'a> {
    let mut winners = Vec::new();
    let mut awaiters: Vec<AwaiterState<'a>> = Vec::new();
    let mut callbacks: Vec<CallbackRecord> = Vec::new();
    for op in ops {
        match op {
            PromiseOp::SetResult(value) => {
                if promise.set_result(Value(value, leak.clone())).is_ok() {
                    winners.push(Winner::Result(value));
                }
            }
            PromiseOp::SetException => {
                if promise.set_exception(Failure(0)).is_ok() {
                    winners.push(Winner::Exception);
                }
            }
            PromiseOp::Cancel => {
                if promise.cancel() {
                    winners.push(Winner::Cancelled);
                }
            }
            PromiseOp::AddCallback => {
                let runs = Arc::new(AtomicUsize::new(0));
                let (counter, token, observed) = (runs.clone(), leak.clone(), observed.clone());
                let id = promise.add_done_callback(move |p| {
                    let _ = &token;
                    assert!(p.is_done(), "callbacks run after the outcome is set");
                    observed.lock().unwrap().push(p.result());
                    counter.fetch_add(1, SeqCst);
                });
                callbacks.push(CallbackRecord {
                    id,
                    runs,
                    removed: false,
                });
            }
            PromiseOp::RemoveCallback(n) => {
                if !callbacks.is_empty() {
                    let index = n % callbacks.len();
                    let record = &mut callbacks[index];
                    if promise.remove_done_callback(record.id) {
                        assert!(!record.removed, "a callback is removed at most once");
                        record.removed = true;
                    }
                }
            }
            PromiseOp::StartAwait { by_reference } => {
                let (waker, wakes) = counting_waker();
                let awaiter = if by_reference {
                    Awaiter::Borrowed(promise.into_future())
                } else {
                    Awaiter::Owned(promise.clone())
                };
                awaiters.push(AwaiterState {
                    awaiter,
                    waker,
                    wakes,
                    pending: false,
                    seen: None,
                });
            }
            PromiseOp::Poll(n) => {
                if !awaiters.is_empty() {
                    let index = n % awaiters.len();
                    let state = &mut awaiters[index];
                    match state.awaiter.poll(&state.waker) {
                        Poll::Pending => state.pending = true,
                        Poll::Ready(outcome) => {
                            state.pending = false;
                            if let Some(seen) = &state.seen {
                                assert_eq!(seen, &outcome, "an awaiter's outcome never changes");
                            }
                            state.seen = Some(outcome);
                        }
                    }
                }
            }
            PromiseOp::DropAwaiter(n) => {
                if !awaiters.is_empty() {
                    let index = n % awaiters.len();
                    awaiters.swap_remove(index);
                }
            }
        }
    }
    ThreadReport {
        winners,
        callbacks: callbacks
            .into_iter()
            .map(|record| (record.runs, record.removed))
            .collect(),
        awaiters,
    }
}

fn check_promise(threads: Vec<Vec<PromiseOp>>, final_value: u8) {
    let leak = Arc::new(());
    let observed: Arc<Mutex<Vec<Result<Value, PromiseError>>>> = Arc::default();
    let promise: Promise<Value> = Promise::new();
    // Awaiters registered by main before the threads start: they must all be
    // woken once, whatever the threads do.
    let mut main_awaiters: Vec<(Promise<Value>, Waker, Arc<WakeCounter>)> = (0..2)
        .map(|_| {
            let (waker, wakes) = counting_waker();
            let mut handle = promise.clone();
            assert!(poll_once(&mut handle, &waker).is_pending());
            (handle, waker, wakes)
        })
        .collect();

    let mut reports: Vec<ThreadReport<'_>> = thread::scope(|scope| {
        let handles: Vec<_> = threads
            .into_iter()
            .map(|ops| {
                let (promise, leak, observed) = (&promise, &leak, &observed);
                scope.spawn(move || run_promise_thread(promise, ops, leak, observed))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut winners: Vec<Winner> = reports.iter().flat_map(|r| r.winners.clone()).collect();
    if winners.is_empty() {
        promise
            .set_result(Value(final_value, leak.clone()))
            .expect("nobody completed the promise, so this completion wins");
        winners.push(Winner::Result(final_value));
    } else {
        assert!(promise
            .set_result(Value(final_value, leak.clone()))
            .is_err());
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one completion succeeds: {winners:?}"
    );
    let outcome = promise.result();
    match (&winners[0], &outcome) {
        (Winner::Result(v), Ok(Value(got, _))) => assert_eq!(v, got),
        (Winner::Exception, Err(PromiseError::Exception(error))) => {
            assert_eq!(error.to_string(), "failure 0")
        }
        (Winner::Cancelled, Err(PromiseError::Cancelled)) => {}
        (winner, outcome) => panic!("winner {winner:?} but outcome {outcome:?}"),
    }

    for (handle, waker, wakes) in &mut main_awaiters {
        assert_eq!(
            wakes.count(),
            1,
            "every registered waker is woken exactly once"
        );
        assert_eq!(poll_once(handle, waker), Poll::Ready(outcome.clone()));
    }
    for report in &mut reports {
        for state in &mut report.awaiters {
            if state.pending {
                assert!(state.wakes.count() >= 1, "a waiting awaiter was not woken");
            }
            let now = state.awaiter.poll(&state.waker);
            assert_eq!(
                now,
                Poll::Ready(outcome.clone()),
                "every awaiter sees the same outcome"
            );
            if let Some(seen) = &state.seen {
                assert_eq!(seen, &outcome, "every awaiter sees the same outcome");
            }
        }
        for (runs, removed) in &report.callbacks {
            let expected = usize::from(!removed);
            assert_eq!(
                runs.load(SeqCst),
                expected,
                "each callback runs exactly once"
            );
        }
    }
    for seen in observed.lock().unwrap().iter() {
        assert_eq!(seen, &outcome, "callbacks see the final outcome");
    }

    drop(outcome);
    drop(main_awaiters);
    drop(reports);
    drop(promise);
    observed.lock().unwrap().clear();
    assert_eq!(Arc::strong_count(&leak), 1, "a value or a callback leaked");
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn prop_promise_completes_once_for_every_handle(
        threads in prop::collection::vec(prop::collection::vec(promise_op(), 0..12), 1..4),
        final_value in any::<u8>(),
    ) {
        check_promise(threads, final_value);
    }
}
