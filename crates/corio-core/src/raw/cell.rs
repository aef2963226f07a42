//! The task allocation: its header, the typed cell around it, and the vtable
//! through which an untyped header pointer reaches the typed parts.

use std::fmt;
use std::future::Future;
use std::mem;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::Waker;

use super::harness::{cancel_run, discard_stage, drop_quietly, run};
use super::reference::RawTask;
use crate::debug::UnretrievedPanicHook;
use crate::error::TaskError;
use crate::loom::UnsafeCell;
use crate::state::State;
use crate::task::{Runnable, TaskId};

/// The start of every task allocation, the same type for every task;
/// handles point here.
#[repr(C)]
pub(super) struct Header {
    /// The state word: every transition goes through it.
    pub(super) state: State,
    /// The typed operations of the cell this header starts.
    pub(super) vtable: &'static Vtable,
    /// The join handle's waker; access is governed by `JOIN_WAKER`.
    pub(super) join_waker: UnsafeCell<Option<Waker>>,
    /// Written at spawn, read-only after (but for the atomic tag word).
    pub(super) meta: Meta,
}

/// What a task records about itself for debugging and `all_tasks`.
#[derive(Debug)]
pub(crate) struct Meta {
    pub(crate) id: TaskId,
    /// The optional parts, boxed so that the field is one word: most tasks
    /// have neither a name nor debug-mode metadata.
    pub(crate) extra: Option<Box<Extra>>,
    pub(crate) location: &'static Location<'static>,
    /// A word the executor owns (its registry slot); the core never reads it.
    pub(crate) tag: AtomicUsize,
}

/// The optional metadata of a task, shared by `TaskMeta` and the header.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extra {
    pub(crate) name: Option<String>,
    pub(crate) debug: Option<DebugMeta>,
}

/// Debug mode's metadata: the hook told of a panic nobody read, and a word
/// the executor owns (when it last polled the task, in its own units).
pub(crate) struct DebugMeta {
    pub(crate) hook: UnretrievedPanicHook,
    pub(crate) poll_stamp: AtomicU64,
}

impl Clone for DebugMeta {
    fn clone(&self) -> DebugMeta {
        DebugMeta {
            hook: self.hook.clone(),
            poll_stamp: AtomicU64::new(self.poll_stamp.load(Ordering::Relaxed)),
        }
    }
}

impl fmt::Debug for DebugMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DebugMeta")
            .field("poll_stamp", &self.poll_stamp)
            .finish_non_exhaustive()
    }
}

impl Meta {
    pub(crate) fn name(&self) -> Option<&str> {
        self.extra.as_ref()?.name.as_deref()
    }

    pub(crate) fn debug(&self) -> Option<&DebugMeta> {
        self.extra.as_ref()?.debug.as_ref()
    }
}

/// The typed operations of one `Cell<F, S>`. Every function takes a pointer to
/// the header of a live cell of exactly that type.
pub(super) struct Vtable {
    /// Calls the scheduler with a `Runnable` that owns one reference already
    /// counted in the state word.
    pub(super) schedule: unsafe fn(NonNull<Header>),
    /// Runs the task once; consumes one reference (the `Runnable`'s).
    pub(super) run: unsafe fn(NonNull<Header>) -> bool,
    /// Drops the future of a `Runnable` dropped unrun; consumes its reference.
    pub(super) cancel_run: unsafe fn(NonNull<Header>),
    /// Moves the output into `*mut Option<Result<F::Output, TaskError>>`.
    pub(super) take_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Reads, without taking it, whether the output is a panic.
    pub(super) output_is_panic: unsafe fn(NonNull<Header>) -> bool,
    /// Drops the output (the `Task` gave it up after completion), reporting
    /// a panic nobody read to the debug hook, if any.
    pub(super) drop_output: unsafe fn(NonNull<Header>),
    /// Frees the cell; called by whoever released the last reference.
    pub(super) dealloc: unsafe fn(NonNull<Header>),
}

/// The whole allocation of one task.
#[repr(C)]
pub(super) struct Cell<F: Future, S> {
    pub(super) header: Header,
    schedule: S,
    stage: UnsafeCell<Stage<F>>,
}

/// The future, then its output, then nothing once the output is taken.
pub(super) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, TaskError>),
    Consumed,
}

/// A cell as it is allocated: `A` sets the allocation's alignment (and so
/// rounds its size) without moving any field. The cell is at offset 0, so a
/// pointer to the allocation is a pointer to the cell and to its header.
#[repr(C)]
struct Allocation<A, F: Future, S> {
    _align: [A; 0],
    cell: Cell<F, S>,
}

/// The alignment marker of cells laid out as their fields need.
pub(crate) type Natural = ();

/// The alignment marker of cells that start and end on a 64-byte boundary,
/// the cache line of x86_64 and most aarch64 cores, so that no two tasks
/// share a line. (128 bytes, tokio's choice against the adjacent-line
/// prefetcher, measured no better on `mt_yield`.)
#[repr(align(64))]
pub(crate) struct CacheLine;

