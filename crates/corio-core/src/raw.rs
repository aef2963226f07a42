//! The task cell: one heap allocation per task, and the only module of the
//! crate that handles raw pointers.
//!
//! # Layout
//!
//! A task is one `#[repr(C)]` [`Cell`]: a [`Header`] of at most 32 bytes (the
//! state word, a `&'static` vtable, the join waker slot), then the scheduler
//! hook `S`, the metadata (id, name, spawn location), then the stage: the
//! future, whose slot is reused for the output. Every handle (`Runnable`,
//! `Task`, `TaskRef`, `Waker`) is a pointer to the header holding one
//! reference; the typed parts are reached through the vtable, which is
//! instantiated once per future and scheduler type.
//!
//! # Protocol
//!
//! The state word (bits listed in [`crate::state`]) decides who may touch
//! which field:
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
//! - **scheduler hook and metadata**: written once at spawn, read-only after.
//! - **references**: every handle holds one. The `Runnable` passed to the
//!   scheduler always holds a reference of its own, counted by the transition
//!   that created it (`Wake::Submit`, `Cancel::Submit`,
//!   `AfterPending::Reschedule`); the caller keeps its own reference until the
//!   scheduler returns, so the cell outlives the call even if the scheduler
//!   runs the task to completion inline. Two releases are folded into the
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
//! obligation on the executor.

use std::any::Any;
use std::future::Future;
use std::mem::{self, ManuallyDrop};
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use crate::error::TaskError;
use crate::loom::UnsafeCell;
use crate::state::{
    AfterPending, Cancel, Completed, Completion, DropJoin, Release, Snapshot, StartRun, State,
    TryComplete, Wake, COMPLETE, JOIN_INTEREST, JOIN_WAKER,
};
use crate::task::{Runnable, TaskId};

/// The start of every task allocation; handles point here.
#[repr(C)]
pub(crate) struct Header {
    state: State,
    vtable: &'static Vtable,
    join_waker: UnsafeCell<Option<Waker>>,
}

/// The typed operations of one `Cell<F, S>`. Every function takes a pointer to
/// the header of a live cell of exactly that type.
struct Vtable {
    /// Calls the scheduler with a `Runnable` that owns one reference already
    /// counted in the state word.
    schedule: unsafe fn(NonNull<Header>),
    /// Runs the task once; consumes one reference (the `Runnable`'s).
    run: unsafe fn(NonNull<Header>) -> bool,
    /// Drops the future of a `Runnable` dropped unrun; consumes its reference.
    cancel_run: unsafe fn(NonNull<Header>),
    /// Moves the output into `*mut Option<Result<F::Output, TaskError>>`.
    take_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Reads, without taking it, whether the output is a panic.
    output_is_panic: unsafe fn(NonNull<Header>) -> bool,
    /// Drops the output (the `Task` gave it up after completion).
    drop_output: unsafe fn(NonNull<Header>),
    /// Frees the cell; called by whoever released the last reference.
    dealloc: unsafe fn(NonNull<Header>),
}

/// What a task records about itself for debugging and `all_tasks`.
#[derive(Debug)]
pub(crate) struct Meta {
    pub(crate) id: TaskId,
    /// Boxed twice so that the field is one word: most tasks have no name.
    // A thin pointer keeps the field one word.
    #[allow(clippy::box_collection)]
    pub(crate) name: Option<Box<String>>,
    pub(crate) location: &'static Location<'static>,
    /// A word the executor owns (its registry slot); the core never reads it.
    pub(crate) tag: std::sync::atomic::AtomicUsize,
}

/// The whole allocation of one task.
#[repr(C)]
struct Cell<F: Future, S> {
    header: Header,
    // The metadata comes second so that its offset is the same for every
    // future and scheduler type: `RawTask::meta` finds it without a vtable
    // call.
    meta: Meta,
    schedule: S,
    stage: UnsafeCell<Stage<F>>,
}

/// The offset of `Cell::meta`: `Cell` is `repr(C)` and its first two fields
/// have the same types whatever `F` and `S` are, so the offset computed for
/// one instantiation holds for all.
const META_OFFSET: usize = std::mem::offset_of!(Cell<std::future::Pending<()>, ()>, meta);

/// The future, then its output, then nothing once the output is taken.
enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, TaskError>),
    Consumed,
}

