//! `gather` finishes, with every result in order, whatever the order in which
//! its futures are woken and however often the coop budget runs out.

use std::time::Duration;

use corio::Promise;
use proptest::prelude::*;

/// What one gathered future does.
#[derive(Clone, Debug)]
enum Child {
    /// Awaits its promise (a coop leaf), which the completer sets later.
    Promise,
    /// Awaits a promise that is already complete.
    Ready,
    /// Yields this many times, then returns.
    Yields(u8),
}

fn child() -> impl Strategy<Value = Child> {
    prop_oneof![
        4 => Just(Child::Promise),
        2 => Just(Child::Ready),
        1 => (0u8..4).prop_map(Child::Yields),
    ]
}

proptest! {
    #[test]
    fn prop_gather_finishes_whatever_the_wake_order(
        children in prop::collection::vec(child(), 0..600),
        completion_order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
        batch in 1usize..300,
    ) {
        let runtime = corio::Runtime::builder()
            .current_thread()
            .virtual_time(true)
            .build()
            .unwrap();
        let count = children.len();
        let result = runtime.block_on(async move {
            let promises: Vec<Promise<usize>> = (0..count).map(|_| Promise::new()).collect();
            let futures: Vec<_> = children
                .iter()
                .enumerate()
                .map(|(index, child)| {
                    let promise = promises[index].clone();
                    let child = child.clone();
                    Box::pin(async move {
                        match child {
                            Child::Promise => promise.await.unwrap(),
                            Child::Ready => {
                                let ready = Promise::new();
                                ready.set_result(index).unwrap();
                                ready.await.unwrap()
                            }
                            Child::Yields(times) => {
                                for _ in 0..times {
                                    corio::yield_now().await;
                                }
                                index
                            }
                        }
                    }) as std::pin::Pin<Box<dyn std::future::Future<Output = usize>>>
                })
                .collect();
            // Complete the promises in a shuffled order, `batch` at a time,
            // yielding between batches.
            let order = corio_test_support::shuffled(count, completion_order);
            let completer = corio::spawn_local(async move {
                for (n, index) in order.into_iter().enumerate() {
                    // Children that never await their promise ignore it.
                    let _ = promises[index].set_result(index);
                    if n % batch == batch - 1 {
                        corio::yield_now().await;
                    }
                }
            });
            // A lost wake-up leaves the loop idle: with virtual time the
            // timeout then fires at once instead of the test hanging.
            let gathered = corio::time::timeout(Duration::from_secs(3600), corio::gather(futures)).await;
            completer.await.unwrap();
            gathered
        });
        let outputs = result.map_err(|_| TestCaseError::fail("gather lost a wake-up and never finished"))?;
        prop_assert_eq!(outputs, (0..count).collect::<Vec<_>>());
    }
}
