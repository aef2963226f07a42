//! `gather` and `try_gather`: run many futures concurrently inside one task.
//!
//! # Implementation
//!
//! [`gather`] keeps its futures in one pinned slice and gives each its own
//! waker. A waker pushes its future's index onto a shared ready list and wakes
//! the gathering task; each poll of [`Gather`] polls only the futures on that
//! list. Every future is polled once at the start and then once per wake-up,
//! so gathering `n` futures costs O(n) polls in total, where polling all of
//! them on each wake-up (a naive `join_all`) costs O(n²). When the task runs
//! out of its cooperative budget, the rest of the woken futures wait for the
//! next poll rather than being polled only to give up at once.
//!
//! The macros [`gather!`](crate::gather!) and
//! [`try_gather!`](crate::try_gather!) take a fixed, small number of futures of
//! different types; they nest pairwise joins and poll each unfinished argument
//! on every wake-up, which for a handful of arguments is cheaper than the
//! bookkeeping above.

use std::future::{Future, IntoFuture};
use std::mem;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use corio_core::{coop, lock};

/// Runs every future of `futures` concurrently in the calling task and returns
/// their outputs in the order given (asyncio's `gather`).
///
/// Total work is O(n) for n futures: after the first poll, only futures that
/// were woken are polled again.
///
/// # Examples
///
/// ```
/// let squares = corio::run(async {
///     corio::gather((1..=4).map(|n| async move { n * n })).await
/// });
/// assert_eq!(squares, [1, 4, 9, 16]);
/// ```
pub fn gather<I>(futures: I) -> Gather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let slots: Vec<Slot<_>> = futures
        .into_iter()
        .map(|future| Slot::Pending {
            future: future.into_future(),
        })
        .collect();
    let len = slots.len();
    Gather {
        slots: Box::into_pin(slots.into_boxed_slice()),
        children: Vec::new(),
        batch: Vec::new(),
        cursor: 0,
        shared: Arc::new(Shared {
            ready: Mutex::new((0..len).collect()),
            parent: Mutex::new(None),
            parent_woken: AtomicBool::new(false),
        }),
        remaining: len,
    }
}

/// Like [`gather`] for futures that return `Result`: the first `Err` wins, and
/// every other future is dropped (cancelled) at once.
///
/// # Examples
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
///
/// type Job = Pin<Box<dyn Future<Output = Result<u32, String>>>>;
/// let result = corio::run(async {
///     let jobs: Vec<Job> = vec![
///         Box::pin(async { Ok(1) }),
///         Box::pin(async { Err("no".to_string()) }),
///         Box::pin(std::future::pending()),
///     ];
///     corio::try_gather(jobs).await
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

/// The future returned by [`gather`].
///
/// # Examples
///
/// ```
/// let gathered: corio::Gather<std::future::Ready<u8>> = corio::gather([std::future::ready(1)]);
/// assert_eq!(corio::run(gathered), [1]);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<F: Future> {
    slots: Pin<Box<[Slot<F>]>>,
    /// One waker per future, made on the first poll.
    children: Vec<(Arc<ChildWake>, Waker)>,
    /// The indices taken from the ready list, polled from `cursor` on; a
    /// poll that runs out of coop budget leaves the rest for the next one.
    batch: Vec<usize>,
    cursor: usize,
    shared: Arc<Shared>,
    remaining: usize,
}

/// The future returned by [`try_gather`].
///
/// # Examples
///
/// ```
/// let all_ok: Result<Vec<u8>, ()> = corio::run(corio::try_gather([std::future::ready(Ok(1))]));
/// assert_eq!(all_ok, Ok(vec![1]));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct TryGather<F: Future> {
    inner: Gather<F>,
}

