//! corio-sync's primitives on both runtime flavours: a queue with several
//! producers and consumers (every item received exactly once), a mutex
//! counter under contention, and a semaphore bounding concurrency. On the
//! multi-thread runtime the tasks run on several workers at once.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::thread::{self, ThreadId};

use corio::sync::{Mutex, Queue, Semaphore};
use corio::{spawn, yield_now, Runtime};

/// Runs the future `test` makes on a current-thread runtime, then on a
/// four-worker multi-thread runtime.
fn on_both_flavours<F>(test: impl Fn() -> F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let flavours = [
        (
            "current_thread",
            Runtime::builder().current_thread().build(),
        ),
        (
            "multi_thread",
            Runtime::builder().multi_thread().worker_threads(4).build(),
        ),
    ];
    for (name, runtime) in flavours {
        eprintln!("-- flavour: {name}");
        let runtime = runtime.expect("build the runtime");
        // Spawned, so that on the multi-thread runtime the test body itself
        // runs on a worker.
        runtime.block_on(async { spawn(test()).await.unwrap() });
    }
}

/// The threads that ran some code.
#[derive(Clone, Default)]
struct Threads(Arc<StdMutex<HashSet<ThreadId>>>);

impl Threads {
    fn record(&self) {
        self.0.lock().unwrap().insert(thread::current().id());
    }
}

#[test]
fn a_queue_with_several_producers_and_consumers_delivers_each_item_once() {
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 4;
    const PER_PRODUCER: usize = 5_000;
    on_both_flavours(|| async {
        let queue = Arc::new(Queue::bounded(16));
        let threads = Threads::default();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let queue = queue.clone();
                let threads = threads.clone();
                spawn(async move {
                    for n in 0..PER_PRODUCER {
                        threads.record();
                        queue.put(p * PER_PRODUCER + n).await.unwrap();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let queue = queue.clone();
                let threads = threads.clone();
                spawn(async move {
                    let mut received = Vec::new();
                    while let Ok(item) = queue.get().await {
                        threads.record();
                        received.push(item);
                    }
                    received
                })
            })
            .collect();
        for producer in producers {
            producer.await.unwrap();
        }
        // Consumers take what is left, then see the shutdown.
        queue.shutdown();
        let mut seen = vec![0u8; PRODUCERS * PER_PRODUCER];
        for consumer in consumers {
            for item in consumer.await.unwrap() {
                seen[item] += 1;
            }
        }
        let wrong: Vec<_> = (0..seen.len()).filter(|&i| seen[i] != 1).collect();
        assert!(
            wrong.is_empty(),
            "items not received exactly once: {wrong:?}"
        );
        eprintln!("ran on {} threads", threads.0.lock().unwrap().len());
    });
}

#[test]
fn a_mutex_counter_under_contention_loses_no_update() {
    const TASKS: usize = 8;
    const ROUNDS: usize = 500;
    on_both_flavours(|| async {
        let counter = Arc::new(Mutex::new(0usize));
        let inside = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let counter = counter.clone();
                let inside = inside.clone();
                spawn(async move {
                    for _ in 0..ROUNDS {
                        let mut guard = counter.lock().await;
                        assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                        let value = *guard;
                        // Held across a yield: other tasks (on other
                        // workers) try to lock meanwhile.
                        yield_now().await;
                        *guard = value + 1;
                        inside.store(false, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*counter.lock().await, TASKS * ROUNDS);
    });
}

#[test]
fn a_semaphore_bounds_how_many_tasks_run_at_once() {
    const PERMITS: usize = 3;
    const TASKS: usize = 32;
    on_both_flavours(|| async {
        let semaphore = Arc::new(Semaphore::new(PERMITS));
        let active = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let semaphore = semaphore.clone();
                let active = active.clone();
                let most = most.clone();
                spawn(async move {
                    for _ in 0..20 {
                        let _permit = semaphore.acquire().await;
                        let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        yield_now().await;
                        active.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(most <= PERMITS, "{most} tasks held a permit at once");
        assert!(most > 0);
        assert_eq!(semaphore.available_permits(), PERMITS);
    });
}
