//! A seeded shuffle, for properties that replay an order of wake-ups.

/// The numbers `0..count` in an order shuffled from `seed` (a small linear
/// congruential generator): the same seed gives the same order.
///
/// # Examples
///
/// ```
/// let mut order = corio_test_support::shuffled(5, 42);
/// assert_eq!(order, corio_test_support::shuffled(5, 42));
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
