//! Spawns and joins tasks one after another on a one-queue executor: a small,
//! deterministic program for comparing the cost of the spawn, run, wake and
//! join path, for example by instruction count under
//! `valgrind --tool=callgrind target/release/examples/spawn_join 100000`.
//!
//! The only argument is the number of child tasks (default 100,000).

use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use corio_core::{spawn, Runnable, TaskMeta};

/// The executor's whole state: the ready queue.
static QUEUE: Mutex<VecDeque<Runnable>> = Mutex::new(VecDeque::new());

/// The scheduler hook every task gets: push onto the ready queue.
fn schedule(runnable: Runnable) {
    QUEUE.lock().unwrap().push_back(runnable);
}

/// The waker for the last poll of the root task, which is already complete.
struct NoWake;

impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

fn main() {
    let children: u64 = std::env::args()
        .nth(1)
        .map(|argument| argument.parse().expect("a number of tasks"))
        .unwrap_or(100_000);
    let meta = || TaskMeta::new(Location::caller());
    let root = async move {
        let mut sum = 0;
        for child in 0..children {
            let (runnable, task) = spawn(async move { child }, schedule, meta());
            schedule(runnable);
            sum += task
                .await
                .expect("a child that neither panics nor is cancelled");
        }
        sum
    };
    let (runnable, mut root) = spawn(root, schedule, meta());
    schedule(runnable);
    let next = || QUEUE.lock().unwrap().pop_front();
    while let Some(runnable) = next() {
        runnable.run();
    }
    assert!(root.is_done());
    let waker = Waker::from(Arc::new(NoWake));
    let mut cx = Context::from_waker(&waker);
    let Poll::Ready(Ok(sum)) = Pin::new(&mut root).poll(&mut cx) else {
        panic!("the root task finished with its sum");
    };
    assert_eq!(sum, children * children.saturating_sub(1) / 2);
    println!("spawned and joined {children} tasks");
}
