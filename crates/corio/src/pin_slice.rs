//! Pinned access to the elements of a pinned slice: the one piece of unsafe
//! code in the facade.

use std::pin::Pin;

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
