//! `gather` and `try_gather`: run many futures concurrently inside one task.
//!
//! # Implementation
//!
//! [`gather()`] keeps its futures in one pinned slice and gives each its own
//! waker ([`ReadyList`](super::ready)): a waker pushes its future's index onto
//! a shared ready list and wakes the gathering task, and each poll of
//! [`Gather`] polls only the futures on that list. Every future is polled once
//! at the start and then once per wake-up, so gathering `n` futures costs O(n)
//! polls in total, where polling all of them on each wake-up (a naive
//! `join_all`) costs O(n²). When the task runs out of its cooperative budget,
//! the rest of the woken futures wait for the next poll rather than being
//! polled only to give up at once.
//!
//! The macros [`gather!`](crate::gather!) and
//! [`try_gather!`](crate::try_gather!) take a fixed, small number of futures of
//! different types; they nest pairwise joins (`join.rs`) and poll each
//! unfinished argument on every wake-up, which for a handful of arguments is
//! cheaper than the bookkeeping above.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::maybe_done::MaybeDone;
use super::pin_slice;
use super::ready::ReadyList;

/// Runs every future of `futures` concurrently in the calling task and returns
/// their outputs in the order given (asyncio's `gather`).
///
/// Total work is O(n) for n futures: after the first poll, only futures that
/// were woken are polled again.
///
/// # Examples
///
/// ```
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let squares = event_loop.run_until_complete(async {
///     corio_sync::gather((1..=4).map(|n| async move { n * n })).await
/// });
/// assert_eq!(squares, [1, 4, 9, 16]);
/// ```
pub fn gather<I>(futures: I) -> Gather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let slots = pin_slice::collect(
        futures
            .into_iter()
            .map(|future| MaybeDone::new(future.into_future())),
    );
    Gather {
        ready: ReadyList::new(slots.len()),
        remaining: slots.len(),
        slots,
    }
}

/// Like [`gather()`] for futures that return `Result`: the first `Err` wins, and
/// every other future is dropped (cancelled) at once.
///
/// # Examples
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
///
/// type Job = Pin<Box<dyn Future<Output = Result<u32, String>>>>;
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let result = event_loop.run_until_complete(async {
///     let jobs: Vec<Job> = vec![
///         Box::pin(async { Ok(1) }),
///         Box::pin(async { Err("no".to_string()) }),
///         Box::pin(std::future::pending()),
///     ];
///     corio_sync::try_gather(jobs).await
/// });
/// assert_eq!(result, Err("no".to_string()));
/// ```
pub fn try_gather<I, T, E>(futures: I) -> TryGather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    TryGather {
        inner: gather(futures),
    }
}

/// The future returned by [`gather()`].
///
/// # Examples
///
/// ```
/// let gathered: corio_sync::Gather<std::future::Ready<u8>> =
///     corio_sync::gather([std::future::ready(1)]);
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// assert_eq!(event_loop.run_until_complete(gathered), [1]);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<F: Future> {
    slots: Pin<Box<[MaybeDone<F>]>>,
    /// The futures woken since they were last polled, and their wakers.
    ready: ReadyList,
    remaining: usize,
}

/// The future returned by [`try_gather()`].
///
/// # Examples
///
/// ```
/// let mut event_loop = corio_executor::EventLoop::new().unwrap();
/// let all_ok: Result<Vec<u8>, ()> =
///     event_loop.run_until_complete(corio_sync::try_gather([std::future::ready(Ok(1))]));
/// assert_eq!(all_ok, Ok(vec![1]));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct TryGather<F: Future> {
    inner: Gather<F>,
}

impl<F: Future> Gather<F> {
    /// Polls the woken futures; returns the index of the first one that
    /// completed with an output `is_error` accepts, if any.
    fn poll_woken(
        &mut self,
        cx: &mut Context<'_>,
        is_error: impl Fn(&F::Output) -> bool,
    ) -> Option<usize> {
        self.ready.start_poll(cx);
        while let Some((index, waker)) = self.ready.next_woken(cx) {
            let mut child_cx = Context::from_waker(waker);
            let mut slot = pin_slice::get_mut(self.slots.as_mut(), index);
            // A late wake of a finished future finds nothing to do.
            if !slot.is_pending() || slot.as_mut().poll_done(&mut child_cx).is_pending() {
                continue;
            }
            let failed = slot
                .as_mut()
                .output()
                .is_some_and(|output| is_error(output));
            self.remaining -= 1;
            if failed {
                return Some(index);
            }
        }
        None
    }

    fn take_outputs(&mut self) -> Vec<F::Output> {
        (0..self.slots.len())
            .map(|index| pin_slice::get_mut(self.slots.as_mut(), index).take())
            .collect()
    }
}

impl<F: Future> Future for Gather<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        // `Gather` is `Unpin`: its futures live in their own pinned box.
        let this = self.get_mut();
        this.poll_woken(cx, |_| false);
        if this.remaining == 0 {
            Poll::Ready(this.take_outputs())
        } else {
            Poll::Pending
        }
    }
}

impl<F, T, E> Future for TryGather<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Vec<T>, E>> {
        let this = &mut self.get_mut().inner;
        if let Some(index) = this.poll_woken(cx, Result::is_err) {
            let slot = pin_slice::get_mut(this.slots.as_mut(), index);
            let Err(error) = slot.take() else {
                unreachable!("poll_woken reported an error at this index")
            };
            // Drop (cancel) every other future now, not when the gather is
            // dropped.
            for other in 0..this.slots.len() {
                pin_slice::get_mut(this.slots.as_mut(), other).set(MaybeDone::Taken);
            }
            this.remaining = 0;
            return Poll::Ready(Err(error));
        }
        if this.remaining == 0 {
            let outputs = this.take_outputs();
            return Poll::Ready(outputs.into_iter().collect());
        }
        Poll::Pending
    }
}
