//! `TaskGroup` on the multi-thread runtime: children run on any worker (or
//! pinned to the spawner's worker for `spawn_local`), every child succeeds,
//! the first failure cancels the siblings, and dropping the group cancels the
//! children. `tests/task_group.rs` covers the event loop.

use std::cell::Cell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use corio_executor::{spawn, spawn_local, yield_now, Runtime, TaskGroup};

fn runtime(workers: usize) -> Runtime {
    Runtime::builder()
        .multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

/// Counts how many times it was dropped.
struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn every_child_succeeds_on_the_workers_and_join_waits_for_all() {
    const CHILDREN: usize = 2_000;
    let runtime = runtime(4);
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let seen = threads.clone();
    let finished = Arc::new(AtomicUsize::new(0));
    let sum = runtime.block_on(async move {
        // From inside a task on a worker and from the `block_on` thread.
        let group = TaskGroup::<String>::new();
        let handle = group.handle();
        let tasks: Vec<_> = (0..CHILDREN)
            .map(|n| {
                let seen = seen.clone();
                let handle = handle.clone();
                let finished = finished.clone();
                group.spawn(async move {
                    seen.lock().unwrap().insert(thread::current().id());
                    yield_now().await;
                    // A grandchild, spawned from a worker.
                    let grandchild = handle.spawn(async move {
                        yield_now().await;
                        finished.fetch_add(1, Ordering::SeqCst);
                        Ok(n)
                    });
                    Ok(grandchild)
                })
            })
            .collect();
        assert_eq!(group.join().await, Ok(()));
        assert_eq!(
            finished.load(Ordering::SeqCst),
            CHILDREN,
            "join waited for the grandchildren"
        );
        let mut sum = 0;
        // Every child's future has been dropped by now (join waited for the
        // grandchildren too); on another worker the core may still be
        // storing a child's value, which the awaits below wait for.
        for task in tasks {
            sum += task.await.unwrap().await.unwrap();
        }
        sum
    });
    assert_eq!(sum, CHILDREN * (CHILDREN - 1) / 2);
    let threads = threads.lock().unwrap();
    assert!(
        !threads.contains(&thread::current().id()),
        "children run on the workers, not on the block_on thread"
    );
}

#[test]
fn the_first_failure_cancels_every_sibling_on_every_worker() {
    const SIBLINGS: usize = 64;
    let runtime = runtime(4);
    for _ in 0..20 {
        let drops = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let counters = (drops.clone(), started.clone());
        let (result, siblings, failing) = runtime.block_on(async move {
            let (drops, started) = counters;
            let group = TaskGroup::<String>::new();
            let siblings: Vec<_> = (0..SIBLINGS)
                .map(|_| {
                    let guard = DropGuard(drops.clone());
                    let started = started.clone();
                    group.spawn::<_, ()>(async move {
                        let _guard = guard;
                        started.fetch_add(1, Ordering::SeqCst);
                        loop {
                            yield_now().await;
                        }
                    })
                })
                .collect();
            let failing = group.spawn(async {
                for _ in 0..3 {
                    yield_now().await;
                }
                Err::<(), _>("boom".to_string())
            });
            let result = group.join().await;
            let mut cancelled = 0;
            for sibling in siblings {
                if sibling.await.unwrap_err().is_cancelled() {
                    cancelled += 1;
                }
            }
            (result, cancelled, failing.await.unwrap_err().is_cancelled())
        });
        assert_eq!(result, Err("boom".to_string()));
        assert_eq!(siblings, SIBLINGS, "every sibling ends cancelled");
        assert!(failing, "the failure went to join");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            SIBLINGS,
            "join returned after every sibling's future was dropped, once"
        );
    }
}

#[test]
fn a_panicking_child_on_a_worker_cancels_its_siblings_and_join_resumes_it() {
    let runtime = runtime(2);
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropGuard(drops.clone());
    let caught = runtime.block_on(async move {
        let group = TaskGroup::<()>::new();
        group
            .spawn(async move {
                let _guard = guard;
                std::future::pending::<Result<(), ()>>().await
            })
            .detach();
        group
            .spawn::<_, ()>(async {
                yield_now().await;
                panic!("child panicked")
            })
            .detach();
        let join = spawn(group.join());
        join.await.unwrap_err().is_panic()
    });
    assert!(caught, "the panic is resumed on the joiner");
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn dropping_the_group_cancels_its_children_on_every_worker() {
    const CHILDREN: usize = 32;
    let runtime = runtime(4);
    let drops = Arc::new(AtomicUsize::new(0));
    let polls = Arc::new(AtomicUsize::new(0));
    let counters = (drops.clone(), polls.clone());
    runtime.block_on(async move {
        let (drops, polls) = counters;
        let group = TaskGroup::<String>::new();
        let handle = group.handle();
        let tasks: Vec<_> = (0..CHILDREN)
            .map(|_| {
                let guard = DropGuard(drops.clone());
                let polls = polls.clone();
                group.spawn::<_, ()>(async move {
                    let _guard = guard;
                    loop {
                        polls.fetch_add(1, Ordering::SeqCst);
                        yield_now().await;
                    }
                })
            })
            .collect();
        drop(group);
        for task in tasks {
            assert!(task.await.unwrap_err().is_cancelled());
        }
        assert_eq!(drops.load(Ordering::SeqCst), CHILDREN);
        let polls_after_drop = polls.load(Ordering::SeqCst);
        yield_now().await;
        assert_eq!(polls.load(Ordering::SeqCst), polls_after_drop);
        let late = handle.spawn(async { Ok(()) });
        assert!(
            late.await.unwrap_err().is_cancelled(),
            "the handle is closed"
        );
    });
}

#[test]
fn spawn_local_children_stay_on_the_spawners_worker() {
    let runtime = runtime(4);
    let result = runtime.block_on(async {
        // A task on a worker, which pins a local task there, which runs the
        // group.
        spawn(spawn_local_on_a_worker(|| async {
            let group = TaskGroup::<String>::new();
            let home = thread::current().id();
            let count = Rc::new(Cell::new(0));
            let tasks: Vec<_> = (0..50)
                .map(|_| {
                    let count = count.clone();
                    group.spawn_local(async move {
                        for _ in 0..5 {
                            yield_now().await;
                            assert_eq!(thread::current().id(), home);
                        }
                        count.set(count.get() + 1);
                        Ok(())
                    })
                })
                .collect();
            group.join().await?;
            for task in tasks {
                task.await.unwrap();
            }
            Ok::<_, String>(count.get())
        }))
        .await
        .unwrap()
    });
    assert_eq!(result, Ok(50));
}

/// Runs the future `make` makes (which need not be `Send`) pinned to the
/// worker this is awaited on.
async fn spawn_local_on_a_worker<T: Send + 'static, F>(make: impl FnOnce() -> F + Send) -> T
where
    F: std::future::Future<Output = T> + 'static,
{
    spawn_local(make()).await.unwrap()
}