/// Allocates the cell of a new task, aligned as marker `A` says, whose state
/// word starts with two references (see `State::new`), and returns its
/// header.
pub(super) fn allocate<A, F, S>(future: F, schedule: S, meta: Meta) -> NonNull<Header>
where
    A: 'static,
    F: Future + 'static,
    S: Fn(Runnable) + Send + Sync + 'static,
{
    let allocation = Allocation::<A, F, S> {
        _align: [],
        cell: Cell {
            header: Header {
                state: State::new(),
                vtable: vtable::<A, F, S>(),
                join_waker: UnsafeCell::new(None),
                meta,
            },
            schedule,
            stage: UnsafeCell::new(Stage::Running(future)),
        },
    };
    // `Header` is the first field of a `repr(C)` cell, itself the first
    // sized field of a `repr(C)` allocation, so the allocation's address is
    // the header's; the pointer keeps the whole allocation's provenance.
    if !over_aligned::<Allocation<A, F, S>>() {
        return NonNull::from(Box::leak(Box::new(allocation))).cast::<Header>();
    }
    let layout = over_aligned_block::<Allocation<A, F, S>>();
    // SAFETY: the layout's size is not zero (it includes the alignment).
    let block = unsafe { std::alloc::alloc(layout) };
    let Some(block) = NonNull::new(block) else {
        std::alloc::handle_alloc_error(layout);
    };
    let align = mem::align_of::<Allocation<A, F, S>>();
    // The first `align` boundary with a word's room before it: at most
    // `align` bytes into the block, because the block is 16-aligned and
    // `align` a larger power of two.
    let address = block.as_ptr() as usize;
    let offset = (address + WORD).next_multiple_of(align) - address;
    debug_assert!(offset >= WORD && offset <= align);
    // Soundness: `offset` plus the allocation's size is within the block (its
    // size is the allocation's plus `align`), so the pointer is in bounds;
    // it is aligned for the allocation, and the word before it, inside the
    // block, is aligned for a pointer (`offset` and the block's address are
    // multiples of 8). Nothing else has seen the block.
    // SAFETY: in bounds, aligned and unshared, as argued just above.
    unsafe {
        let cell = block.as_ptr().add(offset);
        cell.sub(WORD).cast::<*mut u8>().write(block.as_ptr());
        let cell = cell.cast::<Allocation<A, F, S>>();
        cell.write(allocation);
        NonNull::new_unchecked(cell).cast::<Header>()
    }
}

/// The size of the word before an over-aligned cell that keeps its block's
/// address.
const WORD: usize = mem::size_of::<*mut u8>();

/// Whether values of `T` need more alignment than the global allocator gives
/// every `malloc` (16 bytes). Such cells (the cache-line-aligned tasks of
/// `spawn_padded`) are placed inside a larger 16-aligned block rather than
/// allocated with their alignment: glibc serves aligned requests from its
/// arena under the arena's lock, never from the thread's cache, which cost
/// a chain of spawns on the multi-thread runtime a sixth of its time.
fn over_aligned<T>() -> bool {
    mem::align_of::<T>() > 16
}

/// The block an over-aligned `T` is placed in: its size plus its alignment,
/// 16-aligned.
fn over_aligned_block<T>() -> std::alloc::Layout {
    std::alloc::Layout::from_size_align(mem::size_of::<T>() + mem::align_of::<T>(), 16)
        .expect("a task allocation's size fits in isize")
}

fn vtable<A, F, S>() -> &'static Vtable
where
    A: 'static,
    F: Future + 'static,
    S: Fn(Runnable) + Send + Sync + 'static,
{
    &Vtable {
        schedule: schedule::<F, S>,
        run: run::<F, S>,
        cancel_run: cancel_run::<F, S>,
        take_output: take_output::<F, S>,
        output_is_panic: output_is_panic::<F, S>,
        drop_output: drop_output::<F, S>,
        dealloc: dealloc::<A, F, S>,
    }
}

/// # Safety
///
/// `ptr` points to a live `Cell<F, S>`.
unsafe fn cell<F: Future, S>(ptr: NonNull<Header>) -> *mut Cell<F, S> {
    ptr.cast::<Cell<F, S>>().as_ptr()
}

/// # Safety
///
/// `ptr` points to a live `Cell<F, S>` and the caller has access to the
/// stage under the protocol.
unsafe fn stage<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a UnsafeCell<Stage<F>> {
    // SAFETY: the cell is live; the `UnsafeCell` is only ever shared.
    unsafe { &(*cell::<F, S>(ptr)).stage }
}

/// Gives `access` the stage of a live `Cell<F, S>` to use in place.
///
/// # Safety
///
/// `ptr` points to a live `Cell<F, S>` and the caller owns the stage (it
/// holds `RUNNING`).
pub(super) unsafe fn with_stage<F: Future, S, R>(
    ptr: NonNull<Header>,
    access: impl FnOnce(&mut Stage<F>) -> R,
) -> R {
    // SAFETY: the cell is live and the stage is the caller's alone (see the
    // protocol), so a unique reference to it is sound for the call.
    unsafe { stage::<F, S>(ptr) }.with_mut(|slot| access(unsafe { &mut *slot }))
}

