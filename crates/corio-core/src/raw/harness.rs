//! Running a task: one poll under `RUNNING`, then completion or
//! cancellation, with every panic from the future caught.
//!
//! `run` and `cancel_run` are the two vtable entries that take the stage; the
//! rest of this file is the path they share from "the future is done" to
//! "the runner's reference is released": drop the future (`finish`,
//! `finish_cancelled`), store or drop the output (`store_output`), set
//! `COMPLETE`, then do whatever that transition left to do (`settle`).

use std::any::Any;
use std::future::Future;
use std::mem::{self, ManuallyDrop};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use super::cell::{replace_stage, with_stage, Header, Meta, Stage};
use super::reference::RawTask;
use super::waker::borrowed_waker;
use crate::debug::UnretrievedPanic;
use crate::error::TaskError;
use crate::state::{
    AfterPending, Completed, Completion, Output, Release, StartRun, TryComplete, JOIN_INTEREST,
};

/// Runs the task once; returns `true` when it finished.
///
/// # Safety
///
/// `ptr` points to a live `Cell<F, S>` and the caller owns one reference
/// (the `Runnable`'s), which this releases.
pub(super) unsafe fn run<F: Future, S>(ptr: NonNull<Header>) -> bool {
    // SAFETY: the caller hands over its counted reference.
    let task = unsafe { RawTask::from_counted(ptr) };
    match task.header().state.start_run() {
        StartRun::Poll => {}
        StartRun::Cancel => {
            // SAFETY: we hold `RUNNING` and the reference.
            unsafe { finish_cancelled::<F, S>(task) };
            return true;
        }
    }
    // SAFETY: `task` holds a reference for as long as the waker is used: the
    // waker lives only in this call, and a clone takes its own reference.
    let waker = unsafe { borrowed_waker(ptr) };
    let mut cx = Context::from_waker(&waker);
    let poll = |stage: &mut Stage<F>| match stage {
        // SAFETY: the future lives in the heap cell and is never moved until
        // it is dropped in place.
        Stage::Running(future) => unsafe { Pin::new_unchecked(future) }.poll(&mut cx),
        _ => unreachable!("a task is polled only while its future is alive"),
    };
    // SAFETY: we hold `RUNNING`, so nobody else touches the stage.
    let polled = catch_unwind(AssertUnwindSafe(|| unsafe {
        with_stage::<F, S, _>(ptr, poll)
    }));
    match polled {
        Ok(Poll::Pending) => match task.header().state.after_pending() {
            AfterPending::Idle => {
                // The transition released the reference `task` stands for.
                mem::forget(task);
                false
            }
            // Dropping `task` releases the last reference.
            AfterPending::IdleLast => false,
            AfterPending::Reschedule => {
                task.submit_own_reference();
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

/// Drops the future of a `Runnable` dropped unrun.
///
/// # Safety
///
/// `ptr` points to a live `Cell<F, S>` whose state is `SCHEDULED`, and the
/// caller owns the `Runnable`'s reference, which this releases.
pub(super) unsafe fn cancel_run<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the caller hands over its counted reference.
    let task = unsafe { RawTask::from_counted(ptr) };
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
        drop(unsafe { replace_stage::<F, S>(task.header_ptr(), Stage::Consumed) });
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
    let stored = unsafe { store_output::<F, S>(&task, output) };
    let completed = match task.header().state.try_complete(stored) {
        TryComplete::Completed(completed) => completed,
        TryComplete::CancelRequested => {
            if stored == Output::Stored {
                let cancelled = Stage::Finished(Err(TaskError::Cancelled));
                // SAFETY: nothing changed; we still hold `RUNNING`.
                let superseded = unsafe { replace_stage::<F, S>(task.header_ptr(), cancelled) };
                drop_quietly(superseded);
            }
            task.header().state.complete_cancelled(stored)
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
    let stored = unsafe { store_output::<F, S>(&task, output) };
    let completed = task.header().state.complete_cancelled(stored);
    // SAFETY: the completing transition returned `completed`.
    unsafe { settle::<F, S>(task, completed) };
}

/// Stores the output in the stage, or drops it right away when nobody holds
/// join interest (which is never taken back); says which it did.
///
/// # Safety
///
/// The caller holds `RUNNING` on a live `Cell<F, S>` whose future is gone.
unsafe fn store_output<F: Future, S>(
    task: &RawTask,
    output: Result<F::Output, TaskError>,
) -> Output {
    if task.header().state.load().is(JOIN_INTEREST) {
        // SAFETY: we hold `RUNNING`.
        drop(unsafe { replace_stage::<F, S>(task.header_ptr(), Stage::Finished(output)) });
        Output::Stored
    } else {
        discard(&task.header().meta, output);
        Output::Gone
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
                // SAFETY: the transition released the last reference, and
                // `task`, in a `ManuallyDrop`, is not used after.
                unsafe { task.dealloc() };
            }
            return;
        }
        Completed::Then(completion) => completion,
    };
    match completion {
        Completion::DropOutput => {
            // SAFETY: no join interest was left when we completed, so the
            // output is ours to drop.
            let stage = unsafe { replace_stage::<F, S>(task.header_ptr(), Stage::Consumed) };
            discard_stage(&task.header().meta, stage);
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

/// Drops an output that no `Task` read. A panic is first reported to the
/// task's unretrieved-panic hook, if it has one (debug mode; see
/// `crate::debug`); a panic of the hook itself is discarded.
pub(super) fn discard<T>(meta: &Meta, output: Result<T, TaskError>) {
    match (output, meta.debug()) {
        (Err(error @ TaskError::Panicked(_)), Some(debug)) => {
            let report = UnretrievedPanic {
                id: meta.id,
                name: meta.name(),
                location: meta.location,
                error: &error,
            };
            drop_quietly(catch_unwind(AssertUnwindSafe(|| (debug.hook)(&report))));
            drop_quietly(error);
        }
        (output, _) => drop_quietly(output),
    }
}

/// [`discard`] for a stage taken out of the cell.
pub(super) fn discard_stage<F: Future>(meta: &Meta, stage: Stage<F>) {
    match stage {
        Stage::Finished(output) => discard(meta, output),
        other => drop_quietly(other),
    }
}

/// Drops `value`, discarding a panic from its destructor: nobody is left to
/// report it to, and a panic must not unwind out of the task machinery.
pub(super) fn drop_quietly<T>(value: T) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        // The payload's own destructor could panic too; leak it instead.
        mem::forget(payload);
    }
}
