//! Pinned access to the elements of a pinned slice, for the combinators that
//! keep their futures in one: `gather` and `as_completed`.

use std::pin::Pin;

/// Collects `items` into a pinned slice.
pub(crate) fn collect<T>(items: impl Iterator<Item = T>) -> Pin<Box<[T]>> {
    Box::into_pin(items.collect())
}

/// Returns element `index` of a pinned slice, pinned.
///
/// # Panics
///
/// Panics when `index` is out of bounds.
pub(crate) fn get_mut<T>(slice: Pin<&mut [T]>, index: usize) -> Pin<&mut T> {
    // The elements of a pinned slice are pinned too: the slice's memory
    // never moves while it is pinned, and an element is only reached through
    // the returned `Pin<&mut T>`, so no element is moved out of its place.
    // SAFETY: indexing moves nothing and `[]` checks bounds (see above).
    unsafe { slice.map_unchecked_mut(|elements| &mut elements[index]) }
}
