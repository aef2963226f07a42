//! Coordination over futures and tasks: [`gather()`], [`try_gather()`], the
//! `gather!` / `try_gather!` macros, [`as_completed`] and [`wait`].
//!
//! Like the primitives, they need nothing from a runtime but wakers (and,
//! for `wait`, corio-core's task handle), so they live here rather than in
//! the facade. `gather`, `as_completed` and `wait` share one piece of
//! bookkeeping (`ready.rs`): one waker per child, so that a wake-up costs
//! O(1) polls; `pin_slice.rs` is their pinned storage.

mod as_completed;
mod gather;
pub(crate) mod join;
mod maybe_done;
mod pin_slice;
mod ready;
mod wait;

#[cfg(test)]
mod tests;

pub use as_completed::{as_completed, AsCompleted};
pub use gather::{gather, try_gather, Gather, TryGather};
pub use wait::{wait, wait_with_deadline, ReturnWhen, Wait};
