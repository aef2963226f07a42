//! Loom models of the promise: completing, polling and dropping awaiters
//! racing across threads. Run with `cargo xtask loom`; the model marked
//! `#[ignore]` is exhaustive and runs with `cargo xtask loom --full`.
//!
//! What each checks: no wake-up is lost (an awaiter registered before the
//! completion is woken, one registering after it sees the outcome at once),
//! exactly one completion wins, an awaiter dropped while the promise
//! completes is woken at most once and the promise still completes, and two
//! awaiters on two threads both get the outcome while a clone is dropped.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

use crate::{Promise, PromiseError};

/// A waker that counts its wakes.
struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counting_waker() -> (Waker, std::sync::Arc<CountWakes>) {
    let counter = std::sync::Arc::new(CountWakes(AtomicUsize::new(0)));
    (Waker::from(counter.clone()), counter)
}

fn poll<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

#[test]
fn loom_an_awaiter_on_another_thread_is_never_left_waiting() {
    loom::model(|| {
        let promise: Promise<u32> = Promise::new();
        let completer = promise.clone();
        let setter = thread::spawn(move || completer.set_result(7).unwrap());
        // `block_on` parks until the promise's waker is woken: a lost
        // wake-up is a deadlock, which loom reports.
        assert_eq!(loom::future::block_on(promise), Ok(7));
        setter.join().unwrap();
    });
}

#[test]
fn loom_an_awaiter_dropped_while_the_promise_completes_is_forgotten() {
    loom::model(|| {
        let promise: Promise<u32> = Promise::new();
        let (waker, wakes) = counting_waker();
        let mut awaiter = promise.clone();
        let polled = thread::spawn(move || {
            let first = poll(&mut awaiter, &waker);
            drop(awaiter);
            first
        });
        promise.set_result(3).unwrap();
        let first = polled.join().unwrap();
        // Ready only if the completion came first; otherwise pending, and
        // woken at most once (not at all if the drop came first).
        match first {
            Poll::Ready(outcome) => assert_eq!(outcome, Ok(3)),
            Poll::Pending => assert!(wakes.0.load(SeqCst) <= 1),
        }
        assert_eq!(promise.result(), Ok(3));
    });
}

#[test]
fn loom_exactly_one_of_two_racing_completions_wins() {
    loom::model(|| {
        let promise: Promise<u32> = Promise::new();
        let other = promise.clone();
        let canceller = thread::spawn(move || other.cancel());
        let set = promise.set_result(1).is_ok();
        let cancelled = canceller.join().unwrap();
        assert!(set ^ cancelled, "exactly one completion wins");
        let expected = if set {
            Ok(1)
        } else {
            Err(PromiseError::Cancelled)
        };
        assert_eq!(promise.result(), expected);
    });
}

#[test]
#[ignore = "exhaustive: cargo xtask loom --full"]
fn loom_two_awaiters_a_completer_and_a_dropped_clone() {
    loom::model(|| {
        let promise: Promise<u32> = Promise::new();
        let seen = Arc::new(AtomicUsize::new(0));
        let awaiters: Vec<_> = (0..2)
            .map(|_| {
                let (awaiter, seen) = (promise.clone(), seen.clone());
                thread::spawn(move || {
                    assert_eq!(loom::future::block_on(awaiter), Ok(5));
                    seen.fetch_add(1, SeqCst);
                })
            })
            .collect();
        let dropped = promise.clone();
        let completer = thread::spawn(move || {
            drop(dropped);
            promise.set_result(5).unwrap();
        });
        completer.join().unwrap();
        for awaiter in awaiters {
            awaiter.join().unwrap();
        }
        assert_eq!(seen.load(SeqCst), 2);
    });
}
