//! The task cell: one heap allocation per task, and the only module of the
//! crate that handles raw pointers.
//!
//! # Files
//!
//! - `cell`: the allocation (the `Header` and the typed `Cell` around it),
//!   its vtable, and the vtable entries that only move data in and out of the
//!   cell (schedule, take or drop the output, deallocate).
//! - `harness`: running a task once (polling, completion, cancellation,
//!   catching panics) and settling what the completing transition left to do.
//! - `waker`: the `RawWakerVTable` that makes a waker out of a header pointer.
//! - `reference`: [`RawTask`], one counted reference to a task, and
//!   [`JoinRef`], the join handle's reference; the rest of the crate reaches
//!   the cell only through these two.
//!
//! # Layout
//!
//! A task is one `#[repr(C)]` cell: a 64-byte `Header`, then the scheduler
//! hook `S`, then the stage (the future, whose slot is reused for the
//! output). It is allocated inside a `repr(C)` wrapper whose zero-sized first
//! field sets the alignment (none, or a 64-byte cache line for the padded
//! spawns) without moving the cell from offset 0, so every function but
//! `dealloc` (which the vtable picks with the marker) reads the cell the
//! same way. The header is the same type for every task:
//!
//! | offset | field | what |
//! |---|---|---|
//! | 0 | `state` | the state word: the bits below and the reference count |
//! | 8 | `vtable` | a `&'static` table of the typed operations |
//! | 16 | `join_waker` | the waker of whoever awaits the `Task` |
//! | 32 | `meta` | id, the optional box (name, debug hook), spawn location, the executor's tag word |
//!
//! (offsets for 64-bit targets). Every handle (`Runnable`, `Task`,
//! `TaskRef`, `Waker`) is a pointer to the header holding one reference. The
//! metadata is a plain field of the header, so reading it needs no vtable
//! call and no offset arithmetic; the typed parts behind the header are
//! reached through the vtable, which is instantiated once per future and
//! scheduler type.
//!
//! # State bits
//!
//! The meaning of each bit is documented in [`crate::state`]; who changes it:
//!
//! | bit | set by | cleared by |
//! |---|---|---|
//! | `SCHEDULED` | spawn; a wake or cancel of an idle task; the runner after `Pending` with `NOTIFIED` | the runner starting (`run`, or dropping the `Runnable`) |
//! | `RUNNING` | the runner starting | the runner, after `Pending` or with `COMPLETE` |
//! | `NOTIFIED` | a wake during a poll | the runner, after `Pending` or with `COMPLETE` |
//! | `COMPLETE` | the runner | never |
//! | `CANCELLED` | `cancel`; dropping a `Runnable` | never |
//! | `JOIN_INTEREST` | spawn | the `Task`, when dropped or detached |
//! | `JOIN_WAKER` | the `Task`, after writing the slot | the `Task`, before rewriting the slot or when dropped before completion |
//!
//! # Protocol
//!
//! The state word decides who may touch which field:
//!
//! - **stage** (future or output):
//!   - while not `COMPLETE`, only the thread that holds `RUNNING` (inside
//!     `Runnable::run`, or dropping a `Runnable`, which runs the cancellation
//!     path) may touch it: it polls the future, drops it, and stores the
//!     output before it sets `COMPLETE`;
//!   - once `COMPLETE`, the output belongs to the `Task` handle if the
//!     completing transition saw `JOIN_INTEREST`; it reads it in `poll` and
//!     drops it if it is dropped unread. Otherwise the completer drops it right
//!     away. Whoever clears `JOIN_INTEREST` after `COMPLETE` owns it: the two
//!     transitions are atomic, so exactly one side drops the output;
//!   - the last reference deallocates the cell and drops whatever is left,
//!     including a future that never finished (a detached task whose wakers
//!     were all dropped). For `!Send` futures the caller of `spawn_unchecked`
//!     guarantees that this happens on the owning thread.
//! - **join waker slot**: written only by the `Task` handle, and only while
//!   `JOIN_WAKER` is clear (then nobody else reads it). The `Task` sets
//!   `JOIN_WAKER` after writing; the completer reads (never takes) it only
//!   when its `COMPLETE` transition saw `JOIN_WAKER`. To replace the waker the
//!   `Task` first clears `JOIN_WAKER`, which fails once `COMPLETE` is set, so
//!   the `Task` never writes the slot after completion. A `Task` dropped
//!   before completion clears `JOIN_WAKER` with `JOIN_INTEREST` and empties
//!   the slot; otherwise the slot is emptied on deallocation.
//! - **vtable, scheduler hook and metadata**: written once at spawn,
//!   read-only after, by any handle. The one exception is the metadata's tag
//!   word, which is atomic and belongs to the executor.
//! - **references**: every handle holds one. The `Runnable` passed to the
//!   scheduler always holds a reference of its own, counted by the transition
//!   that created it (`Wake::Submit`, `Cancel::Submit`); the caller keeps
//!   its own reference until the scheduler returns, so the cell outlives the
//!   call even if the scheduler runs the task to completion inline. The
//!   exceptions hand over a reference the caller holds instead: a wake by
//!   value (`WakeByVal`), where the waker's own reference becomes the
//!   `Runnable`'s (when no `Runnable` is made, the waker's reference is
//!   released in the same transition), and a reschedule after a poll
//!   (`AfterPending::Reschedule`), where the runner's does; in both the
//!   caller touches the cell no more after the scheduler call. After a poll
//!   that leaves the task idle, the runner's reference is released in the
//!   same transition (`AfterPending::Idle`) unless it is the last one
//!   (`AfterPending::IdleLast`, released by an ordinary drop). Two releases are folded into the
//!   transition they follow, to save an atomic operation each: the runner
//!   releases its reference with `COMPLETE` when the completion needs the
//!   cell no more (no joiner to wake, no stored output to drop), and the
//!   `Task` releases its reference with `JOIN_INTEREST` when it has nothing
//!   left to clean up (the output it owned is dropped first, its waker slot
//!   is empty). Whoever releases the last reference deallocates.
//!
//! # Why the safe API is sound
//!
//! `Runnable` exists only while `SCHEDULED` and there is at most one, so only
//! one thread polls. A wake during a poll sets `NOTIFIED`, which the runner
//! turns into a reschedule after `Pending`, so no wake is lost. Panics in
//! `poll` and in the future's `drop` are caught and stored as
//! `TaskError::Panicked`; none unwinds out of `run`. For `spawn`, the future
//! and output are `Send`, so dropping them on whichever thread releases the
//! last reference is fine; `spawn_unchecked` is `unsafe` and puts that
//! obligation on the executor. The rest of the crate sees only `RawTask` and
//! `JoinRef`, whose safe methods are state transitions, reads of the
//! immutable metadata, or act only under the bit that grants them access;
//! the `unsafe` methods (`RawTask::new`, `RawTask::take_output` and
//! `RawTask::output_is_panic`) state in their contracts what the caller
//! (`task.rs`) must guarantee.