/// One counted reference to a task. Cloning takes another; dropping releases
/// it and frees the task when it was the last.
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// The state word and the waker slot are synchronized by the protocol above;
// the scheduler hook is `Send + Sync`; metadata is immutable. For futures that
// are not `Send`, `spawn_unchecked`'s contract keeps every access to the
// future on its owner thread.
// SAFETY: as argued just above.
unsafe impl Send for RawTask {}
// SAFETY: as for `Send`; every `&self` method is a synchronized state
// transition or a read of immutable metadata.
unsafe impl Sync for RawTask {}

impl RawTask {
    /// Allocates a task and returns two references: the first for the
    /// `Runnable` (the task starts `SCHEDULED`), the second for the `Task`
    /// (which holds `JOIN_INTEREST`).
    ///
    /// # Safety
    ///
    /// If `F` or `F::Output` is not `Send`, the caller upholds the contract of
    /// [`spawn_unchecked`](crate::spawn_unchecked).
    pub(crate) unsafe fn new<F, S>(future: F, schedule: S, meta: Meta) -> (RawTask, RawTask)
    where
        F: Future + 'static,
        S: Fn(Runnable) + Send + Sync + 'static,
    {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: vtable::<F, S>(),
                join_waker: UnsafeCell::new(None),
            },
            schedule,
            meta,
            stage: UnsafeCell::new(Stage::Running(future)),
        });
        // `Header` is the first field of a `repr(C)` struct, so the cell's
        // address is the header's; the pointer keeps the whole cell's
        // provenance.
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        (RawTask { ptr }, RawTask { ptr })
    }

    fn header(&self) -> &Header {
        // SAFETY: this reference keeps the cell alive, and the header is only
        // ever accessed through shared references (its mutable parts are an
        // atomic and an `UnsafeCell`).
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn state(&self) -> Snapshot {
        self.header().state.load()
    }

    pub(crate) fn meta(&self) -> &Meta {
        // `ptr` points to the start of a live `Cell<F, S>` (the header is its
        // first field) and carries the provenance of the whole allocation;
        // `Cell::meta` sits at `META_OFFSET` for every `F` and `S` (see
        // there). The metadata is initialised at spawn, only read afterwards
        // (its one mutable word is atomic), and lives as long as the cell,
        // which this reference keeps alive.
        // SAFETY: the offset and the lifetime are argued just above.
        unsafe {
            &*self
                .ptr
                .as_ptr()
                .cast::<u8>()
                .add(META_OFFSET)
                .cast::<Meta>()
        }
    }

    /// Runs the task once, consuming this (the `Runnable`'s) reference.
    pub(crate) fn run(self) -> bool {
        let this = ManuallyDrop::new(self);
        // SAFETY: the vtable matches the cell, and the reference moves into
        // `run`, which releases it.
        unsafe { (this.header().vtable.run)(this.ptr) }
    }

    /// Cancels and drops the future of a `Runnable` that was never run,
    /// consuming its reference.
    pub(crate) fn cancel_run(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: as in `run`.
        unsafe { (this.header().vtable.cancel_run)(this.ptr) }
    }

    /// Requests cancellation. Returns `false` when the task already finished.
    pub(crate) fn cancel(&self) -> bool {
        match self.header().state.cancel() {
            Cancel::AlreadyComplete => false,
            Cancel::Requested => true,
            Cancel::Submit => {
                self.submit_new_reference();
                true
            }
        }
    }

    /// Wakes the task: schedules it if it is idle.
    pub(crate) fn wake_by_ref(&self) {
        match self.header().state.wake_by_ref() {
            Wake::Submit => self.submit_new_reference(),
            Wake::Nothing => {}
        }
    }

    /// Hands the scheduler a `Runnable` for the reference a transition just
    /// counted. `self` keeps its own reference during the call.
    fn submit_new_reference(&self) {
        // SAFETY: the vtable matches the cell, the state word counts the
        // reference the new `Runnable` takes over, and `self` keeps the cell
        // alive until the scheduler returns.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    /// The `Task` side of the join protocol: returns `true` when the output
    /// is ready to take, or registers `waker` and returns `false`.
    ///
    /// Only the holder of `JOIN_INTEREST` (the `Task`) may call this.
    pub(crate) fn poll_join(&self, waker: &Waker) -> bool {
        let header = self.header();
        let snapshot = header.state.load();
        if snapshot.is(COMPLETE) {
            return true;
        }
        if snapshot.is(JOIN_WAKER) {
            let unchanged = header.join_waker.with(|slot| {
                // SAFETY: with `JOIN_WAKER` set the completer may read the
                // slot concurrently, and so may we: nobody writes it.
                unsafe { &*slot }
                    .as_ref()
                    .is_some_and(|stored| stored.will_wake(waker))
            });
            if unchanged {
                return false;
            }
            if header.state.unset_join_waker().is_err() {
                return true;
            }
        }
        // `JOIN_WAKER` is clear and we hold `JOIN_INTEREST`: nobody else
        // reads or writes the slot.
        header.join_waker.with_mut(|slot| {
            // SAFETY: the slot is ours alone, as said above.
            unsafe { *slot = Some(waker.clone()) }
        });
        if header.state.set_join_waker().is_ok() {
            return false;
        }
        // The task completed before `JOIN_WAKER` was set, so the completer
        // did not read the slot and never will: it is still ours to empty.
        // SAFETY: as above.
        let stale = header.join_waker.with_mut(|slot| unsafe { (*slot).take() });
        drop(stale);
        true
    }

    /// Takes the output after [`RawTask::poll_join`] returned `true`.
    /// Returns `None` if it was taken before.
    ///
    /// # Safety
    ///
    /// `T` is the output type of the task's future, and the caller holds
    /// `JOIN_INTEREST` and has seen `COMPLETE`.
    pub(crate) unsafe fn take_output<T>(&self) -> Option<Result<T, TaskError>> {
        let mut output: Option<Result<T, TaskError>> = None;
        let dst: *mut Option<Result<T, TaskError>> = &mut output;
        // SAFETY: the vtable matches the cell, its future's output is `T` (the
        // caller's promise), and the stage belongs to the join handle.
        unsafe { (self.header().vtable.take_output)(self.ptr, dst.cast::<()>()) };
        output
    }

    /// Returns `true` if the output, still in the task, is a panic; `false`
    /// for any other output and once the output was taken.
    ///
    /// # Safety
    ///
    /// The caller holds `JOIN_INTEREST` (it is the `Task`) and has seen
    /// `COMPLETE`.
    pub(crate) unsafe fn output_is_panic(&self) -> bool {
        // SAFETY: the vtable matches the cell, and the stage belongs to the
        // join handle (our caller) once `COMPLETE` is set.
        unsafe { (self.header().vtable.output_is_panic)(self.ptr) }
    }

    /// Gives up the join interest (the `Task` is dropped or detached) and
    /// the `Task`'s reference, dropping the output or the join waker,
    /// whichever the `Task` owns.
    ///
    /// Only the holder of `JOIN_INTEREST` may call this, once, with the
    /// reference that goes with it.
    fn release_join_interest(self) {
        let this = ManuallyDrop::new(self);
        let header = this.header();
        let seen = header.state.load();
        let output_gone = seen.is(COMPLETE);
        if output_gone {
            // SAFETY: the vtable matches the cell; the task completed while
            // we held `JOIN_INTEREST`, so the output is ours to drop.
            unsafe { (header.vtable.drop_output)(this.ptr) };
        }
        // With `JOIN_WAKER` clear the slot is ours alone (see the protocol),
        // and only we ever set that bit again.
        let slot_empty = !seen.is(JOIN_WAKER)
            // SAFETY: as said just above.
            && header.join_waker.with(|slot| unsafe { (*slot).is_none() });
        match header.state.drop_join_interest(output_gone, slot_empty) {
            DropJoin::Released(Release::Released) => return,
            DropJoin::Released(Release::Dealloc) => {
                // SAFETY: that was the last reference; the vtable matches.
                unsafe { (header.vtable.dealloc)(this.ptr) };
                return;
            }
            // SAFETY: the vtable matches the cell; the task is complete and
            // the completer left the output to the join handle.
            DropJoin::DropOutput => unsafe { (header.vtable.drop_output)(this.ptr) },
            DropJoin::DropWaker => {
                // SAFETY: `JOIN_WAKER` and `JOIN_INTEREST` are now clear, so
                // the completer will not read the slot; only we wrote it.
                let waker = header.join_waker.with_mut(|slot| unsafe { (*slot).take() });
                drop(waker);
            }
        }
        // The `Task`'s reference, which the transition did not release.
        drop(ManuallyDrop::into_inner(this));
    }
}

/// The `Task` handle's reference: it holds `JOIN_INTEREST`, and dropping it
/// gives that up together with the reference, in one transition when it can.
pub(crate) struct JoinRef {
    raw: ManuallyDrop<RawTask>,
}

impl JoinRef {
    pub(crate) fn new(raw: RawTask) -> JoinRef {
        JoinRef {
            raw: ManuallyDrop::new(raw),
        }
    }
}

impl std::ops::Deref for JoinRef {
    type Target = RawTask;

    fn deref(&self) -> &RawTask {
        &self.raw
    }
}

impl Drop for JoinRef {
    fn drop(&mut self) {
        // SAFETY: `raw` is never used again: this is `drop`.
        let raw = unsafe { ManuallyDrop::take(&mut self.raw) };
        raw.release_join_interest();
    }
}

impl Clone for RawTask {
    fn clone(&self) -> RawTask {
        self.header().state.ref_inc();
        RawTask { ptr: self.ptr }
    }
}

impl Drop for RawTask {
    fn drop(&mut self) {
        match self.header().state.ref_dec() {
            Release::Released => {}
            // SAFETY: that was the last reference, so nothing else can touch
            // the cell; the vtable matches it.
            Release::Dealloc => unsafe { (self.header().vtable.dealloc)(self.ptr) },
        }
    }
}

fn vtable<F, S>() -> &'static Vtable
where
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
        dealloc: dealloc::<F, S>,
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
/// `ptr` points to a live `Cell<F, S>`; the state word counts a reference for
/// the new `Runnable`, and the caller holds another one during the call.
unsafe fn schedule<F: Future, S: Fn(Runnable)>(ptr: NonNull<Header>) {
    // SAFETY: the cell is live (caller), and the scheduler hook is immutable.
    let hook: &S = unsafe { &(*cell::<F, S>(ptr)).schedule };
    hook(Runnable::from_raw(RawTask { ptr }));
}

/// # Safety
///
/// `ptr` points to a live `Cell<F, S>` and the caller has access to the
/// stage under the protocol.
unsafe fn stage<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a UnsafeCell<Stage<F>> {
    // SAFETY: the cell is live; the `UnsafeCell` is only ever shared.
    unsafe { &(*cell::<F, S>(ptr)).stage }
}

/// # Safety
///
/// `ptr` points to a live `Cell<F, S>` and the caller owns the stage.
unsafe fn replace_stage<F: Future, S>(ptr: NonNull<Header>, new: Stage<F>) -> Stage<F> {
    // SAFETY: the caller owns the stage (see the protocol).
    unsafe { stage::<F, S>(ptr) }.with_mut(|slot| unsafe { mem::replace(&mut *slot, new) })
}

/// # Safety
///
/// `ptr` points to a live `Cell<F, S>` and the caller owns one reference,
/// which this releases.
unsafe fn run<F: Future, S: Fn(Runnable)>(ptr: NonNull<Header>) -> bool {
    let task = RawTask { ptr };
    match task.header().state.start_run() {
        StartRun::Poll => {}
        StartRun::Cancel => {
            // SAFETY: we hold `RUNNING` and the reference.
            unsafe { finish_cancelled::<F, S>(task) };
            return true;
        }
    }
    let raw_waker = RawWaker::new(ptr.as_ptr().cast_const().cast::<()>(), &WAKER_VTABLE);
    // SAFETY: `WAKER_VTABLE` upholds the `RawWaker` contract for a header
    // pointer; this waker borrows `task`'s reference and is never dropped.
    let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw_waker) });
    let mut cx = Context::from_waker(&waker);
    // SAFETY: we hold `RUNNING`, so the stage is ours until we set `COMPLETE`.
    let stage = unsafe { stage::<F, S>(ptr) };
    let polled = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: we hold `RUNNING`, so nobody else touches the stage.
        stage.with_mut(|slot| match unsafe { &mut *slot } {
            // SAFETY: the future lives in the heap cell and is never moved
            // until it is dropped in place.
            Stage::Running(future) => unsafe { Pin::new_unchecked(future) }.poll(&mut cx),
            _ => unreachable!("a task is polled only while its future is alive"),
        })
    }));
    match polled {
        Ok(Poll::Pending) => match task.header().state.after_pending() {
            AfterPending::Idle => false,
            AfterPending::Reschedule => {
                task.submit_new_reference();
                false
            }
            AfterPending::Cancel => {
                // SAFETY: we still hold `RUNNING` and the reference.
                unsafe { finish_cancelled::<F, S>(task) };
                true
            }
        },
        Ok(Poll::Ready(output)) => {
            // SAFETY: we hold `RUNNING` and the reference.
            unsafe { finish::<F, S>(task, Ok(output)) };
            true
        }
        Err(payload) => {
            // SAFETY: we hold `RUNNING` and the reference.
            unsafe { finish::<F, S>(task, Err(TaskError::Panicked(payload))) };
            true
        }
    }
}

