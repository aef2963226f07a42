//! [`Promise`]: asyncio's `Future`, a one-shot result that someone else
//! provides.
//!
//! # Implementation
//!
//! All clones share one `Arc` holding a `Mutex` over the outcome, a slab of
//! awaiters' wakers (each awaiting handle remembers its slot, overwrites it
//! when re-polled with another waker, and empties it when dropped), and the
//! done callbacks. Completing swaps in the outcome and takes the wakers and
//! callbacks under the lock, then wakes and calls them after releasing it, so
//! a callback may use the promise freely.
//!
//! The mutex comes from the crate's `loom` module: under `--cfg loom` the
//! models in `loom_promise.rs` explore every interleaving of completing,
//! polling and dropping across threads.

use std::error::Error;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::coop;
use crate::loom::{Mutex, MutexGuard};

/// A one-shot, cloneable, thread-safe slot for a result that someone else
/// will provide: asyncio's `Future` (`loop.create_future()`).
///
/// Clones share one state. The first of [`set_result`](Promise::set_result),
/// [`set_exception`](Promise::set_exception) and [`cancel`](Promise::cancel)
/// completes the promise; later ones fail and change nothing. Any number of
/// tasks may await it (or a reference to it) at once; each gets the outcome
/// as a `Result<T, PromiseError>`. Awaiting is a [coop](crate::coop) leaf.
///
/// # Examples
///
/// ```
/// use corio_core::{Promise, PromiseError};
///
/// let promise = Promise::new();
/// let producer = promise.clone();
/// std::thread::spawn(move || producer.set_result(42).unwrap()).join().unwrap();
/// assert_eq!(promise.result(), Ok(42));
/// assert!(promise.set_result(7).is_err()); // the first completion wins
/// ```
pub struct Promise<T> {
    shared: Arc<Shared<T>>,
    // This handle's slot in the waker slab while it is being awaited.
    waiter: Option<usize>,
}

struct Shared<T> {
    inner: Mutex<Inner<T>>,
}

type Callback<T> = Box<dyn FnOnce(&Promise<T>) + Send>;

struct Inner<T> {
    outcome: Outcome<T>,
    wakers: Vec<Option<Waker>>,
    free_slots: Vec<usize>,
    callbacks: Vec<(CallbackId, Callback<T>)>,
    next_callback: u64,
}

enum Outcome<T> {
    Pending,
    Value(T),
    Exception(Arc<dyn Error + Send + Sync>),
    Cancelled,
}

/// Why a [`Promise`] has no value to give.
///
/// # Examples
///
/// ```
/// use corio_core::{Promise, PromiseError};
///
/// let promise: Promise<u8> = Promise::new();
/// assert!(matches!(promise.result(), Err(PromiseError::InvalidState)));
/// promise.cancel();
/// assert!(matches!(promise.result(), Err(PromiseError::Cancelled)));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
pub enum PromiseError {
    /// The promise is not done yet (asyncio's `InvalidStateError`).
    #[error("invalid state: the promise is not done yet")]
    InvalidState,
    /// The promise was cancelled (asyncio's `CancelledError`).
    #[error("the promise was cancelled")]
    Cancelled,
    /// The promise was completed with an error.
    #[error("the promise failed: {0}")]
    Exception(Arc<dyn Error + Send + Sync>),
}