mod cell;
mod harness;
mod reference;
mod waker;

pub(crate) use cell::{cell_size, header_size, CacheLine, DebugMeta, Extra, Meta, Natural};
pub(crate) use reference::{JoinRef, RawTask};

#[cfg(all(test, not(loom)))]
mod tests {
    use super::cell::{cell_size, header_size, CacheLine, Cell, Header, Natural};
    use crate::task::Runnable;

    #[test]
    fn the_header_fits_in_one_cache_line() {
        assert!(header_size() <= 64, "header is {} bytes", header_size());
    }

    #[test]
    fn the_header_is_at_the_start_of_the_cell() {
        assert_eq!(
            std::mem::offset_of!(Cell<std::future::Ready<()>, fn(Runnable)>, header),
            0
        );
    }

    /// The offsets the layout table in the module docs gives.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn the_header_is_laid_out_as_documented() {
        use std::mem::offset_of;
        let offsets = [
            offset_of!(Header, state),
            offset_of!(Header, vtable),
            offset_of!(Header, join_waker),
            offset_of!(Header, meta),
        ];
        assert_eq!(offsets, [0, 8, 16, 32]);
        assert_eq!(header_size(), 64);
    }

    /// The size ARCHITECTURE.md gives for a task running `async {}` with a
    /// closure scheduler (the `layout` example prints it).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_empty_task_takes_88_bytes() {
        fn size_of_task<F: std::future::Future, S>(_: &F, _: &S) -> usize {
            cell_size::<Natural, F, S>()
        }
        let schedule = |runnable: Runnable| drop(runnable);
        assert_eq!(size_of_task(&async {}, &schedule), 88);
    }

    /// A cache-aligned task (the multi-thread runtime's) rounds up to whole
    /// cache lines, so that no two tasks share one.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_cache_aligned_task_takes_whole_lines() {
        fn sizes<F: std::future::Future, S>(_: &F, _: &S) -> (usize, usize) {
            (cell_size::<Natural, F, S>(), cell_size::<CacheLine, F, S>())
        }
        let schedule = |runnable: Runnable| drop(runnable);
        assert_eq!(sizes(&async {}, &schedule), (88, 128));
        let bigger = async { std::future::ready([0u8; 100]).await };
        let (natural, padded) = sizes(&bigger, &schedule);
        assert!(natural % 64 != 0, "the test needs a size off the line");
        assert_eq!(padded, natural.next_multiple_of(64));
        assert_eq!(std::mem::align_of::<CacheLine>(), 64);
    }

    /// Cache-aligned tasks are placed inside a larger block (see
    /// `cell::allocate`): each header lands on a line boundary, and tasks of
    /// every outcome (finished, dropped unrun, finished after a reschedule)
    /// free their block; Miri checks the placement and the frees.
    #[test]
    fn cache_aligned_tasks_start_on_a_line_and_free_their_block() {
        let meta = || crate::TaskMeta::new(std::panic::Location::caller());
        let mut handles = Vec::new();
        for n in 0..8u64 {
            let (runnable, task) = crate::spawn_padded(async move { n }, drop, meta());
            assert_eq!(runnable.raw().header_ptr().as_ptr() as usize % 64, 0);
            if n % 2 == 0 {
                assert!(runnable.run());
            } else {
                drop(runnable);
            }
            handles.push(task);
        }
        let bigger = async { std::future::ready([7u8; 100]).await };
        let (runnable, task) = crate::spawn_padded(bigger, drop, meta());
        assert_eq!(runnable.raw().header_ptr().as_ptr() as usize % 64, 0);
        assert!(runnable.run());
        assert!(task.is_done());
        drop((handles, task));
    }
}