/// # Safety
///
/// `ptr` points to a live `Cell<F, S>` whose state is `SCHEDULED`, and the
/// caller owns the `Runnable`'s reference, which this releases.
unsafe fn cancel_run<F: Future, S>(ptr: NonNull<Header>) {
    let task = RawTask { ptr };
    task.header().state.start_cancel_run();
    // SAFETY: we hold `RUNNING` and the reference.
    unsafe { finish_cancelled::<F, S>(task) };
}

/// Drops the future in place, catching a panic from its destructor.
///
/// # Safety
///
/// The caller holds `RUNNING` on a live `Cell<F, S>`.
unsafe fn drop_future<F: Future, S>(task: &RawTask) -> Result<(), Box<dyn Any + Send>> {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: we hold `RUNNING`, so the stage is ours.
        drop(unsafe { replace_stage::<F, S>(task.ptr, Stage::Consumed) });
    }))
}

/// Finishes a task whose poll returned or panicked, releasing the runner's
/// reference.
///
/// # Safety
///
/// The caller holds `RUNNING` on a live `Cell<F, S>`, and `task` is its
/// reference.
unsafe fn finish<F: Future, S>(task: RawTask, output: Result<F::Output, TaskError>) {
    // SAFETY: we hold `RUNNING`.
    let output = match (unsafe { drop_future::<F, S>(&task) }, output) {
        (Ok(()), output) => output,
        (Err(payload), Ok(value)) => {
            drop_quietly(value);
            Err(TaskError::Panicked(payload))
        }
        // The panic from `poll` is the one worth reporting.
        (Err(second), Err(first)) => {
            drop_quietly(second);
            Err(first)
        }
    };
    // SAFETY: we hold `RUNNING`.
    let output_gone = unsafe { store_output::<F, S>(&task, output) };
    let completed = match task.header().state.try_complete(output_gone) {
        TryComplete::Completed(completed) => completed,
        TryComplete::CancelRequested => {
            if !output_gone {
                // SAFETY: nothing changed; we still hold `RUNNING`.
                let superseded = unsafe {
                    replace_stage::<F, S>(task.ptr, Stage::Finished(Err(TaskError::Cancelled)))
                };
                drop_quietly(superseded);
            }
            task.header().state.complete_cancelled(output_gone)
        }
    };
    // SAFETY: the completing transition returned `completed`.
    unsafe { settle::<F, S>(task, completed) };
}