/// # Safety
///
/// `ptr` points to a live `Cell<F, S>` and the caller owns the stage.
pub(super) unsafe fn replace_stage<F: Future, S>(ptr: NonNull<Header>, new: Stage<F>) -> Stage<F> {
    // SAFETY: the caller owns the stage (see the protocol).
    unsafe { with_stage::<F, S, _>(ptr, |stage| mem::replace(stage, new)) }
}

/// # Safety
///
/// `ptr` points to a live `Cell<F, S>`; the state word counts a reference for
/// the new `Runnable`, and the caller holds another one during the call.
unsafe fn schedule<F: Future, S: Fn(Runnable)>(ptr: NonNull<Header>) {
    // SAFETY: the cell is live (caller), and the scheduler hook is immutable.
    let hook: &S = unsafe { &(*cell::<F, S>(ptr)).schedule };
    // SAFETY: the state word counts the reference the `Runnable` takes over
    // (caller).
    hook(Runnable::from_raw(unsafe { RawTask::from_counted(ptr) }));
}

/// # Safety
///
/// `ptr` points to a live, complete `Cell<F, S>`; the caller holds
/// `JOIN_INTEREST`; `dst` points to an `Option<Result<F::Output, TaskError>>`.
unsafe fn take_output<F: Future, S>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: the stage belongs to the join handle once `COMPLETE` is set.
    let stage = unsafe { replace_stage::<F, S>(ptr, Stage::Consumed) };
    let output = match stage {
        Stage::Finished(output) => Some(output),
        Stage::Consumed => None,
        Stage::Running(_) => unreachable!("a complete task has no future"),
    };
    // SAFETY: the caller passes a pointer to the matching output type.
    unsafe { *dst.cast::<Option<Result<F::Output, TaskError>>>() = output };
}

/// # Safety
///
/// `ptr` points to a live, complete `Cell<F, S>`; the caller holds
/// `JOIN_INTEREST`.
unsafe fn output_is_panic<F: Future, S>(ptr: NonNull<Header>) -> bool {
    // Soundness: the stage belongs to the join handle once `COMPLETE` is set,
    // and the handle only reads it here. Only the discriminants are read,
    // never the output itself, so this is sound where the output is not
    // `Sync` and two threads ask through a shared `&Task` at once.
    // SAFETY: a shared read of the stage that the join handle owns.
    unsafe { stage::<F, S>(ptr) }.with(|slot| {
        // SAFETY: as above, a shared read.
        let stage = unsafe { &*slot };
        matches!(stage, Stage::Finished(Err(TaskError::Panicked(_))))
    })
}

/// # Safety
///
/// `ptr` points to a live, complete `Cell<F, S>` whose output the join
/// handle owns and gives up.
unsafe fn drop_output<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the join handle owned the stage and hands it over.
    let stage = unsafe { replace_stage::<F, S>(ptr, Stage::Consumed) };
    // SAFETY: the cell is live; the metadata is read-only.
    discard_stage(&unsafe { ptr.as_ref() }.meta, stage);
}

/// # Safety
///
/// `ptr` points to a `Cell<F, S>` allocated with marker `A` whose last
/// reference was just released.
unsafe fn dealloc<A, F: Future, S>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<Allocation<A, F, S>>();
    // SAFETY: the cell was made by `allocate::<A, F, S>` (the vtable that
    // holds this function was made with the same types), it starts at the
    // header, and no reference to it remains: we own it.
    let stage = unsafe { cell.as_ref() }
        .cell
        .stage
        // SAFETY: we own the whole cell.
        .with_mut(|slot| unsafe { mem::replace(&mut *slot, Stage::Consumed) });
    drop_quietly(stage);
    if !over_aligned::<Allocation<A, F, S>>() {
        // SAFETY: as above; such a cell came from `Box::leak`.
        drop_quietly(unsafe { Box::from_raw(cell.as_ptr()) });
        return;
    }
    // Soundness: an over-aligned cell was written into a block of
    // `over_aligned_block`'s layout whose address is in the word before the
    // cell (inside the block, so the pointer arithmetic stays in bounds).
    // The value is read out before the block is freed.
    // SAFETY: we own the cell (as above) and its block, as argued just above.
    unsafe {
        let block = cell
            .as_ptr()
            .cast::<u8>()
            .sub(WORD)
            .cast::<*mut u8>()
            .read();
        let allocation = cell.as_ptr().read();
        std::alloc::dealloc(block, over_aligned_block::<Allocation<A, F, S>>());
        drop_quietly(allocation);
    }
}

/// The size of the task header, in bytes.
pub(crate) fn header_size() -> usize {
    mem::size_of::<Header>()
}

/// The size of a whole task allocation for future `F`, scheduler `S` and
/// alignment marker `A`.
pub(crate) fn cell_size<A, F: Future, S>() -> usize {
    mem::size_of::<Allocation<A, F, S>>()
}
