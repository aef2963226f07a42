//! `as_completed` yields every output exactly once, in the order the futures
//! were woken, whatever that order and however the wake-ups are batched.

use std::time::Duration;

use corio::Promise;
use proptest::prelude::*;

proptest! {
    #[test]
    fn prop_as_completed_yields_each_output_once_in_wake_order(
        count in 0usize..400,
        seed in any::<u64>(),
        batch in 1usize..100,
    ) {
        let runtime = corio::Runtime::builder()
            .current_thread()
            .virtual_time(true)
            .build()
            .unwrap();
        let order = corio_test_support::shuffled(count, seed);
        let expected = order.clone();
        let yielded = runtime.block_on(async move {
            let promises: Vec<Promise<usize>> = (0..count).map(|_| Promise::new()).collect();
            let futures: Vec<_> = promises
                .iter()
                .map(|promise| {
                    let promise = promise.clone();
                    async move { promise.await.unwrap() }
                })
                .collect();
            let mut outputs = corio::as_completed(futures);
            // The consumer runs first: every future has been polled once and
            // waits for its promise before the completer sets any.
            let completer = corio::spawn_local(async move {
                for (n, index) in order.into_iter().enumerate() {
                    promises[index].set_result(index).unwrap();
                    if n % batch == batch - 1 {
                        corio::yield_now().await;
                    }
                }
            });
            let mut yielded = Vec::new();
            // A lost wake-up leaves the loop idle: with virtual time the
            // timeout then fires at once instead of the test hanging.
            while let Ok(Some(output)) =
                corio::time::timeout(Duration::from_secs(3600), outputs.next()).await
            {
                yielded.push(output);
            }
            completer.await.unwrap();
            yielded
        });
        prop_assert_eq!(yielded, expected);
    }
}
