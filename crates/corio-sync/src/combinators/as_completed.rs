//! `as_completed`: the outputs of many futures, in the order they complete.
//!
//! # Implementation
//!
//! The futures live in one pinned slice, each with its own waker from a
//! [`ReadyList`](super::ready), as in `gather`: a poll of the stream polls
//! only the futures woken since they were last polled, so a wake-up costs O(1)
//! polls however many futures wait. A future is dropped as soon as its output
//! is handed out. A poll returns at the first output it finds and leaves the
//! rest of the woken futures for the next poll.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::pin_slice;
use super::ready::ReadyList;

/// Runs every future of `futures` concurrently in the calling task and yields
/// their outputs in the order they complete (asyncio's `as_completed`).
///
/// The returned [`AsCompleted`] is a [`Stream`]; its [`next`](AsCompleted::next)
/// method awaits one output without a stream extension trait. It works with
/// any futures, join handles of tasks included. Only the futures that were
/// woken are polled again, so the total work is O(n) for n futures.
///
/// # Examples
///
/// ```
/// use corio_sync::{as_completed, Event};
///
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// event_loop.run_until_complete(async {
///     let event = Event::new();
///     let slow = async { event.wait().await; "slow" };
///     let fast = async { event.set(); "fast" };
///     let (slow, fast) = (Box::pin(slow), Box::pin(fast));
///     let futures: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = &str>>>> =
///         vec![slow, fast];
///     let mut outputs = as_completed(futures);
///     assert_eq!(outputs.next().await, Some("fast"));
///     assert_eq!(outputs.next().await, Some("slow"));
///     assert_eq!(outputs.next().await, None);
/// });
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let slots = pin_slice::collect(futures.into_iter().map(|future| Some(future.into_future())));
    AsCompleted {
        ready: ReadyList::new(slots.len()),
        remaining: slots.len(),
        slots,
    }
}

/// The stream returned by [`as_completed`]: each future's output, in
/// completion order, then `None`.
///
/// # Examples
///
/// ```
/// use std::future::{ready, Ready};
///
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let mut outputs: corio_sync::AsCompleted<Ready<u8>> =
///     corio_sync::as_completed([ready(1), ready(2)]);
/// assert_eq!(outputs.len(), 2);
/// let first = event_loop.run_until_complete(outputs.next());
/// assert_eq!(first, Some(1));
/// assert_eq!(outputs.len(), 1);
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F> {
    /// Each future until it completes, then `None`.
    slots: Pin<Box<[Option<F>]>>,
    /// The futures woken since they were last polled, and their wakers.
    ready: ReadyList,
    remaining: usize,
}

impl<F: Future> AsCompleted<F> {
    /// Waits for the next future to complete and returns its output, or
    /// `None` once every output was returned. Dropping the returned future
    /// loses nothing: an output is taken only when it is returned.
    ///
    /// # Examples
    ///
    /// See [`as_completed`].
    // The name of `StreamExt::next` in the futures crates, with the same
    // meaning; an `Iterator` would block.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> impl Future<Output = Option<F::Output>> + '_ {
        std::future::poll_fn(move |cx| Pin::new(&mut *self).poll_next(cx))
    }

    /// Returns how many outputs are still to come.
    ///
    /// # Examples
    ///
    /// See [`AsCompleted`].
    pub fn len(&self) -> usize {
        self.remaining
    }

    /// Returns `true` once every output was returned.
    ///
    /// # Examples
    ///
    /// ```
    /// let outputs = corio_sync::as_completed(Vec::<std::future::Ready<()>>::new());
    /// assert!(outputs.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        // `AsCompleted` is `Unpin`: its futures live in their own pinned box.
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        this.ready.start_poll(cx);
        while let Some((index, waker)) = this.ready.next_woken(cx) {
            let mut child_cx = Context::from_waker(waker);
            let mut slot = pin_slice::get_mut(this.slots.as_mut(), index);
            let Some(future) = slot.as_mut().as_pin_mut() else {
                continue;
            };
            if let Poll::Ready(output) = future.poll(&mut child_cx) {
                slot.set(None);
                this.remaining -= 1;
                return Poll::Ready(Some(output));
            }
        }
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}
