//! Wakers for polling futures by hand.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

/// Counts the wake-ups of the waker [`counting_waker`] made with it.
///
/// # Examples
///
/// ```
/// let (waker, wakes) = corio_test_support::counting_waker();
/// waker.clone().wake();
/// waker.wake_by_ref();
/// assert_eq!(wakes.count(), 2);
/// ```
#[derive(Debug, Default)]
pub struct WakeCounter(AtomicUsize);

impl WakeCounter {
    /// How often the waker has been woken, by value or by reference.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_waker, wakes) = corio_test_support::counting_waker();
    /// assert_eq!(wakes.count(), 0);
    /// ```
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker that counts its wake-ups, and the counter it reports to.
///
/// # Examples
///
/// ```
/// let (waker, wakes) = corio_test_support::counting_waker();
/// std::thread::spawn(move || waker.wake()).join().unwrap();
/// assert_eq!(wakes.count(), 1);
/// ```
pub fn counting_waker() -> (Waker, Arc<WakeCounter>) {
    let counter = Arc::new(WakeCounter::default());
    (Waker::from(counter.clone()), counter)
}

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}

    fn wake_by_ref(self: &Arc<Self>) {}
}

/// A waker that does nothing when woken, for polls whose wake-ups the test
/// does not look at.
///
/// # Examples
///
/// ```
/// use std::future::Future;
/// use std::task::{Context, Poll};
///
/// let waker = corio_test_support::noop_waker();
/// let mut ready = std::pin::pin!(async { 5 });
/// assert_eq!(ready.as_mut().poll(&mut Context::from_waker(&waker)), Poll::Ready(5));
/// ```
pub fn noop_waker() -> Waker {
    Waker::from(Arc::new(Noop))
}
