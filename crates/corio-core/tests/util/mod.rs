//! Shared helpers for corio-core's integration tests: a tiny queue executor
//! and a budget spender. The helpers every crate's tests share (wakers, drop
//! counters, `block_on`) come from corio-test-support.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

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
