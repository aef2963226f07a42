//! A park loop for the crate's unit tests: no executor exists
//! below the reactor, so tests drive it by hand.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

use corio_core::{Driver, IoContextGuard};
use corio_test_support::noop_waker;

use crate::Reactor;

/// Calls `poll` once with a context whose waker does nothing.
pub(crate) fn poll_once<T>(poll: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> Poll<T> {
    poll(&mut Context::from_waker(&noop_waker()))
}

/// Calls `poll` with a context, parking `reactor` between calls, until it
/// is ready. The waker does nothing: the loop polls after every park.
pub(crate) fn park_until<T>(
    reactor: &mut Reactor,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
) -> T {
    let waker = noop_waker();
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