/// Drops the future of a cancelled task and completes it as cancelled,
/// releasing the runner's reference.
///
/// # Safety
///
/// The caller holds `RUNNING` on a live `Cell<F, S>`, with `CANCELLED` set,
/// and `task` is its reference.
unsafe fn finish_cancelled<F: Future, S>(task: RawTask) {
    // SAFETY: we hold `RUNNING`.
    let output = match unsafe { drop_future::<F, S>(&task) } {
        Ok(()) => Err(TaskError::Cancelled),
        Err(payload) => Err(TaskError::Panicked(payload)),
    };
    // SAFETY: we hold `RUNNING`.
    let output_gone = unsafe { store_output::<F, S>(&task, output) };
    let completed = task.header().state.complete_cancelled(output_gone);
    // SAFETY: the completing transition returned `completed`.
    unsafe { settle::<F, S>(task, completed) };
}

/// Stores the output in the stage, or drops it right away when nobody holds
/// join interest (which is never taken back); returns `true` in that case.
///
/// # Safety
///
/// The caller holds `RUNNING` on a live `Cell<F, S>` whose future is gone.
unsafe fn store_output<F: Future, S>(task: &RawTask, output: Result<F::Output, TaskError>) -> bool {
    if task.header().state.load().is(JOIN_INTEREST) {
        // SAFETY: we hold `RUNNING`.
        drop(unsafe { replace_stage::<F, S>(task.ptr, Stage::Finished(output)) });
        false
    } else {
        drop_quietly(output);
        true
    }
}

