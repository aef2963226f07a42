//! Loom models of the task state word: every interleaving of the races that
//! the `raw` protocol must survive. Run with `cargo xtask loom`.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;

use crate::{spawn, Runnable, Task, TaskError, TaskMeta};

type Queue = Arc<Mutex<VecDeque<Runnable>>>;

fn meta() -> TaskMeta {
    TaskMeta::new(std::panic::Location::caller())
}

/// A queue executor whose scheduler hook records its own drop, which happens
/// exactly when the task is deallocated.
fn executor(deallocs: &Arc<AtomicUsize>) -> (Queue, impl Fn(Runnable) + Send + Sync + 'static) {
    let queue: Queue = Arc::new(Mutex::new(VecDeque::new()));
    let hook_queue = queue.clone();
    let witness = DropCount(deallocs.clone());
    let schedule = move |runnable| {
        let _ = &witness;
        hook_queue.lock().unwrap().push_back(runnable);
    };
    (queue, schedule)
}

fn drain(queue: &Queue) {
    loop {
        let next = queue.lock().unwrap().pop_front();
        match next {
            Some(runnable) => {
                runnable.run();
            }
            None => return,
        }
    }
}

/// Drops every queued runnable unrun, as an executor does at shutdown.
fn discard(queue: &Queue) {
    let left: Vec<Runnable> = queue.lock().unwrap().drain(..).collect();
    drop(left);
}

struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counting_waker() -> (Waker, std::sync::Arc<CountWakes>) {
    let count = std::sync::Arc::new(CountWakes(AtomicUsize::new(0)));
    (Waker::from(count.clone()), count)
}

fn poll_task<T>(task: &mut Task<T>, waker: &Waker) -> Poll<Result<T, TaskError>> {
    Pin::new(task).poll(&mut Context::from_waker(waker))
}

