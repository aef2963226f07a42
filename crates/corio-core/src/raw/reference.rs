//! One counted reference to a task ([`RawTask`]) and the join handle's
//! reference ([`JoinRef`]): the only way the rest of the crate reaches a
//! task cell.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::Waker;

use super::cell::{allocate, Header, Meta};
use crate::error::TaskError;
use crate::state::{
    Cancel, DropJoin, Output, Release, Snapshot, Wake, WakeByVal, WakerSlot, COMPLETE, JOIN_WAKER,
};
use crate::task::Runnable;

/// One counted reference to a task. Cloning takes another; dropping releases
/// it and frees the task when it was the last.
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// The state word and the waker slot are synchronized by the protocol (see
// the module docs); the scheduler hook is `Send + Sync`; metadata is
// immutable but for an atomic. For futures that are not `Send`,
// `spawn_unchecked`'s contract keeps every access to the future on its owner
// thread.
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
    pub(crate) unsafe fn new<A, F, S>(future: F, schedule: S, meta: Meta) -> (RawTask, RawTask)
    where
        A: 'static,
        F: std::future::Future + 'static,
        S: Fn(Runnable) + Send + Sync + 'static,
    {
        let ptr = allocate::<A, F, S>(future, schedule, meta);
        // The state word starts with two references, one for each handle.
        (RawTask { ptr }, RawTask { ptr })
    }

    /// Takes over a reference the state word already counts.
    ///
    /// # Safety
    ///
    /// `ptr` points to a live task cell, and the caller gives up one counted
    /// reference to it, which the result then holds.
    pub(super) unsafe fn from_counted(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    /// The pointer this reference holds, for the cell's typed operations.
    pub(super) fn header_ptr(&self) -> NonNull<Header> {
        self.ptr
    }

    pub(super) fn header(&self) -> &Header {
        // SAFETY: this reference keeps the cell alive, and the header is only
        // ever accessed through shared references (its mutable parts are
        // atomics and an `UnsafeCell`).
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn state(&self) -> Snapshot {
        self.header().state.load()
    }

    /// The task's metadata: a field of the header, initialised at spawn and
    /// only read afterwards (its one mutable word is atomic).
    pub(crate) fn meta(&self) -> &Meta {
        &self.header().meta
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

    /// A wake that consumes the reference `self` stands for: it becomes the
    /// new `Runnable`'s, or is released. The caller must not drop `self`
    /// afterwards (it holds it in a `ManuallyDrop`).
    pub(crate) fn wake_by_val(&self) {
        match self.header().state.wake_by_val() {
            // SAFETY: the vtable matches the cell, and the transition moved
            // this handle's reference to the `Runnable` the scheduler makes;
            // nothing here touches the cell after the call.
            WakeByVal::Submit => unsafe { (self.header().vtable.schedule)(self.ptr) },
            WakeByVal::Released(Release::Released) => {}
            // SAFETY: that was the last reference.
            WakeByVal::Released(Release::Dealloc) => unsafe { self.dealloc() },
        }
    }

    /// Frees the cell, through the vtable's `dealloc` (which knows how the
    /// allocation was made).
    ///
    /// # Safety
    ///
    /// A transition has just released the last reference, so nothing else
    /// can touch the cell; `self` is not used (nor dropped) afterwards.
    pub(super) unsafe fn dealloc(&self) {
        // SAFETY: the vtable matches the cell, and the caller guarantees the
        // cell is ours alone and never touched again.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }

    /// Hands the scheduler a `Runnable` for the reference `self` stands for,
    /// which a transition has just moved over to it (`AfterPending::
    /// Reschedule`). The cell may be gone once the scheduler returns (it may
    /// run the task to completion inline), so nothing touches it after.
    pub(super) fn submit_own_reference(self) {
        // Soundness: the state word counts the reference the new `Runnable`
        // takes over (this handle's, which `ManuallyDrop` keeps from being
        // released twice), and nothing here touches the cell after the call.
        let this = ManuallyDrop::new(self);
        // SAFETY: the vtable matches the cell; the reference moves, as above.
        unsafe { (this.header().vtable.schedule)(this.ptr) }
    }

    /// Hands the scheduler a `Runnable` for the reference a transition just
    /// counted. `self` keeps its own reference during the call.
    pub(super) fn submit_new_reference(&self) {
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
        let output = if seen.is(COMPLETE) {
            // SAFETY: the vtable matches the cell; the task completed while
            // we held `JOIN_INTEREST`, so the output is ours to drop.
            unsafe { (header.vtable.drop_output)(this.ptr) };
            Output::Gone
        } else {
            Output::Stored
        };
        // With `JOIN_WAKER` clear the slot is ours alone (see the protocol),
        // and only we ever set that bit again.
        let slot_empty = !seen.is(JOIN_WAKER)
            // SAFETY: as said just above.
            && header.join_waker.with(|slot| unsafe { (*slot).is_none() });
        let slot = if slot_empty {
            WakerSlot::Empty
        } else {
            WakerSlot::Occupied
        };
        match header.state.drop_join_interest(output, slot) {
            DropJoin::Released(Release::Released) => return,
            DropJoin::Released(Release::Dealloc) => {
                // SAFETY: that was the last reference.
                unsafe { this.dealloc() };
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
            // SAFETY: that was the last reference.
            Release::Dealloc => unsafe { self.dealloc() },
        }
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