impl PartialEq for PromiseError {
    /// Errors are equal when they are the same variant and, for
    /// `Exception`, share the same error object.
    fn eq(&self, other: &PromiseError) -> bool {
        match (self, other) {
            (PromiseError::InvalidState, PromiseError::InvalidState) => true,
            (PromiseError::Cancelled, PromiseError::Cancelled) => true,
            (PromiseError::Exception(a), PromiseError::Exception(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Returned when completing a [`Promise`] that is already done.
///
/// # Examples
///
/// ```
/// let promise = corio_core::Promise::new();
/// promise.set_result(1).unwrap();
/// let error = promise.set_result(2).unwrap_err();
/// assert_eq!(error.to_string(), "invalid state: the promise is already done");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid state: the promise is already done")]
pub struct InvalidStateError;

/// Identifies a done callback, for [`Promise::remove_done_callback`].
///
/// # Examples
///
/// ```
/// let promise: corio_core::Promise<()> = corio_core::Promise::new();
/// let id = promise.add_done_callback(|_| {});
/// assert!(promise.remove_done_callback(id));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

impl<T> Promise<T> {
    /// Creates a pending promise.
    ///
    /// # Examples
    ///
    /// ```
    /// let promise: corio_core::Promise<String> = corio_core::Promise::new();
    /// assert!(!promise.is_done());
    /// ```
    pub fn new() -> Promise<T> {
        Promise {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    outcome: Outcome::Pending,
                    wakers: Vec::new(),
                    free_slots: Vec::new(),
                    callbacks: Vec::new(),
                    next_callback: 0,
                }),
            }),
            waiter: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // No code that can panic runs while the state is half-updated, and
        // wakers and callbacks run after the lock is released.
        crate::loom::lock(&self.shared.inner)
    }

    /// Completes the promise with `value`, waking every awaiter and running
    /// every done callback.
    ///
    /// # Errors
    ///
    /// Returns [`InvalidStateError`] if the promise is already done; nothing
    /// changes then.
    ///
    /// # Panics
    ///
    /// If a done callback or an awaiter's waker panics, the panic is resumed
    /// here after every other callback ran and every waker was woken; the
    /// promise is complete either way.
    ///
    /// # Examples
    ///
    /// ```
    /// let promise = corio_core::Promise::new();
    /// assert!(promise.set_result("hello").is_ok());
    /// assert!(promise.set_result("again").is_err());
    /// assert_eq!(promise.result(), Ok("hello"));
    /// ```
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        self.complete(Outcome::Value(value))
    }

    /// Completes the promise with an error, waking every awaiter and running
    /// every done callback.
    ///
    /// # Errors
    ///
    /// Returns [`InvalidStateError`] if the promise is already done; nothing
    /// changes then.
    ///
    /// # Panics
    ///
    /// As for [`Promise::set_result`].
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_core::{Promise, PromiseError};
    ///
    /// let promise: Promise<u32> = Promise::new();
    /// promise.set_exception(std::io::Error::other("disk on fire")).unwrap();
    /// match promise.result() {
    ///     Err(PromiseError::Exception(error)) => assert_eq!(error.to_string(), "disk on fire"),
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// ```
    pub fn set_exception(
        &self,
        error: impl Error + Send + Sync + 'static,
    ) -> Result<(), InvalidStateError> {
        self.complete(Outcome::Exception(Arc::new(error)))
    }

    /// Cancels the promise. Returns `false` if it was already done.
    ///
    /// # Panics
    ///
    /// As for [`Promise::set_result`].
    ///
    /// # Examples
    ///
    /// ```
    /// let promise: corio_core::Promise<()> = corio_core::Promise::new();
    /// assert!(promise.cancel());
    /// assert!(promise.is_cancelled());
    /// assert!(!promise.cancel());
    /// ```
    pub fn cancel(&self) -> bool {
        self.complete(Outcome::Cancelled).is_ok()
    }

    fn complete(&self, outcome: Outcome<T>) -> Result<(), InvalidStateError> {
        let (wakers, callbacks) = {
            let mut inner = self.lock();
            if !matches!(inner.outcome, Outcome::Pending) {
                return Err(InvalidStateError);
            }
            inner.outcome = outcome;
            inner.free_slots = Vec::new();
            (
                std::mem::take(&mut inner.wakers),
                std::mem::take(&mut inner.callbacks),
            )
        };
        let mut first_panic = None;
        for waker in wakers.into_iter().flatten() {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| waker.wake())) {
                first_panic.get_or_insert(payload);
            }
        }
        for (_, callback) in callbacks {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(self))) {
                first_panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = first_panic {
            resume_unwind(payload);
        }
        Ok(())
    }

    /// Returns `true` once the promise has a result, an exception, or was
    /// cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let promise = corio_core::Promise::new();
    /// promise.set_result(()).unwrap();
    /// assert!(promise.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        !matches!(self.lock().outcome, Outcome::Pending)
    }

    /// Returns `true` if the promise was cancelled.
    ///
    /// # Examples
    ///
    /// See [`Promise::cancel`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self.lock().outcome, Outcome::Cancelled)
    }

    /// Returns the promise's exception: `Ok(None)` if it has a result,
    /// `Ok(Some(error))` if it failed.
    ///
    /// # Errors
    ///
    /// [`PromiseError::InvalidState`] while pending, [`PromiseError::Cancelled`]
    /// if it was cancelled (as in asyncio).
    ///
    /// # Examples
    ///
    /// ```
    /// let promise: corio_core::Promise<()> = corio_core::Promise::new();
    /// promise.set_result(()).unwrap();
    /// assert!(promise.exception().unwrap().is_none());
    /// ```
    pub fn exception(&self) -> Result<Option<Arc<dyn Error + Send + Sync>>, PromiseError> {
        match &self.lock().outcome {
            Outcome::Pending => Err(PromiseError::InvalidState),
            Outcome::Cancelled => Err(PromiseError::Cancelled),
            Outcome::Value(_) => Ok(None),
            Outcome::Exception(error) => Ok(Some(error.clone())),
        }
    }

    /// Registers `callback` to run exactly once when the promise is done.
    ///
    /// If the promise is already done, `callback` runs at once on this
    /// thread. Otherwise it runs on the thread that completes the promise,
    /// after the outcome is visible and outside any lock, in registration
    /// order.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    ///
    /// let promise = corio_core::Promise::new();
    /// let seen = Arc::new(AtomicBool::new(false));
    /// let flag = seen.clone();
    /// promise.add_done_callback(move |p| flag.store(p.result() == Ok(5), Ordering::SeqCst));
    /// promise.set_result(5).unwrap();
    /// assert!(seen.load(Ordering::SeqCst));
    /// ```
    pub fn add_done_callback(
        &self,
        callback: impl FnOnce(&Promise<T>) + Send + 'static,
    ) -> CallbackId {
        let mut inner = self.lock();
        let id = CallbackId(inner.next_callback);
        inner.next_callback += 1;
        if matches!(inner.outcome, Outcome::Pending) {
            inner.callbacks.push((id, Box::new(callback)));
            return id;
        }
        drop(inner);
        callback(self);
        id
    }

    /// Unregisters a done callback that has not run yet. Returns `true` if it
    /// was registered and will now never run.
    ///
    /// # Examples
    ///
    /// See [`CallbackId`].
    pub fn remove_done_callback(&self, id: CallbackId) -> bool {
        let mut inner = self.lock();
        let before = inner.callbacks.len();
        inner.callbacks.retain(|(registered, _)| *registered != id);
        inner.callbacks.len() != before
    }
}

