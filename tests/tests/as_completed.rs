//! `as_completed` on corio's loop with a virtual clock: outputs in completion
//! order, over plain futures and over task handles, each when it completes.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use corio::time::Instant;

type Sleeper = Pin<Box<dyn Future<Output = u64>>>;

/// A future that sleeps `millis` and returns them.
fn sleeper(millis: u64) -> Sleeper {
    Box::pin(async move {
        corio::sleep(Duration::from_millis(millis)).await;
        millis
    })
}

/// Drains `outputs`, recording each output with the virtual milliseconds
/// at which it came.
async fn drain<F: Future<Output = T>, T>(mut outputs: corio::AsCompleted<F>) -> Vec<(T, u64)> {
    let start = Instant::now();
    let mut seen = Vec::new();
    while let Some(output) = outputs.next().await {
        let at = Instant::now().duration_since(start).as_millis() as u64;
        seen.push((output, at));
    }
    seen
}

#[corio::test(virtual_time)]
async fn as_completed_yields_each_output_when_its_future_completes() {
    let futures: Vec<Sleeper> = [30, 10, 20, 10].into_iter().map(sleeper).collect();
    let outputs = corio::as_completed(futures);
    assert_eq!(outputs.len(), 4);
    assert_eq!(
        drain(outputs).await,
        [(10, 10), (10, 10), (20, 20), (30, 30)]
    );
}

#[corio::test(virtual_time)]
async fn as_completed_works_over_task_handles() {
    let tasks: Vec<_> = [3, 1, 2]
        .into_iter()
        .map(|seconds| {
            corio::spawn(async move {
                corio::sleep(Duration::from_secs(seconds)).await;
                seconds
            })
        })
        .collect();
    let outputs: Vec<_> = drain(corio::as_completed(tasks))
        .await
        .into_iter()
        .map(|(output, at)| (output.unwrap(), at / 1000))
        .collect();
    assert_eq!(outputs, [(1, 1), (2, 2), (3, 3)]);
}

#[corio::test]
async fn as_completed_of_nothing_ends_at_once() {
    let mut outputs = corio::as_completed(Vec::<Sleeper>::new());
    assert!(outputs.is_empty());
    assert_eq!(outputs.next().await, None);
}

#[corio::test(virtual_time)]
async fn dropping_the_stream_drops_the_futures_it_still_holds() {
    let drops = corio_test_support::DropCounter::new();
    let futures: Vec<_> = [1, 2, 3]
        .into_iter()
        .map(|millis| {
            let counter = drops.token();
            Box::pin(async move {
                let _counter = counter;
                corio::sleep(Duration::from_millis(millis)).await;
                millis
            })
        })
        .collect();
    let mut outputs = corio::as_completed(futures);
    assert_eq!(outputs.next().await, Some(1));
    assert_eq!(drops.count(), 1);
    drop(outputs);
    assert_eq!(drops.count(), 3);
}
