//! Wakers that point at the task itself: the data pointer of every
//! `RawWaker` made here is a task's header, and each waker holds one counted
//! reference (except the one `run` lends to the future, which borrows the
//! runner's). Cloning takes a reference, waking schedules the task if it is
//! idle, dropping releases the reference; nothing allocates.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::cell::Header;
use super::reference::RawTask;

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

/// A waker for the task at `ptr` that borrows a reference instead of owning
/// one: it must never be dropped, hence the `ManuallyDrop`. Its clones own
/// references of their own.
///
/// # Safety
///
/// `ptr` points to a live task cell, and the caller holds a reference to it
/// for as long as the returned waker is used.
pub(super) unsafe fn borrowed_waker(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
    let raw_waker = RawWaker::new(ptr.as_ptr().cast_const().cast::<()>(), &WAKER_VTABLE);
    // Soundness: `WAKER_VTABLE` upholds the `RawWaker` contract for a header
    // pointer that carries a reference, which the caller lends for as long as
    // the waker is used; the waker is never dropped, so it never releases
    // that reference.
    // SAFETY: the vtable keeps the contract; the lent reference outlives the waker.
    ManuallyDrop::new(unsafe { Waker::from_raw(raw_waker) })
}

/// # Safety
///
/// `data` is a header pointer from `borrowed_waker` or `waker_clone`, with a
/// reference held by the waker (or by the runner, for the borrowed waker).
unsafe fn header_ptr(data: *const ()) -> NonNull<Header> {
    // SAFETY: wakers are only made from non-null header pointers.
    unsafe { NonNull::new_unchecked(data.cast_mut().cast::<Header>()) }
}

/// The waker's reference, borrowed: not released when the result is dropped.
///
/// # Safety
///
/// As for `header_ptr`.
unsafe fn borrow(data: *const ()) -> ManuallyDrop<RawTask> {
    // SAFETY: `data` comes from one of our wakers, which holds a reference;
    // the `ManuallyDrop` keeps it the waker's.
    ManuallyDrop::new(unsafe { RawTask::from_counted(header_ptr(data)) })
}

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` comes from one of our wakers.
    let task = unsafe { borrow(data) };
    task.header().state.ref_inc();
    RawWaker::new(data, &WAKER_VTABLE)
}

unsafe fn waker_wake(data: *const ()) {
    // SAFETY: `data` comes from one of our wakers, whose reference
    // `wake_by_val` consumes (passes on or releases); the `ManuallyDrop`
    // keeps it from being released a second time.
    let task = unsafe { borrow(data) };
    task.wake_by_val();
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: `data` comes from one of our wakers.
    let task = unsafe { borrow(data) };
    task.wake_by_ref();
}

unsafe fn waker_drop(data: *const ()) {
    // SAFETY: `data` comes from one of our wakers, whose reference moves into
    // the `RawTask` and is released here.
    drop(unsafe { RawTask::from_counted(header_ptr(data)) });
}