#[test]
fn loom_wake_racing_with_poll_is_never_lost() {
    loom::model(|| {
        let deallocs = Arc::new(AtomicUsize::new(0));
        let (queue, schedule) = executor(&deallocs);
        let ready = Arc::new(AtomicBool::new(false));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let future = {
            let (ready, slot) = (ready.clone(), slot.clone());
            poll_fn(move |cx| {
                *slot.lock().unwrap() = Some(cx.waker().clone());
                if ready.load(SeqCst) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
        };
        let (runnable, task) = spawn(future, schedule, meta());
        let waker_thread = thread::spawn(move || {
            ready.store(true, SeqCst);
            let waker = slot.lock().unwrap().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        runnable.run();
        waker_thread.join().unwrap();
        drain(&queue);
        assert!(task.is_done());
        drop(task);
        drop(queue);
        assert_eq!(deallocs.load(SeqCst), 1);
    });
}

#[test]
fn loom_cancel_racing_with_completion_decides_once() {
    loom::model(|| {
        let deallocs = Arc::new(AtomicUsize::new(0));
        let (queue, schedule) = executor(&deallocs);
        let future_drops = Arc::new(AtomicUsize::new(0));
        let outputs = Arc::new(AtomicUsize::new(0));
        let output_drops = Arc::new(AtomicUsize::new(0));
        let future = {
            let guard = DropCount(future_drops.clone());
            let (outputs, output_drops) = (outputs.clone(), output_drops.clone());
            async move {
                let _guard = guard;
                outputs.fetch_add(1, SeqCst);
                DropCount(output_drops)
            }
        };
        let (runnable, mut task) = spawn(future, schedule, meta());
        let runner = thread::spawn(move || runnable.run());
        let cancelled = task.cancel();
        assert!(runner.join().unwrap());
        drain(&queue);
        let (waker, _) = counting_waker();
        let Poll::Ready(outcome) = poll_task(&mut task, &waker) else {
            panic!("the task finished, so its handle is ready");
        };
        assert_eq!(
            cancelled,
            outcome.as_ref().is_err_and(TaskError::is_cancelled)
        );
        assert_eq!(cancelled, task.is_cancelled());
        drop(outcome);
        drop(task);
        assert_eq!(future_drops.load(SeqCst), 1);
        assert_eq!(outputs.load(SeqCst), output_drops.load(SeqCst));
        drop(queue);
        assert_eq!(deallocs.load(SeqCst), 1);
    });
}

#[test]
fn loom_join_waker_registration_racing_with_completion() {
    loom::model(|| {
        let deallocs = Arc::new(AtomicUsize::new(0));
        let (_queue, schedule) = executor(&deallocs);
        let (runnable, mut task) = spawn(async { 7 }, schedule, meta());
        let runner = thread::spawn(move || runnable.run());
        let (first, _) = counting_waker();
        let (second, second_wakes) = counting_waker();
        let mut outcome = poll_task(&mut task, &first);
        if outcome.is_pending() {
            // A different waker replaces the first one while the task may be
            // completing; the replacement must be the one woken.
            outcome = poll_task(&mut task, &second);
        }
        runner.join().unwrap();
        if outcome.is_pending() {
            assert_eq!(second_wakes.0.load(SeqCst), 1);
            outcome = poll_task(&mut task, &second);
        }
        assert!(matches!(outcome, Poll::Ready(Ok(7))));
    });
}

#[test]
fn loom_last_reference_dropped_by_task_or_runner() {
    loom::model(|| {
        let deallocs = Arc::new(AtomicUsize::new(0));
        let (_queue, schedule) = executor(&deallocs);
        let output_drops = Arc::new(AtomicUsize::new(0));
        let future_drops = Arc::new(AtomicUsize::new(0));
        let future = {
            let guard = DropCount(future_drops.clone());
            let output = DropCount(output_drops.clone());
            async move {
                let _guard = guard;
                output
            }
        };
        let (runnable, task) = spawn(future, schedule, meta());
        let detacher = thread::spawn(move || drop(task));
        runnable.run();
        detacher.join().unwrap();
        assert_eq!(future_drops.load(SeqCst), 1);
        assert_eq!(output_drops.load(SeqCst), 1);
        assert_eq!(deallocs.load(SeqCst), 1);
    });
}

#[test]
fn loom_last_reference_dropped_by_waker_or_task() {
    loom::model(|| {
        let deallocs = Arc::new(AtomicUsize::new(0));
        let (queue, schedule) = executor(&deallocs);
        let future_drops = Arc::new(AtomicUsize::new(0));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let future = {
            let guard = DropCount(future_drops.clone());
            let slot = slot.clone();
            poll_fn(move |cx| {
                let _ = &guard;
                *slot.lock().unwrap() = Some(cx.waker().clone());
                Poll::<()>::Pending
            })
        };
        let (runnable, task) = spawn(future, schedule, meta());
        runnable.run();
        let waker = slot.lock().unwrap().take().unwrap();
        drop(slot);
        let detacher = thread::spawn(move || drop(task));
        waker.wake();
        detacher.join().unwrap();
        // Either the wake scheduled the task (the queue holds the last
        // reference) or nothing is left and the future is gone already.
        discard(&queue);
        assert_eq!(future_drops.load(SeqCst), 1);
        assert_eq!(deallocs.load(SeqCst), 1);
    });
}

#[test]
fn loom_runnable_dropped_racing_with_task_drop() {
    loom::model(|| {
        let deallocs = Arc::new(AtomicUsize::new(0));
        let (_queue, schedule) = executor(&deallocs);
        let future_drops = Arc::new(AtomicUsize::new(0));
        let future = {
            let guard = DropCount(future_drops.clone());
            async move {
                let _guard = guard;
                unreachable!("a cancelled task is never polled");
            }
        };
        let (runnable, task) = spawn(future, schedule, meta());
        let canceller = thread::spawn(move || drop(runnable));
        let cancelled = task.cancel();
        drop(task);
        canceller.join().unwrap();
        let _ = cancelled;
        assert_eq!(future_drops.load(SeqCst), 1);
        assert_eq!(deallocs.load(SeqCst), 1);
    });
}
