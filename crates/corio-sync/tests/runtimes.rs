//! The primitives need nothing but wakers: the same workloads run on corio's
//! event loop, on tokio's current-thread and multi-thread runtimes, and on
//! smol's executor driven by one thread and by three.

#![cfg(not(loom))]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use corio_sync::{
    Barrier, Condition, Event, LifoQueue, Mutex, PriorityQueue, Queue, Semaphore, ShutDown,
};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Spawns a task on the runtime under test and gives back a future of its
/// end.
#[derive(Clone)]
enum Spawner {
    Corio,
    Tokio(tokio::runtime::Handle),
    Smol(Arc<smol::Executor<'static>>),
}

impl Spawner {
    fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) -> BoxFuture {
        match self {
            Spawner::Corio => {
                let task = corio_executor::spawn(future);
                Box::pin(async move { task.await.unwrap() })
            }
            Spawner::Tokio(handle) => {
                let task = handle.spawn(future);
                Box::pin(async move { task.await.unwrap() })
            }
            Spawner::Smol(executor) => Box::pin(executor.spawn(future)),
        }
    }
}

/// Runs `workload` on every runtime in turn.
fn on_every_runtime(workload: fn(Spawner) -> BoxFuture) {
    let mut event_loop = corio_executor::EventLoop::new().unwrap();
    event_loop.run_until_complete(workload(Spawner::Corio));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(workload(Spawner::Tokio(runtime.handle().clone())));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(3)
        .build()
        .unwrap();
    runtime.block_on(workload(Spawner::Tokio(runtime.handle().clone())));

    let executor = Arc::new(smol::Executor::new());
    smol::block_on(executor.run(workload(Spawner::Smol(executor.clone()))));

    let executor = Arc::new(smol::Executor::new());
    let (stop, stopped) = smol::channel::unbounded::<()>();
    let helpers: Vec<_> = (0..2)
        .map(|_| {
            let (executor, stopped) = (executor.clone(), stopped.clone());
            std::thread::spawn(move || smol::block_on(executor.run(stopped.recv())))
        })
        .collect();
    smol::block_on(executor.run(workload(Spawner::Smol(executor.clone()))));
    drop(stop);
    for helper in helpers {
        let _closed = helper.join().unwrap();
    }
}

/// Returns `Pending` once (after waking itself), whatever the runtime.
fn yield_once() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

async fn join_all(tasks: Vec<BoxFuture>) {
    for task in tasks {
        task.await;
    }
}

