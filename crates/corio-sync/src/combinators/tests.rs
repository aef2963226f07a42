//! The combinators polled by hand, child by child: which children a poll
//! touches, how many times the parent is woken, what comes out in which
//! order. No runtime, so they run under Miri and reach `pin_slice`'s unsafe
//! code.

use std::collections::VecDeque;
use std::future::{ready, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use corio_core::{Runnable, Task, TaskMeta};
use futures_core::Stream;

use super::{as_completed, gather, try_gather, wait, wait_with_deadline, ReturnWhen};

/// A waker that counts its wake-ups.
#[derive(Default)]
struct WakeCounter(AtomicUsize);

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `future` with a counting waker, as a task would.
struct Parent {
    counter: Arc<WakeCounter>,
    waker: Waker,
}

impl Parent {
    fn new() -> Parent {
        let counter = Arc::new(WakeCounter::default());
        Parent {
            waker: Waker::from(counter.clone()),
            counter,
        }
    }

    fn poll<F: Future + Unpin>(&self, future: &mut F) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(&self.waker))
    }

    fn poll_next<S: Stream + Unpin>(&self, stream: &mut S) -> Poll<Option<S::Item>> {
        Pin::new(stream).poll_next(&mut Context::from_waker(&self.waker))
    }

    fn wakes(&self) -> usize {
        self.counter.0.load(Ordering::SeqCst)
    }
}

/// A child future that completes with `value` once the test fires it, and
/// counts its polls.
#[derive(Clone)]
struct Trigger {
    value: usize,
    state: Arc<TriggerState>,
}

#[derive(Default)]
struct TriggerState {
    fired: Mutex<Option<Waker>>,
    is_fired: std::sync::atomic::AtomicBool,
    polls: AtomicUsize,
}

impl Trigger {
    fn new(value: usize) -> Trigger {
        Trigger {
            value,
            state: Arc::default(),
        }
    }

    fn fire(&self) {
        self.state.is_fired.store(true, Ordering::SeqCst);
        if let Some(waker) = self.state.fired.lock().unwrap().take() {
            waker.wake();
        }
    }

    fn polls(&self) -> usize {
        self.state.polls.load(Ordering::SeqCst)
    }
}