impl<T: Clone> Promise<T> {
    /// Returns a clone of the promise's value.
    ///
    /// # Errors
    ///
    /// [`PromiseError::InvalidState`] while pending,
    /// [`PromiseError::Cancelled`] if cancelled, [`PromiseError::Exception`]
    /// if completed with an error.
    ///
    /// # Examples
    ///
    /// ```
    /// let promise = corio_core::Promise::new();
    /// promise.set_result(vec![1, 2]).unwrap();
    /// assert_eq!(promise.result(), Ok(vec![1, 2]));
    /// ```
    pub fn result(&self) -> Result<T, PromiseError> {
        outcome_of(&self.lock().outcome).unwrap_or(Err(PromiseError::InvalidState))
    }
}

/// The outcome as an awaiter sees it, or `None` while pending.
fn outcome_of<T: Clone>(outcome: &Outcome<T>) -> Option<Result<T, PromiseError>> {
    match outcome {
        Outcome::Pending => None,
        Outcome::Value(value) => Some(Ok(value.clone())),
        Outcome::Exception(error) => Some(Err(PromiseError::Exception(error.clone()))),
        Outcome::Cancelled => Some(Err(PromiseError::Cancelled)),
    }
}

/// Polls `promise` for an awaiter whose waker slot is `waiter`.
fn poll_wait<T: Clone>(
    promise: &Promise<T>,
    waiter: &mut Option<usize>,
    cx: &mut Context<'_>,
) -> Poll<Result<T, PromiseError>> {
    let permit = std::task::ready!(coop::poll_proceed(cx));
    let mut inner = promise.lock();
    if let Some(outcome) = outcome_of(&inner.outcome) {
        drop(inner);
        *waiter = None;
        permit.made_progress();
        return Poll::Ready(outcome);
    }
    match *waiter {
        Some(slot) => match &mut inner.wakers[slot] {
            Some(stored) if stored.will_wake(cx.waker()) => {}
            stored => *stored = Some(cx.waker().clone()),
        },
        None => {
            let waker = Some(cx.waker().clone());
            let slot = match inner.free_slots.pop() {
                Some(slot) => {
                    inner.wakers[slot] = waker;
                    slot
                }
                None => {
                    inner.wakers.push(waker);
                    inner.wakers.len() - 1
                }
            };
            *waiter = Some(slot);
        }
    }
    Poll::Pending
}

