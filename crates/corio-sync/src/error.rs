//! The errors of the primitives: small, typed, with messages a user
//! understands.

use std::fmt;

/// [`Semaphore::try_acquire`](crate::Semaphore::try_acquire) found no free
/// permit.
///
/// # Examples
///
/// ```
/// let semaphore = corio_sync::Semaphore::new(0);
/// let error = semaphore.try_acquire().unwrap_err();
/// assert_eq!(error.to_string(), "no permit is available");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no permit is available")]
#[non_exhaustive]
pub struct TryAcquireError;

/// [`Mutex::try_lock`](crate::Mutex::try_lock) found the mutex locked.
///
/// # Examples
///
/// ```
/// let mutex = corio_sync::Mutex::new(0);
/// let _guard = mutex.try_lock().unwrap();
/// assert_eq!(mutex.try_lock().unwrap_err().to_string(), "the mutex is locked");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the mutex is locked")]
#[non_exhaustive]
pub struct TryLockError;

/// A queue refused an operation because it was shut down; `T` is the item a
/// `put` gives back (`()` for a `get`, which finds the queue shut down and
/// empty).
///
/// # Examples
///
/// ```
/// # corio_executor::EventLoop::new().unwrap().run_until_complete(async {
/// use corio_sync::{Queue, ShutDown};
///
/// let queue = Queue::unbounded();
/// queue.shutdown();
/// assert_eq!(queue.put("late").await, Err(ShutDown("late")));
/// assert_eq!(queue.get().await, Err(ShutDown(())));
/// assert_eq!(ShutDown(()).to_string(), "the queue is shut down");
/// # });
/// ```
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("the queue is shut down")]
pub struct ShutDown<T = ()>(pub T);

impl<T> ShutDown<T> {
    /// Returns the item that was refused.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(corio_sync::ShutDown(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for ShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShutDown(..)")
    }
}

/// Why a queue's `try_get` returned no item.
///
/// # Examples
///
/// ```
/// use corio_sync::{Queue, TryGetError};
///
/// let queue = Queue::<u8>::unbounded();
/// assert_eq!(queue.try_get(), Err(TryGetError::Empty));
/// queue.shutdown();
/// assert_eq!(queue.try_get(), Err(TryGetError::ShutDown));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TryGetError {
    /// The queue is empty; a `get` would wait.
    #[error("the queue is empty")]
    Empty,
    /// The queue is empty and shut down; no item will ever come.
    #[error("the queue is shut down")]
    ShutDown,
}

/// Why a queue's `try_put` refused an item; the item is given back.
///
/// # Examples
///
/// ```
/// use corio_sync::{Queue, TryPutError};
///
/// let queue = Queue::bounded(1);
/// queue.try_put(1).unwrap();
/// let error = queue.try_put(2).unwrap_err();
/// assert!(matches!(error, TryPutError::Full(2)));
/// assert_eq!(error.to_string(), "the queue is full");
/// assert_eq!(error.into_inner(), 2);
/// ```
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TryPutError<T> {
    /// The queue is at its capacity; a `put` would wait.
    #[error("the queue is full")]
    Full(T),
    /// The queue is shut down; it takes no more items.
    #[error("the queue is shut down")]
    ShutDown(T),
}

impl<T> TryPutError<T> {
    /// Returns the item that was refused.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = corio_sync::Queue::bounded(1);
    /// queue.shutdown();
    /// assert_eq!(queue.try_put('x').unwrap_err().into_inner(), 'x');
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(item) | TryPutError::ShutDown(item) => item,
        }
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("Full(..)"),
            TryPutError::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

/// A queue's `task_done` was called more times than items were put in it
/// (asyncio's `ValueError`).
///
/// # Examples
///
/// ```
/// let queue = corio_sync::Queue::<u8>::unbounded();
/// let error = queue.task_done().unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "task_done() was called more times than items were put in the queue"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("task_done() was called more times than items were put in the queue")]
#[non_exhaustive]
pub struct TaskDoneError;
