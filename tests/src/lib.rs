//! Shared helpers for corio's cross-crate tests.

use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts, in the shared counter, how often values it is attached to are
/// dropped.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let drops = Arc::new(AtomicUsize::new(0));
/// drop(corio_tests::DropCounter(drops.clone()));
/// assert_eq!(drops.load(Ordering::SeqCst), 1);
/// ```
pub struct DropCounter(pub Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The message of a caught panic (empty when the payload is not a string).
///
/// # Examples
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
/// assert_eq!(corio_tests::panic_message(payload), "boom");
/// ```
pub fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|message| message.to_string())
            .unwrap_or_default(),
    }
}

/// The numbers `0..count` in an order shuffled from `seed` (a small linear
/// congruential generator): the same seed gives the same order.
///
/// # Examples
///
/// ```
/// let mut order = corio_tests::shuffled(5, 42);
/// assert_eq!(order, corio_tests::shuffled(5, 42));
/// order.sort();
/// assert_eq!(order, [0, 1, 2, 3, 4]);
/// ```
pub fn shuffled(count: usize, mut seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    for i in (1..order.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        order.swap(i, (seed >> 33) as usize % (i + 1));
    }
    order
}
