//! Shared helpers for corio-core's integration tests: a tiny queue executor,
//! drop counters and counting wakers.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use corio_core::{spawn, Runnable, Task, TaskMeta};

/// A FIFO of runnables that the scheduler hook pushes onto and tests drain.
#[derive(Clone, Default)]
pub struct Executor {
    queue: Arc<Mutex<VecDeque<Runnable>>>,
    /// Counts the scheduler hooks alive: each task's hook holds one, dropped
    /// when the task is deallocated.
    hooks: Arc<()>,
}

impl Executor {
    pub fn new() -> Executor {
        Executor::default()
    }

    pub fn schedule(&self) -> impl Fn(Runnable) + Send + Sync + 'static {
        let queue = self.queue.clone();
        let hook = self.hooks.clone();
        move |runnable| {
            let _ = &hook;
            queue.lock().unwrap().push_back(runnable);
        }
    }

    /// Spawns `future` and queues its first runnable.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, task) = spawn(
            future,
            self.schedule(),
            TaskMeta::new(std::panic::Location::caller()),
        );
        self.push(runnable);
        task
    }

    pub fn push(&self, runnable: Runnable) {
        self.queue.lock().unwrap().push_back(runnable);
    }

    pub fn pop(&self) -> Option<Runnable> {
        self.queue.lock().unwrap().pop_front()
    }

    pub fn len(&self) -> usize {
        self.queue.lock().unwrap().len()
    }

    /// Runs queued runnables until the queue is empty; returns how many ran.
    pub fn run_all(&self) -> usize {
        let mut ran = 0;
        while let Some(runnable) = self.pop() {
            runnable.run();
            ran += 1;
        }
        ran
    }

    /// The number of tasks spawned on this executor not yet deallocated.
    pub fn live_tasks(&self) -> usize {
        Arc::strong_count(&self.hooks) - 1
    }
}

/// Counts its own drops; clones share the count.
#[derive(Clone, Default)]
pub struct DropCounter(pub Arc<AtomicUsize>);

impl DropCounter {
    pub fn new() -> DropCounter {
        DropCounter::default()
    }

    /// A token that increments this counter when dropped.
    pub fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.load(SeqCst)
    }
}

#[derive(Debug)]
pub struct DropToken(Arc<AtomicUsize>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A waker that counts how often it was woken.
pub struct CountingWaker {
    wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
    }
}

pub fn counting_waker() -> (Waker, Arc<CountingWaker>) {
    let counter = Arc::new(CountingWaker {
        wakes: AtomicUsize::new(0),
    });
    (Waker::from(counter.clone()), counter)
}

impl CountingWaker {
    pub fn wakes(&self) -> usize {
        self.wakes.load(SeqCst)
    }
}

/// Spends the whole coop budget of the current `with_budget` scope, as
/// `BUDGET` leaf operations that each made progress would.
pub fn exhaust_budget(waker: &Waker) {
    let mut cx = Context::from_waker(waker);
    for _ in 0..corio_core::coop::BUDGET {
        let Poll::Ready(permit) = corio_core::coop::poll_proceed(&mut cx) else {
            panic!("budget ran out early");
        };
        permit.made_progress();
    }
}

/// Polls `future` once with `waker`.
pub fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// Polls `future` on this thread until it is ready, parking in between.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unparker(std::thread::Thread);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unparker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}