/// Performs what the completing transition left to do, and releases the
/// runner's reference unless the transition already did.
///
/// # Safety
///
/// `task` is the runner's reference to a live `Cell<F, S>` that this thread
/// just completed with the transition that returned `completed`.
unsafe fn settle<F: Future, S>(task: RawTask, completed: Completed) {
    let completion = match completed {
        Completed::Released(release) => {
            let task = ManuallyDrop::new(task);
            if release == Release::Dealloc {
                // SAFETY: the transition released the last reference.
                unsafe { dealloc::<F, S>(task.ptr) };
            }
            return;
        }
        Completed::Then(completion) => completion,
    };
    match completion {
        Completion::DropOutput => {
            // SAFETY: no join interest was left when we completed, so the
            // output is ours to drop.
            drop_quietly(unsafe { replace_stage::<F, S>(task.ptr, Stage::Consumed) });
        }
        Completion::WakeJoiner => {
            let header = task.header();
            // SAFETY: `JOIN_WAKER` was set when `COMPLETE` was, so the `Task`
            // never writes the slot again; we only read it.
            let woken = header.join_waker.with(|slot| {
                catch_unwind(AssertUnwindSafe(|| {
                    // SAFETY: see above; a shared read.
                    if let Some(waker) = unsafe { &*slot } {
                        waker.wake_by_ref();
                    }
                }))
            });
            drop_quietly(woken);
        }
    }
    drop(task);
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
    // SAFETY: the stage belongs to the join handle once `COMPLETE` is set,
    // and the handle only reads it here. Only the discriminants are read,
    // never the output itself, so this is sound where the output is not
    // `Sync` and two threads ask through a shared `&Task` at once.
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
    drop_quietly(unsafe { replace_stage::<F, S>(ptr, Stage::Consumed) });
}