impl Future for Trigger {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.state.polls.fetch_add(1, Ordering::SeqCst);
        if self.state.is_fired.load(Ordering::SeqCst) {
            return Poll::Ready(self.value);
        }
        *self.state.fired.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

fn triggers(n: usize) -> Vec<Trigger> {
    (0..n).map(Trigger::new).collect()
}

fn polls(triggers: &[Trigger]) -> Vec<usize> {
    triggers.iter().map(Trigger::polls).collect()
}

#[test]
fn gather_polls_only_the_woken_children_and_keeps_the_given_order() {
    let children = triggers(3);
    let parent = Parent::new();
    let mut gathered = gather(children.clone());
    assert!(parent.poll(&mut gathered).is_pending());
    assert_eq!(polls(&children), [1, 1, 1]);
    children[2].fire();
    assert_eq!(parent.wakes(), 1);
    assert!(parent.poll(&mut gathered).is_pending());
    assert_eq!(polls(&children), [1, 1, 2]);
    // A burst of wake-ups wakes the parent once.
    children[1].fire();
    children[0].fire();
    assert_eq!(parent.wakes(), 2);
    assert_eq!(parent.poll(&mut gathered), Poll::Ready(vec![0, 1, 2]));
    assert_eq!(polls(&children), [2, 2, 2]);
}

#[test]
fn try_gather_returns_the_first_error_and_drops_the_rest_at_once() {
    let children = triggers(3);
    let fallible = children.iter().map(|child| {
        let child = child.clone();
        Box::pin(async move {
            match child.await {
                1 => Err("one failed"),
                value => Ok(value),
            }
        })
    });
    let parent = Parent::new();
    let mut gathered = try_gather(fallible);
    assert!(parent.poll(&mut gathered).is_pending());
    children[1].fire();
    assert_eq!(parent.poll(&mut gathered), Poll::Ready(Err("one failed")));
    // The other children's futures, which held clones of their state, are gone.
    assert_eq!(Arc::strong_count(&children[0].state), 1);
    assert_eq!(Arc::strong_count(&children[2].state), 1);
}

#[test]
fn the_gather_macros_join_futures_of_different_types() {
    let parent = Parent::new();
    let mut joined = Box::pin(crate::gather!(ready(1), ready("two"), async { 3.0 }));
    assert_eq!(parent.poll(&mut joined), Poll::Ready((1, "two", 3.0)));
    let mut failed = Box::pin(crate::try_gather!(
        ready(Ok::<u8, &str>(1)),
        ready(Err::<u8, &str>("no"))
    ));
    assert_eq!(parent.poll(&mut failed), Poll::Ready(Err("no")));
}

#[test]
fn as_completed_yields_in_wake_order_polling_only_the_woken() {
    let children = triggers(4);
    let parent = Parent::new();
    let mut outputs = as_completed(children.clone());
    assert!(parent.poll_next(&mut outputs).is_pending());
    assert_eq!(polls(&children), [1, 1, 1, 1]);
    children[2].fire();
    children[0].fire();
    assert_eq!(parent.wakes(), 1);
    assert_eq!(parent.poll_next(&mut outputs), Poll::Ready(Some(2)));
    assert_eq!(parent.poll_next(&mut outputs), Poll::Ready(Some(0)));
    assert_eq!(polls(&children), [2, 1, 2, 1]);
    assert!(parent.poll_next(&mut outputs).is_pending());
    assert_eq!(outputs.size_hint(), (2, Some(2)));
    children[3].fire();
    children[1].fire();
    assert_eq!(parent.poll_next(&mut outputs), Poll::Ready(Some(3)));
    assert_eq!(parent.poll_next(&mut outputs), Poll::Ready(Some(1)));
    assert_eq!(parent.poll_next(&mut outputs), Poll::Ready(None));
    assert_eq!(polls(&children), [2, 2, 2, 2]);
}

/// Tasks run by hand: `spawn` queues the first `Runnable`, a wake-up queues
/// another, and `run_all` runs whatever is queued.
#[derive(Clone, Default)]
struct Scheduler {
    queue: Arc<Mutex<VecDeque<Runnable>>>,
}

impl Scheduler {
    fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let queue = self.queue.clone();
        let schedule = move |runnable| queue.lock().unwrap().push_back(runnable);
        let meta = TaskMeta::new(std::panic::Location::caller());
        let (runnable, task) = corio_core::spawn(future, schedule, meta);
        self.queue.lock().unwrap().push_back(runnable);
        task
    }

    /// Cancels the tasks and runs what that schedules, so that their futures
    /// (and the wakers they hold, which point back at the tasks) are dropped.
    fn cancel(&self, tasks: Vec<Task<usize>>) {
        for task in tasks {
            task.cancel();
        }
        self.run_all();
    }

    fn run_all(&self) {
        loop {
            let next = self.queue.lock().unwrap().pop_front();
            match next {
                Some(runnable) => {
                    runnable.run();
                }
                None => return,
            }
        }
    }
}

/// Three tasks waiting for their triggers, the second of which panics.
fn three_tasks(scheduler: &Scheduler, children: &[Trigger]) -> Vec<Task<usize>> {
    children
        .iter()
        .map(|child| {
            let child = child.clone();
            scheduler.spawn(async move {
                let value = child.await;
                assert_ne!(value, 1, "task 1 panics");
                value
            })
        })
        .collect()
}

fn values(tasks: Vec<Task<usize>>) -> Vec<usize> {
    let parent = Parent::new();
    tasks
        .into_iter()
        .map(|mut task| match parent.poll(&mut task) {
            Poll::Ready(Ok(value)) => value,
            other => panic!("a done task gives its output at once, not {other:?}"),
        })
        .collect()
}

