//! Wakers and a park loop for the crate's unit tests: no executor exists
//! below the reactor, so tests drive it by hand.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use corio_core::{Driver, IoContextGuard};

use crate::Reactor;

struct CountWakes(Arc<AtomicUsize>);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Returns a waker and the number of times it has been woken.
pub(crate) fn counting_waker() -> (Arc<AtomicUsize>, Waker) {
    let count = Arc::new(AtomicUsize::new(0));
    (count.clone(), Waker::from(Arc::new(CountWakes(count))))
}

/// Calls `poll` once with a context whose waker does nothing.
pub(crate) fn poll_once<T>(poll: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> Poll<T> {
    let (_, waker) = counting_waker();
    poll(&mut Context::from_waker(&waker))
}

/// Calls `poll` with a context, parking `reactor` between calls, until it
/// is ready. The waker does nothing: the loop polls after every park.
pub(crate) fn park_until<T>(
    reactor: &mut Reactor,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
) -> T {
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = poll(&mut cx) {
            return value;
        }
        reactor.park(None).unwrap();
    }
}

/// Runs `future` to completion on `reactor`.
pub(crate) fn block_on<F: Future>(reactor: &mut Reactor, future: F) -> F::Output {
    let mut future = pin!(future);
    park_until(reactor, |cx| future.as_mut().poll(cx))
}

/// A new reactor, entered as the thread's IO context until the guard drops,
/// so that sockets created meanwhile register with it.
pub(crate) fn entered_reactor() -> (Reactor, IoContextGuard) {
    let reactor = Reactor::new().unwrap();
    let guard = corio_core::enter_io_context(reactor.io_context());
    (reactor, guard)
}
