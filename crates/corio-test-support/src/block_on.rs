//! Driving a future on the calling thread, without any runtime.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Polls `future` on this thread until it is ready, parking the thread while
/// it is pending; its waker unparks the thread, from any thread.
///
/// No runtime runs meanwhile: the future must be woken by another thread or
/// by its own poll (a future waiting on a loop's timer or socket never
/// completes here).
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
/// use std::task::Poll;
///
/// let mut woken_from_another_thread = false;
/// let output = corio_test_support::block_on(poll_fn(|cx| {
///     if woken_from_another_thread {
///         return Poll::Ready(7);
///     }
///     woken_from_another_thread = true;
///     let waker = cx.waker().clone();
///     std::thread::spawn(move || waker.wake());
///     Poll::Pending
/// }));
/// assert_eq!(output, 7);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

/// Wakes a thread parked in [`block_on`].
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` once with `waker`.
///
/// # Examples
///
/// ```
/// use std::future::{pending, ready};
/// use std::task::Poll;
///
/// let waker = corio_test_support::noop_waker();
/// assert_eq!(corio_test_support::poll_once(&mut ready(3), &waker), Poll::Ready(3));
/// let mut never = Box::pin(pending::<()>());
/// assert!(corio_test_support::poll_once(&mut never, &waker).is_pending());
/// ```
pub fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}
