//! The tiny timer executor and the logging waker shared by the integration
//! tests; the common wakers come from corio-test-support.

#![allow(dead_code)]

use corio_timer::{Clock, Timers};
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A waker that records `id` in a shared log when woken.
pub struct LogWaker {
    pub id: usize,
    pub log: Arc<Mutex<Vec<usize>>>,
}

impl Wake for LogWaker {
    fn wake(self: Arc<Self>) {
        self.log.lock().unwrap().push(self.id);
    }
}

pub fn log_waker(id: usize, log: &Arc<Mutex<Vec<usize>>>) -> Waker {
    Waker::from(Arc::new(LogWaker {
        id,
        log: log.clone(),
    }))
}

/// What a `block_on` run observed.
#[derive(Debug)]
pub struct Run<T> {
    pub output: T,
    /// How many times the future was polled.
    pub polls: usize,
}

/// Runs `future` with `timers` entered: poll; when pending, fire due timers,
/// else jump virtual time, else park for the park timeout.
///
/// # Panics
///
/// Panics when the future is pending with no timer and no wake-up: it would
/// hang forever.
pub fn block_on<F: Future>(timers: &Timers, future: F) -> Run<F::Output> {
    let _guard = timers.enter();
    let (waker, wakes) = corio_test_support::counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let mut polls = 0;
    loop {
        let wakes_before = wakes.count();
        polls += 1;
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Run { output, polls };
        }
        if wakes.count() > wakes_before || timers.fire_due() > 0 {
            continue;
        }
        if timers.clock().is_virtual() {
            assert!(timers.advance_virtual(), "pending with no timer: deadlock");
            continue;
        }
        let park = timers
            .park_timeout()
            .expect("pending with no timer: deadlock");
        std::thread::sleep(park);
    }
}

pub fn virtual_timers() -> Timers {
    Timers::new(Clock::manual())
}

pub fn real_timers() -> Timers {
    Timers::new(Clock::real())
}
