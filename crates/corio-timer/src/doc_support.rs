//! Support for the crate's documentation examples. Not part of the API.

use crate::{Clock, Timers};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Runs `future` to completion on a virtual clock, jumping the clock
/// whenever the future is pending.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let timers = Timers::new(Clock::manual());
    let _guard = timers.enter();
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        if timers.fire_due() == 0 {
            timers.advance_virtual();
        }
    }
}