pin_project_lite::pin_project! {
    #[project = SlotProj]
    #[project_replace = SlotReplace]
    enum Slot<F: Future> {
        Pending { #[pin] future: F },
        Done { output: F::Output },
        Taken,
    }
}

struct Shared {
    /// Indices of the futures woken since the last poll.
    ready: Mutex<Vec<usize>>,
    parent: Mutex<Option<Waker>>,
    /// Set by the first child wake after a poll of the gather: later wakes
    /// only queue their index, so a burst of wakes costs one parent wake-up.
    parent_woken: AtomicBool,
}

struct ChildWake {
    index: usize,
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for ChildWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        lock(&self.shared.ready).push(self.index);
        if self.shared.parent_woken.swap(true, Ordering::AcqRel) {
            return;
        }
        let parent = lock(&self.shared.parent).clone();
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

impl<F: Future> Gather<F> {
    /// Polls the woken futures; returns the index of the first one that
    /// completed with an output `is_error` accepts, if any.
    fn poll_woken(
        &mut self,
        cx: &mut Context<'_>,
        is_error: impl Fn(&F::Output) -> bool,
    ) -> Option<usize> {
        {
            let mut parent = lock(&self.shared.parent);
            if !parent.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *parent = Some(cx.waker().clone());
            }
        }
        // This poll consumes any pending wake-up: a child wake that lands
        // from here on queues its index and wakes the task again.
        self.shared.parent_woken.store(false, Ordering::Release);
        let mut took_ready_list = false;
        loop {
            if self.cursor == self.batch.len() {
                // Take the ready list at most once per poll, so that a future
                // that wakes itself while polled (a yield) is polled at most
                // once per poll of the gather.
                if took_ready_list {
                    return None;
                }
                took_ready_list = true;
                self.batch.clear();
                self.cursor = 0;
                mem::swap(&mut self.batch, &mut *lock(&self.shared.ready));
                if self.batch.is_empty() {
                    return None;
                }
                if self.children.is_empty() {
                    self.children = (0..self.slots.len())
                        .map(|index| {
                            let child = Arc::new(ChildWake {
                                index,
                                queued: AtomicBool::new(true),
                                shared: self.shared.clone(),
                            });
                            (child.clone(), Waker::from(child))
                        })
                        .collect();
                }
            }
            while self.cursor < self.batch.len() {
                if !coop::has_budget_remaining() {
                    // The task has used its budget: polling more futures now
                    // would only make each return `Pending` and queue itself
                    // again, which costs O(n) per poll and O(n²) in all. Keep
                    // the rest of the batch for the next poll instead.
                    cx.waker().wake_by_ref();
                    return None;
                }
                let index = self.batch[self.cursor];
                self.cursor += 1;
                let (child, waker) = &self.children[index];
                // Cleared before the poll, so that a wake during the poll
                // queues the future again.
                child.queued.store(false, Ordering::Release);
                let mut child_cx = Context::from_waker(waker);
                let mut slot = crate::pin_slice::get_mut(self.slots.as_mut(), index);
                let output = match slot.as_mut().project() {
                    SlotProj::Pending { future } => match future.poll(&mut child_cx) {
                        Poll::Ready(output) => output,
                        Poll::Pending => continue,
                    },
                    SlotProj::Done { .. } | SlotProj::Taken => continue,
                };
                let failed = is_error(&output);
                slot.set(Slot::Done { output });
                self.remaining -= 1;
                if failed {
                    return Some(index);
                }
            }
        }
    }

    fn take_outputs(&mut self) -> Vec<F::Output> {
        (0..self.slots.len())
            .map(|index| {
                let mut slot = crate::pin_slice::get_mut(self.slots.as_mut(), index);
                slot.as_mut()
                    .take_output()
                    .expect("every future of a finished gather is done")
            })
            .collect()
    }
}

impl<F: Future> Slot<F> {
    fn take_output(self: Pin<&mut Self>) -> Option<F::Output> {
        match self.project_replace(Slot::Taken) {
            SlotReplace::Done { output } => Some(output),
            SlotReplace::Pending { .. } | SlotReplace::Taken => None,
        }
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
            let mut slot = crate::pin_slice::get_mut(this.slots.as_mut(), index);
            let error = match slot.as_mut().take_output() {
                Some(Err(error)) => error,
                _ => unreachable!("poll_woken reported an error at this index"),
            };
            // Drop (cancel) every other future now, not when the gather is
            // dropped.
            for other in 0..this.slots.len() {
                crate::pin_slice::get_mut(this.slots.as_mut(), other).set(Slot::Taken);
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
