//! Counting drops, for tests that check a value is dropped exactly once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts the drops of the [`DropToken`]s it hands out; clones share the
/// count.
///
/// # Examples
///
/// ```
/// use corio_test_support::DropCounter;
///
/// let drops = DropCounter::new();
/// let (first, second) = (drops.token(), drops.clone().token());
/// drop(first);
/// assert_eq!(drops.count(), 1);
/// drop(second);
/// assert_eq!(drops.count(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    /// A counter at zero.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(corio_test_support::DropCounter::new().count(), 0);
    /// ```
    pub fn new() -> DropCounter {
        DropCounter::default()
    }

    /// A token that adds one to this counter when it is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let drops = corio_test_support::DropCounter::new();
    /// let tokens = vec![drops.token(), drops.token()];
    /// drop(tokens);
    /// assert_eq!(drops.count(), 2);
    /// ```
    pub fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }

    /// How many tokens of this counter have been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let drops = corio_test_support::DropCounter::new();
    /// drop(drops.token());
    /// assert_eq!(drops.count(), 1);
    /// ```
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Adds one to its [`DropCounter`] when dropped; move it into the value
/// whose drop the test checks.
///
/// # Examples
///
/// ```
/// let drops = corio_test_support::DropCounter::new();
/// let token = drops.token();
/// let future = async move {
///     let _token = token;
/// };
/// drop(future);
/// assert_eq!(drops.count(), 1);
/// ```
#[derive(Debug)]
pub struct DropToken(Arc<AtomicUsize>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