/// Empties the waker slot of an awaiter that goes away before completion.
fn forget_waiter<T>(promise: &Promise<T>, waiter: Option<usize>) {
    let Some(slot) = waiter else {
        return;
    };
    let mut inner = promise.lock();
    // After completion the slab is gone; there is nothing to empty.
    if matches!(inner.outcome, Outcome::Pending) {
        let waker = inner.wakers[slot].take();
        inner.free_slots.push(slot);
        drop(inner);
        drop(waker);
    }
}

impl<T> Clone for Promise<T> {
    /// Returns another handle to the same promise.
    fn clone(&self) -> Promise<T> {
        Promise {
            shared: self.shared.clone(),
            waiter: None,
        }
    }
}

impl<T> Default for Promise<T> {
    fn default() -> Promise<T> {
        Promise::new()
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        let waiter = self.waiter.take();
        forget_waiter(self, waiter);
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.lock().outcome {
            Outcome::Pending => "pending",
            Outcome::Value(_) => "finished",
            Outcome::Exception(_) => "failed",
            Outcome::Cancelled => "cancelled",
        };
        f.debug_struct("Promise").field("state", &state).finish()
    }
}

impl<T: Clone> Future for Promise<T> {
    type Output = Result<T, PromiseError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut waiter = this.waiter.take();
        let polled = poll_wait(this, &mut waiter, cx);
        this.waiter = waiter;
        polled
    }
}

impl<'a, T: Clone> IntoFuture for &'a Promise<T> {
    type Output = Result<T, PromiseError>;
    type IntoFuture = PromiseWait<'a, T>;

    fn into_future(self) -> PromiseWait<'a, T> {
        PromiseWait {
            promise: self,
            waiter: None,
        }
    }
}

/// The future of awaiting a `&Promise<T>`.
///
/// # Examples
///
/// ```
/// use std::future::IntoFuture;
///
/// let promise = corio_core::Promise::new();
/// let wait = (&promise).into_future();
/// promise.set_result(3).unwrap();
/// # drop(wait);
/// ```
pub struct PromiseWait<'a, T> {
    promise: &'a Promise<T>,
    waiter: Option<usize>,
}

impl<T: Clone> Future for PromiseWait<'_, T> {
    type Output = Result<T, PromiseError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_wait(this.promise, &mut this.waiter, cx)
    }
}

impl<T> Drop for PromiseWait<'_, T> {
    fn drop(&mut self) {
        forget_waiter(self.promise, self.waiter.take());
    }
}

impl<T> fmt::Debug for PromiseWait<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromiseWait")
            .field("promise", self.promise)
            .finish()
    }
}
