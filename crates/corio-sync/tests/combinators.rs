//! The combinators need nothing but wakers: `as_completed` over smol's
//! timers, collected with futures-lite's stream combinators on smol's
//! executor, and `gather` and `wait` on tokio's multi-thread runtime, over
//! corio-core tasks that tokio's workers run.

#![cfg(not(loom))]

use std::sync::Arc;
use std::time::Duration;

use corio_core::{Runnable, Task, TaskMeta};
use corio_sync::{as_completed, gather, wait, Event, ReturnWhen};
use smol::stream::StreamExt;

#[test]
fn as_completed_runs_on_smol_and_composes_with_futures_lite() {
    let outputs: Vec<u64> = smol::block_on(async {
        let timers = [40, 10, 30, 20].map(|millis| async move {
            smol::Timer::after(Duration::from_millis(millis)).await;
            millis
        });
        as_completed(timers)
            .map(|millis| millis / 10)
            .collect()
            .await
    });
    assert_eq!(outputs, [1, 2, 3, 4]);
}

/// Spawns `future` as a corio-core task whose every run is a tokio task.
fn spawn_on_tokio<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> Task<T> {
    let handle = handle.clone();
    let schedule = move |runnable: Runnable| {
        handle.spawn(async move {
            runnable.run();
        });
    };
    let (runnable, task) = corio_core::spawn(
        future,
        schedule,
        TaskMeta::new(std::panic::Location::caller()),
    );
    runnable.run();
    task
}

#[test]
fn wait_and_gather_run_on_tokio_over_tasks_that_tokio_runs() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let handle = runtime.handle().clone();
    runtime.block_on(async move {
        let (go, panic_now) = (Arc::new(Event::new()), Arc::new(Event::new()));
        let mut tasks = Vec::new();
        for index in 0..4 {
            let (go, panic_now) = (go.clone(), panic_now.clone());
            tasks.push(spawn_on_tokio(&handle, async move {
                if index == 3 {
                    panic_now.wait().await;
                    panic!("task 3 fails");
                }
                go.wait().await;
                index
            }));
        }
        let waiting = tokio::spawn(wait(tasks, ReturnWhen::FirstException));
        panic_now.set();
        let (done, pending) = waiting.await.unwrap();
        assert_eq!(done.len(), 1);
        assert!(done[0].is_panicked());
        assert_eq!(
            pending.len(),
            3,
            "nothing else finished, nothing was cancelled"
        );
        go.set();
        let outputs = gather(pending).await;
        let outputs: Vec<usize> = outputs.into_iter().map(Result::unwrap).collect();
        assert_eq!(outputs, [0, 1, 2]);
    });
}