#[test]
fn a_mutex_held_across_yields_serializes_its_holders() {
    on_every_runtime(|spawner| {
        Box::pin(async move {
            let counter = Arc::new(Mutex::new(0_usize));
            let inside = Arc::new(AtomicUsize::new(0));
            let tasks = (0..20)
                .map(|_| {
                    let (counter, inside) = (counter.clone(), inside.clone());
                    spawner.spawn(async move {
                        for _ in 0..50 {
                            let mut guard = counter.lock().await;
                            assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                            yield_once().await;
                            *guard += 1;
                            inside.fetch_sub(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            join_all(tasks).await;
            assert_eq!(*counter.lock().await, 1000);
        })
    });
}

#[test]
fn a_bounded_queue_delivers_every_item_once_to_many_consumers() {
    on_every_runtime(|spawner| {
        Box::pin(async move {
            let queue = Arc::new(Queue::bounded(2));
            let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
            let consumers: Vec<BoxFuture> = (0..4)
                .map(|_| {
                    let (queue, seen) = (queue.clone(), seen.clone());
                    spawner.spawn(async move {
                        while let Ok(item) = queue.get().await {
                            seen.lock().unwrap().push(item);
                            queue.task_done().unwrap();
                        }
                    })
                })
                .collect();
            let producers = (0..4)
                .map(|producer| {
                    let queue = queue.clone();
                    spawner.spawn(async move {
                        for item in (producer * 250)..(producer + 1) * 250 {
                            queue.put(item).await.unwrap();
                        }
                    })
                })
                .collect();
            join_all(producers).await;
            queue.join().await;
            queue.shutdown();
            join_all(consumers).await;
            let mut seen = seen.lock().unwrap().clone();
            seen.sort_unstable();
            assert_eq!(seen, (0..1000).collect::<Vec<_>>());
            assert_eq!(queue.put(0).await, Err(ShutDown(0)));
        })
    });
}

#[test]
fn a_semaphore_bounds_the_tasks_inside() {
    on_every_runtime(|spawner| {
        Box::pin(async move {
            let semaphore = Arc::new(Semaphore::new(3));
            let inside = Arc::new(AtomicUsize::new(0));
            let most = Arc::new(AtomicUsize::new(0));
            let tasks = (0..20)
                .map(|_| {
                    let (semaphore, inside, most) =
                        (semaphore.clone(), inside.clone(), most.clone());
                    spawner.spawn(async move {
                        for _ in 0..10 {
                            let _permit = semaphore.acquire().await;
                            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            yield_once().await;
                            inside.fetch_sub(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            join_all(tasks).await;
            assert!(most.load(Ordering::SeqCst) <= 3);
            assert_eq!(semaphore.available_permits(), 3);
        })
    });
}

#[test]
fn a_barrier_releases_each_round_with_one_leader() {
    on_every_runtime(|spawner| {
        Box::pin(async move {
            let barrier = Arc::new(Barrier::new(5));
            let leaders = Arc::new(AtomicUsize::new(0));
            let tasks = (0..5)
                .map(|_| {
                    let (barrier, leaders) = (barrier.clone(), leaders.clone());
                    spawner.spawn(async move {
                        for _ in 0..3 {
                            if barrier.wait().await.is_leader() {
                                leaders.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    })
                })
                .collect();
            join_all(tasks).await;
            assert_eq!(leaders.load(Ordering::SeqCst), 3);
        })
    });
}

#[test]
fn an_event_and_a_condition_hand_a_value_between_tasks() {
    on_every_runtime(|spawner| {
        Box::pin(async move {
            let start = Arc::new(Event::new());
            let state = Arc::new((Mutex::new(0), Condition::new()));
            let waiters = (0..4)
                .map(|_| {
                    let (start, state) = (start.clone(), state.clone());
                    spawner.spawn(async move {
                        start.wait().await;
                        let (value, condition) = &*state;
                        let mut guard = value.lock().await;
                        while *guard == 0 {
                            guard = condition.wait(guard).await;
                        }
                        assert_eq!(*guard, 42);
                    })
                })
                .collect();
            start.set();
            yield_once().await;
            *state.0.lock().await = 42;
            state.1.notify_all();
            join_all(waiters).await;
        })
    });
}

#[test]
fn lifo_and_priority_queues_hand_items_across_tasks() {
    on_every_runtime(|spawner| {
        Box::pin(async move {
            let lifo = Arc::new(LifoQueue::bounded(1));
            let priority = Arc::new(PriorityQueue::unbounded());
            for item in [3, 1, 2] {
                priority.put(item).await.unwrap();
            }
            let consumer = {
                let lifo = lifo.clone();
                spawner.spawn(async move {
                    let got: Vec<i32> = vec![lifo.get().await.unwrap(), lifo.get().await.unwrap()];
                    assert_eq!(
                        got,
                        [1, 2],
                        "bounded(1): each item is taken before the next"
                    );
                })
            };
            lifo.put(1).await.unwrap();
            lifo.put(2).await.unwrap();
            consumer.await;
            let mut got = Vec::new();
            while let Ok(item) = priority.try_get() {
                got.push(item);
            }
            assert_eq!(got, [1, 2, 3]);
        })
    });
}

#[test]
fn the_primitives_are_send_and_sync_when_their_data_is() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Mutex<Vec<u8>>>();
    send_sync::<corio_sync::MutexGuard<'static, Vec<u8>>>();
    send_sync::<Event>();
    send_sync::<Condition>();
    send_sync::<Semaphore>();
    send_sync::<corio_sync::SemaphorePermit<'static>>();
    send_sync::<Barrier>();
    send_sync::<Queue<String>>();
    send_sync::<LifoQueue<String>>();
    send_sync::<PriorityQueue<String>>();
    send_sync::<corio_sync::Get<'static, String>>();
    send_sync::<corio_sync::Put<'static, String>>();
    send_sync::<corio_sync::Join<'static, String>>();
    send_sync::<corio_sync::Lock<'static, String>>();
    send_sync::<corio_sync::Acquire<'static>>();
    send_sync::<corio_sync::EventWait<'static>>();
    send_sync::<corio_sync::BarrierWait<'static>>();
    send_sync::<corio_sync::ConditionWait<'static, String>>();
    // `Cell` is `Send` but not `Sync`: the mutex shares it, its guard may
    // move but not be shared.
    send_sync::<Mutex<std::cell::Cell<u8>>>();
    send::<corio_sync::MutexGuard<'static, std::cell::Cell<u8>>>();
}