/// # Safety
///
/// `ptr` points to a `Cell<F, S>` whose last reference was just released.
unsafe fn dealloc<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the cell came from `Box::leak` in `RawTask::new`, and no
    // reference to it remains.
    let cell = unsafe { Box::from_raw(cell::<F, S>(ptr)) };
    let stage = cell
        .stage
        // SAFETY: we own the whole cell.
        .with_mut(|slot| unsafe { mem::replace(&mut *slot, Stage::Consumed) });
    drop_quietly(stage);
    drop_quietly(cell);
}

/// Drops `value`, discarding a panic from its destructor: nobody is left to
/// report it to, and a panic must not unwind out of the task machinery.
fn drop_quietly<T>(value: T) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        // The payload's own destructor could panic too; leak it instead.
        mem::forget(payload);
    }
}

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

/// # Safety
///
/// `data` is a header pointer from `run` or `waker_clone`, with a reference
/// held by the waker (or by the runner, for the borrowed waker in `run`).
unsafe fn header_ptr(data: *const ()) -> NonNull<Header> {
    // SAFETY: wakers are only made from non-null header pointers.
    unsafe { NonNull::new_unchecked(data.cast_mut().cast::<Header>()) }
}

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` comes from one of our wakers, which holds a reference.
    let ptr = unsafe { header_ptr(data) };
    // The waker being cloned keeps its reference; `task` only borrows it.
    let task = ManuallyDrop::new(RawTask { ptr });
    task.header().state.ref_inc();
    RawWaker::new(data, &WAKER_VTABLE)
}

unsafe fn waker_wake(data: *const ()) {
    // SAFETY: `data` comes from one of our wakers, which holds a reference.
    let ptr = unsafe { header_ptr(data) };
    // The waker's reference moves into `task`, released at the end.
    let task = RawTask { ptr };
    task.wake_by_ref();
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: `data` comes from one of our wakers, which holds a reference.
    let ptr = unsafe { header_ptr(data) };
    // The waker keeps its reference; `task` only borrows it.
    let task = ManuallyDrop::new(RawTask { ptr });
    task.wake_by_ref();
}

unsafe fn waker_drop(data: *const ()) {
    // SAFETY: `data` comes from one of our wakers, which holds a reference.
    let ptr = unsafe { header_ptr(data) };
    // The waker's reference moves into `RawTask`, released here.
    drop(RawTask { ptr });
}

/// The size of the task header, in bytes.
pub(crate) fn header_size() -> usize {
    mem::size_of::<Header>()
}

/// The size of a whole task allocation for future `F` and scheduler `S`.
pub(crate) fn cell_size<F: Future, S>() -> usize {
    mem::size_of::<Cell<F, S>>()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_header_fits_in_32_bytes() {
        assert!(header_size() <= 32, "header is {} bytes", header_size());
    }

    #[test]
    fn the_header_is_at_the_start_of_the_cell() {
        assert_eq!(
            std::mem::offset_of!(Cell<std::future::Ready<()>, fn(Runnable)>, header),
            0
        );
    }
}