#[test]
fn wait_first_completed_returns_the_first_finished_without_cancelling() {
    let (scheduler, children, parent) = (Scheduler::default(), triggers(3), Parent::new());
    let mut waiting = wait(
        three_tasks(&scheduler, &children),
        ReturnWhen::FirstCompleted,
    );
    scheduler.run_all();
    assert!(parent.poll(&mut waiting).is_pending());
    children[2].fire();
    scheduler.run_all();
    assert_eq!(parent.wakes(), 1);
    let Poll::Ready((done, pending)) = parent.poll(&mut waiting) else {
        panic!("task 2 finished");
    };
    assert_eq!(values(done), [2]);
    let finished: Vec<_> = pending.iter().map(|task| task.is_done()).collect();
    assert_eq!(finished, [false, false]);
    children[0].fire();
    scheduler.run_all();
    assert!(pending[0].is_done() && !pending[0].is_cancelled());
    scheduler.cancel(pending);
}

#[test]
fn wait_first_exception_returns_at_a_panic_and_ignores_plain_completions() {
    let (scheduler, children, parent) = (Scheduler::default(), triggers(3), Parent::new());
    let mut waiting = wait(
        three_tasks(&scheduler, &children),
        ReturnWhen::FirstException,
    );
    scheduler.run_all();
    children[0].fire();
    scheduler.run_all();
    assert!(parent.poll(&mut waiting).is_pending());
    children[1].fire();
    scheduler.run_all();
    let Poll::Ready((done, pending)) = parent.poll(&mut waiting) else {
        panic!("task 1 panicked");
    };
    assert_eq!(done.len(), 2);
    assert!(!done[0].is_panicked() && done[1].is_panicked());
    assert_eq!(pending.len(), 1);
    scheduler.cancel(pending);
}

#[test]
fn wait_first_exception_counts_a_cancelled_task_as_completed_not_failed() {
    let (scheduler, children, parent) = (Scheduler::default(), triggers(2), Parent::new());
    let tasks = vec![
        scheduler.spawn(children[0].clone()),
        scheduler.spawn(children[1].clone()),
    ];
    tasks[0].cancel();
    let mut waiting = wait(tasks, ReturnWhen::FirstException);
    scheduler.run_all();
    assert!(parent.poll(&mut waiting).is_pending());
    children[1].fire();
    scheduler.run_all();
    let Poll::Ready((done, pending)) = parent.poll(&mut waiting) else {
        panic!("every task finished");
    };
    assert!(done[0].is_cancelled() && !done[0].is_panicked());
    assert!(pending.is_empty());
}

#[test]
fn wait_all_completed_lists_done_tasks_in_the_order_they_finished() {
    let (scheduler, children, parent) = (Scheduler::default(), triggers(3), Parent::new());
    let tasks = children.iter().map(|child| scheduler.spawn(child.clone()));
    let mut waiting = wait(tasks.collect(), ReturnWhen::AllCompleted);
    scheduler.run_all();
    for index in [1, 2, 0] {
        assert!(parent.poll(&mut waiting).is_pending());
        children[index].fire();
        scheduler.run_all();
    }
    let Poll::Ready((done, pending)) = parent.poll(&mut waiting) else {
        panic!("every task finished");
    };
    assert_eq!(values(done), [1, 2, 0]);
    assert!(pending.is_empty());
}

#[test]
fn wait_with_deadline_returns_the_split_when_the_deadline_comes() {
    let (scheduler, children, parent) = (Scheduler::default(), triggers(3), Parent::new());
    let deadline = Trigger::new(0);
    let tasks = children.iter().map(|child| scheduler.spawn(child.clone()));
    let mut waiting = wait_with_deadline(
        tasks.collect(),
        ReturnWhen::AllCompleted,
        Box::pin(async {
            deadline.clone().await;
        }),
    );
    children[1].fire();
    scheduler.run_all();
    assert!(parent.poll(&mut waiting).is_pending());
    deadline.fire();
    let Poll::Ready((done, pending)) = parent.poll(&mut waiting) else {
        panic!("the deadline passed");
    };
    assert_eq!(values(done), [1]);
    assert_eq!(pending.len(), 2);
    // The wait's wakers are still the pending tasks' join wakers; waking them
    // now must not wake the finished wait's task.
    let wakes = parent.wakes();
    children[0].fire();
    scheduler.run_all();
    assert_eq!(parent.wakes(), wakes);
    let mut pending = pending;
    assert_eq!(values(vec![pending.remove(0)]), [0]);
    scheduler.cancel(pending);
}
