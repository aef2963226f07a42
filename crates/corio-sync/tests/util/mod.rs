//! A manual poll harness: futures are polled by hand with wakers that count
//! their wake-ups, so a test decides every interleaving and cannot pass by
//! luck.

#![allow(dead_code, reason = "each test file uses part of the harness")]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use corio_test_support::{counting_waker, WakeCounter};

/// A hand-polled future with its own counting waker.
pub struct Polled<F> {
    pub future: F,
    pub counter: Arc<WakeCounter>,
    waker: Waker,
}

impl<F: Future + Unpin> Polled<F> {
    pub fn new(future: F) -> Polled<F> {
        let (waker, counter) = counting_waker();
        Polled {
            future,
            counter,
            waker,
        }
    }

    /// Polls once with this future's waker.
    pub fn poll(&mut self) -> Poll<F::Output> {
        let mut cx = Context::from_waker(&self.waker);
        Pin::new(&mut self.future).poll(&mut cx)
    }

    /// Polls once and insists on `Pending`.
    #[track_caller]
    pub fn pending(&mut self) {
        assert!(self.poll().is_pending(), "the future completed too early");
    }

    /// Polls once and insists on `Ready`.
    #[track_caller]
    pub fn ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("the future is still pending"),
        }
    }

    /// How often this future's waker has been woken.
    pub fn wakes(&self) -> usize {
        self.counter.count()
    }
}

/// Starts `future`: wraps it and polls it once, insisting on `Pending`.
#[track_caller]
pub fn waiting<F: Future + Unpin>(future: F) -> Polled<F> {
    let mut polled = Polled::new(future);
    polled.pending();
    polled
}

/// Polls `future` to completion on the current thread with a counting waker
/// (for code that never waits on another task).
#[track_caller]
pub fn now<F: Future + Unpin>(future: F) -> F::Output {
    Polled::new(future).ready()
}
