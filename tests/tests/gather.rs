//! `gather` and `try_gather`: results in order, O(n) polls, cancellation.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use corio::Promise;
use corio_test_support::DropCounter;

/// Counts how often the wrapped future is polled.
struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: Rc<Cell<u64>>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.inner.as_mut().poll(cx)
    }
}

/// Gathers `n` futures that each wait for their own promise; another task
/// completes the promises a hundred at a time, yielding in between. Returns
/// the total number of polls of the gathered futures.
fn polls_to_gather(n: usize) -> u64 {
    corio::run(async move {
        let promises: Vec<Promise<usize>> = (0..n).map(|_| Promise::new()).collect();
        let polls = Rc::new(Cell::new(0));
        let futures: Vec<_> = promises
            .iter()
            .map(|promise| CountPolls {
                inner: Box::pin(promise.clone()),
                polls: polls.clone(),
            })
            .collect();
        let completer = corio::spawn_local(async move {
            for (i, promise) in promises.iter().enumerate() {
                promise.set_result(i).unwrap();
                if i % 100 == 99 {
                    corio::yield_now().await;
                }
            }
        });
        let results = corio::gather(futures).await;
        completer.await.unwrap();
        assert!(results
            .iter()
            .enumerate()
            .all(|(i, result)| *result.as_ref().unwrap() == i));
        polls.get()
    })
}

#[test]
fn gather_polls_only_woken_futures_so_total_work_is_linear() {
    let small = polls_to_gather(20_000);
    let large = polls_to_gather(200_000);
    // Each future is polled once to register and once after its promise
    // completes (plus at most one more per budget exhaustion). Ten times the
    // futures must cost ten times the polls, not a hundred times.
    assert!(small >= 40_000, "{small}");
    assert!(
        large <= small * 11,
        "20k futures: {small} polls; 200k futures: {large} polls"
    );
}

/// Gathers `n` futures that are all ready at once (completed promises, which
/// spend the task's coop budget) and returns how often they were polled.
fn polls_to_gather_ready(n: usize) -> u64 {
    corio::run(async move {
        let polls = Rc::new(Cell::new(0));
        let futures: Vec<_> = (0..n)
            .map(|i| {
                let promise = Promise::new();
                promise.set_result(i).unwrap();
                CountPolls {
                    inner: Box::pin(promise),
                    polls: polls.clone(),
                }
            })
            .collect();
        let results = corio::gather(futures).await;
        assert_eq!(results.len(), n);
        polls.get()
    })
}

#[test]
fn gather_of_ready_futures_polls_each_once_despite_the_coop_budget() {
    // The budget lets 128 leaf operations complete per poll of the task; the
    // futures beyond it must wait for the next poll, not be polled only to
    // give up and queue themselves again (which made this O(n²)).
    assert_eq!(polls_to_gather_ready(20_000), 20_000);
    assert_eq!(polls_to_gather_ready(200_000), 200_000);
}

#[test]
fn gather_returns_results_in_argument_order() {
    let results = corio::run(async {
        corio::gather((0..10u64).map(|i| async move {
            corio::sleep(Duration::from_millis(10 - i)).await;
            i
        }))
        .await
    });
    assert_eq!(results, (0..10).collect::<Vec<_>>());
}

#[test]
fn gather_of_nothing_is_empty() {
    let results: Vec<u8> = corio::run(corio::gather(Vec::<std::future::Ready<u8>>::new()));
    assert!(results.is_empty());
}

#[test]
fn gather_macro_runs_futures_concurrently_and_keeps_order() {
    let (a, b, c) = corio::run(async {
        corio::gather!(
            async {
                corio::sleep(Duration::from_millis(20)).await;
                "a"
            },
            async { 2 },
            async {
                corio::yield_now().await;
                3.0
            },
        )
        .await
    });
    assert_eq!((a, b, c), ("a", 2, 3.0));
}

#[test]
fn try_gather_returns_the_first_error_and_drops_the_rest_at_once() {
    let drops = DropCounter::new();
    let counter = drops.clone();
    let (result, dropped_when_returned) = corio::run(async move {
        let pending_forever = {
            let guard = counter.token();
            Box::pin(async move {
                let _guard = guard;
                std::future::pending::<Result<u32, String>>().await
            }) as Pin<Box<dyn Future<Output = Result<u32, String>>>>
        };
        let failing = Box::pin(async {
            corio::sleep(Duration::from_millis(5)).await;
            Err("failed".to_string())
        }) as Pin<Box<dyn Future<Output = Result<u32, String>>>>;
        let result = corio::try_gather(vec![pending_forever, failing]).await;
        (result, counter.count())
    });
    assert_eq!(result, Err("failed".to_string()));
    assert_eq!(dropped_when_returned, 1);
    assert_eq!(drops.count(), 1);
}

#[test]
fn try_gather_collects_every_ok() {
    let result: Result<Vec<u32>, String> = corio::run(corio::try_gather(
        (1..=3).map(|i| async move { Ok::<u32, String>(i) }),
    ));
    assert_eq!(result, Ok(vec![1, 2, 3]));
}

#[test]
fn try_gather_macro_first_error_wins() {
    let result: Result<(u8, &str), &str> = corio::run(async {
        corio::try_gather!(
            async {
                corio::sleep(Duration::from_millis(50)).await;
                Ok(1)
            },
            async { Err("early") },
        )
        .await
    });
    assert_eq!(result, Err("early"));
    let ok: Result<(u8, &str), &str> =
        corio::run(async { corio::try_gather!(async { Ok(1) }, async { Ok("x") }).await });
    assert_eq!(ok, Ok((1, "x")));
}

/// Regression: when the coop budget ran out in the middle of a batch, the
/// next poll finished the batch without looking at the futures woken
/// meanwhile, whose wake-up had already been spent, and the gather hung.
#[test]
fn gather_of_many_sleeps_finishes_across_budget_exhaustion() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outputs = corio::run(corio::gather((0..20_000u64).map(|i| async move {
            corio::sleep(Duration::from_millis(1 + i % 3)).await;
            i
        })));
        done.send(outputs).unwrap();
    });
    let outputs = finished
        .recv_timeout(Duration::from_secs(120))
        .expect("the gather of 20,000 sleeps hung");
    assert_eq!(outputs, (0..20_000).collect::<Vec<_>>());
}
