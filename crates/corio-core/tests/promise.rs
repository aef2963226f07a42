//! Public behaviour of `Promise`: one-shot completion, awaiting, callbacks.

mod util;

use std::future::IntoFuture;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;

use corio_core::{InvalidStateError, Promise, PromiseError};
use corio_test_support::{block_on, counting_waker, poll_once};
use util::{exhaust_budget, Executor};

#[derive(Debug, thiserror::Error)]
#[error("it broke")]
struct Broke;

#[test]
fn promises_are_send_sync_clone_and_unpin() {
    fn check<T: Send + Sync + Clone + Unpin>() {}
    check::<Promise<u32>>();
    check::<PromiseError>();
    fn send_sync<T: Send + Sync>() {}
    send_sync::<InvalidStateError>();
}

#[test]
fn the_first_completion_wins_and_later_ones_change_nothing() {
    let promise = Promise::new();
    assert_eq!(promise.result(), Err(PromiseError::InvalidState));
    assert!(matches!(
        promise.exception(),
        Err(PromiseError::InvalidState)
    ));
    promise.set_result(1).unwrap();
    assert_eq!(promise.set_result(2), Err(InvalidStateError));
    assert_eq!(promise.set_exception(Broke), Err(InvalidStateError));
    assert!(!promise.cancel());
    assert_eq!(promise.result(), Ok(1));
    assert!(promise.exception().unwrap().is_none());
    assert!(promise.is_done() && !promise.is_cancelled());
}

#[test]
fn exceptions_and_cancellation_are_reported_like_asyncio() {
    let failed: Promise<u8> = Promise::new();
    failed.set_exception(Broke).unwrap();
    let Err(PromiseError::Exception(error)) = failed.result() else {
        panic!("expected the exception");
    };
    assert_eq!(error.to_string(), "it broke");
    assert_eq!(
        PromiseError::Exception(error).to_string(),
        "the promise failed: it broke"
    );
    assert_eq!(failed.exception().unwrap().unwrap().to_string(), "it broke");

    let cancelled: Promise<u8> = Promise::new();
    assert!(cancelled.cancel());
    assert!(cancelled.is_cancelled());
    assert_eq!(cancelled.result(), Err(PromiseError::Cancelled));
    assert!(matches!(
        cancelled.exception(),
        Err(PromiseError::Cancelled)
    ));
    assert_eq!(
        PromiseError::InvalidState.to_string(),
        "invalid state: the promise is not done yet"
    );
}

#[test]
fn many_tasks_await_one_promise() {
    let executor = Executor::new();
    let promise = Promise::new();
    let waiters: Vec<_> = (0..5)
        .map(|i| {
            let promise = promise.clone();
            executor.spawn(async move {
                if i % 2 == 0 {
                    promise.await
                } else {
                    (&promise).await
                }
            })
        })
        .collect();
    executor.run_all();
    assert!(waiters.iter().all(|task| !task.is_done()));
    thread::scope(|scope| {
        scope.spawn(|| promise.set_result(String::from("hi")).unwrap());
    });
    executor.run_all();
    for task in waiters {
        assert_eq!(block_on(task).unwrap(), Ok(String::from("hi")));
    }
}

#[test]
fn a_dropped_awaiter_removes_its_waker() {
    let promise: Promise<u8> = Promise::new();
    let (waker, wakes) = counting_waker();
    let mut wait = (&promise).into_future();
    assert!(poll_once(&mut wait, &waker).is_pending());
    drop(wait);
    let mut handle = promise.clone();
    let (other, other_wakes) = counting_waker();
    assert!(poll_once(&mut handle, &other).is_pending());
    promise.set_result(3).unwrap();
    assert_eq!(wakes.count(), 0);
    assert_eq!(other_wakes.count(), 1);
    assert_eq!(poll_once(&mut handle, &other), Poll::Ready(Ok(3)));
    // The dropped awaiter's waker was released, not leaked.
    drop(waker);
    assert_eq!(Arc::strong_count(&wakes), 1);
}

#[test]
fn done_callbacks_run_once_in_order_and_at_once_when_done() {
    let promise = Promise::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    for i in 0..3 {
        let log = log.clone();
        promise.add_done_callback(move |p: &Promise<u8>| {
            log.lock().unwrap().push((i, p.result()));
        });
    }
    let removed = promise.add_done_callback(|_| panic!("removed callbacks never run"));
    assert!(promise.remove_done_callback(removed));
    assert!(!promise.remove_done_callback(removed));
    promise.set_result(8).unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        vec![(0, Ok(8)), (1, Ok(8)), (2, Ok(8))]
    );
    let late = Arc::new(AtomicUsize::new(0));
    let seen = late.clone();
    promise.add_done_callback(move |_| {
        seen.fetch_add(1, SeqCst);
    });
    assert_eq!(late.load(SeqCst), 1);
}

#[test]
fn a_callback_may_use_the_promise_and_a_panicking_one_does_not_stop_the_rest() {
    let promise: Promise<u8> = Promise::new();
    let ran = Arc::new(AtomicUsize::new(0));
    promise.add_done_callback(|p| {
        // Runs outside the lock: touching the promise does not deadlock.
        assert!(p.is_done());
        panic!("callback panicked");
    });
    let counter = ran.clone();
    promise.add_done_callback(move |p| {
        p.add_done_callback(|_| {});
        counter.fetch_add(1, SeqCst);
    });
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| promise.set_result(1)));
    assert!(outcome.is_err(), "the callback's panic is resumed");
    assert_eq!(ran.load(SeqCst), 1);
    assert_eq!(promise.result(), Ok(1));
}

#[test]
fn awaiting_is_a_coop_leaf() {
    let promise = Promise::new();
    promise.set_result(1).unwrap();
    let (waker, wakes) = counting_waker();
    corio_core::coop::with_budget(|| {
        exhaust_budget(&waker);
        let mut handle = promise.clone();
        assert!(poll_once(&mut handle, &waker).is_pending());
        assert_eq!(wakes.count(), 1);
    });
}
