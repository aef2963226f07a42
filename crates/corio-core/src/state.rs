//! The state word of a task: lifecycle bits and the reference count, folded
//! into one `AtomicUsize`.
//!
//! This module decides; it never acts. Each transition is one atomic
//! read-modify-write that returns a `#[must_use]` enum naming what the caller
//! must now do (poll, schedule a `Runnable`, drop the output, wake the joiner,
//! deallocate). The protocol itself, which handle may touch which field under
//! which bit, is written down in the [`raw`](crate::raw) module docs.
//!
//! # Bits
//!
//! | bit | name | meaning |
//! |---|---|---|
//! | 0 | [`SCHEDULED`] | a `Runnable` exists and has not started running |
//! | 1 | [`RUNNING`] | a thread is inside `run` and owns the future |
//! | 2 | [`NOTIFIED`] | woken while `RUNNING`: reschedule once the poll returns `Pending` |
//! | 3 | [`COMPLETE`] | the future is gone and the stage holds the output (never cleared) |
//! | 4 | [`CANCELLED`] | cancellation was requested (never cleared) |
//! | 5 | [`JOIN_INTEREST`] | the `Task` handle is alive and may read the output |
//! | 6 | [`JOIN_WAKER`] | the join waker slot holds a waker the completer may read |
//! | 7.. | reference count | in units of [`REF_ONE`] |
//!
//! `SCHEDULED` and `RUNNING` are never set together, and neither is set once
//! `COMPLETE` is, so a task is never polled after it finished.

use crate::loom::{AtomicUsize, Ordering};

/// A `Runnable` exists for the task and has not started running.
pub(crate) const SCHEDULED: usize = 1 << 0;
/// A thread is inside `Runnable::run` and has exclusive access to the stage.
pub(crate) const RUNNING: usize = 1 << 1;
/// The task was woken while running; the runner reschedules it after `Pending`.
pub(crate) const NOTIFIED: usize = 1 << 2;
/// The task finished; the stage holds its output. Set once, never cleared.
pub(crate) const COMPLETE: usize = 1 << 3;
/// Cancellation was requested. Set once, never cleared.
pub(crate) const CANCELLED: usize = 1 << 4;
/// The `Task` join handle is alive and has not given up on the output.
pub(crate) const JOIN_INTEREST: usize = 1 << 5;
/// The join waker slot is written and belongs to the completer for reading.
pub(crate) const JOIN_WAKER: usize = 1 << 6;
/// One reference in the reference-count bits.
pub(crate) const REF_ONE: usize = 1 << 7;
/// Every bit below the reference count.
#[cfg(test)]
const FLAGS: usize = REF_ONE - 1;

/// A freshly spawned task: one `Runnable` (scheduled) and one `Task` handle,
/// each holding a reference.
const INITIAL: usize = SCHEDULED | JOIN_INTEREST | (2 * REF_ONE);

/// The state word of one task.
pub(crate) struct State {
    word: AtomicUsize,
}

/// A copy of the state word taken at one instant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    pub(crate) fn is(self, bit: usize) -> bool {
        self.0 & bit == bit
    }

    pub(crate) fn ref_count(self) -> usize {
        self.0 / REF_ONE
    }

    fn is_idle(self) -> bool {
        self.0 & (SCHEDULED | RUNNING | COMPLETE) == 0
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = [
            (SCHEDULED, "SCHEDULED"),
            (RUNNING, "RUNNING"),
            (NOTIFIED, "NOTIFIED"),
            (COMPLETE, "COMPLETE"),
            (CANCELLED, "CANCELLED"),
            (JOIN_INTEREST, "JOIN_INTEREST"),
            (JOIN_WAKER, "JOIN_WAKER"),
        ];
        let mut list = f.debug_list();
        for (bit, name) in names {
            if self.is(bit) {
                list.entry(&format_args!("{name}"));
            }
        }
        list.entry(&format_args!("refs={}", self.ref_count()));
        list.finish()
    }
}

/// What `run` does after taking the task from `SCHEDULED` to `RUNNING`.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StartRun {
    /// Poll the future.
    Poll,
    /// Cancellation was requested: drop the future instead of polling it.
    Cancel,
}

/// What the runner does after a poll returned `Pending`.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AfterPending {
    /// The task is idle, and the transition released the runner's
    /// reference: the runner touches the cell no more.
    Idle,
    /// The task is idle and the runner holds its last reference (no waker,
    /// no `Task`): the runner releases it, which deallocates the cell.
    IdleLast,
    /// A wake arrived during the poll: the task is `SCHEDULED` again, and the
    /// runner's reference becomes the new `Runnable`'s, which the runner
    /// passes to the scheduler (touching the cell no more after the call).
    Reschedule,
    /// Cancellation arrived during the poll: the task is still `RUNNING`; the
    /// runner drops the future and completes as cancelled.
    Cancel,
}

/// Whether the runner may keep the output it has, or must store a
/// cancellation instead.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TryComplete {
    /// The task is `COMPLETE` with the stored output.
    Completed(Completed),
    /// Cancellation was requested while running; nothing changed. The runner
    /// replaces the output with `Cancelled` and calls
    /// [`State::complete_cancelled`].
    CancelRequested,
}

/// What the runner does right after setting `COMPLETE`.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Completed {
    /// Nothing was left to do, so the runner's reference was released in the
    /// same transition; it deallocates if that was the last one.
    Released(Release),
    /// The runner still holds its reference: it performs the completion,
    /// then releases the reference.
    Then(Completion),
}

/// The completion work that needs the cell after `COMPLETE` is set.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Completion {
    /// Nobody holds join interest: the runner drops the output now.
    DropOutput,
    /// The `Task` registered a waker: the runner wakes it (by reference).
    WakeJoiner,
}

/// What a wake (by reference) asks of the waker.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The task was idle: it is now `SCHEDULED` and holds one more reference,
    /// which the waker passes to the scheduler inside a new `Runnable`.
    Submit,
    /// Already scheduled, running (now `NOTIFIED`) or complete.
    Nothing,
}

/// What a wake by value (the waker gives up its reference) asks of the
/// waker.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WakeByVal {
    /// The task was idle: it is now `SCHEDULED`, and the waker's reference
    /// becomes the new `Runnable`'s (no count changes).
    Submit,
    /// Already scheduled, running (now `NOTIFIED`) or complete: the waker's
    /// reference was released in the same transition.
    Released(Release),
}

/// What a cancellation request asks of the canceller.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Cancel {
    /// The task is already complete: nothing changes.
    AlreadyComplete,
    /// The runner or the pending `Runnable` will see `CANCELLED`.
    Requested,
    /// The task was idle: it is `CANCELLED | SCHEDULED` with one more
    /// reference, which the canceller passes to the scheduler in a new
    /// `Runnable` so that the owner thread drops the future.
    Submit,
}

/// What the `Task` handle does when it gives up join interest.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DropJoin {
    /// Nothing was left for the `Task` to clean up, so its reference was
    /// released in the same transition; it deallocates if that was the last.
    Released(Release),
    /// The task was complete: the `Task` owns the output, drops it, then
    /// releases its reference.
    DropOutput,
    /// The task was not complete; `JOIN_WAKER` was cleared with
    /// `JOIN_INTEREST`, so the `Task` owns the waker slot, empties it, then
    /// releases its reference.
    DropWaker,
}

/// The result of releasing a reference.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Release {
    /// Other references remain.
    Released,
    /// That was the last reference: deallocate.
    Dealloc,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            word: AtomicUsize::new(INITIAL),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.word.load(Ordering::Acquire))
    }

    /// Applies `decide` until its compare-exchange succeeds. `decide` returns
    /// the outcome and, when the word must change, its new value.
    fn update<R>(&self, mut decide: impl FnMut(Snapshot) -> (R, Option<usize>)) -> R {
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            let (outcome, next) = decide(Snapshot(current));
            let Some(next) = next else {
                return outcome;
            };
            match self.word.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return outcome,
                Err(actual) => current = actual,
            }
        }
    }

    /// `SCHEDULED` to `RUNNING`, called by `run` with the `Runnable`'s
    /// reference.
    pub(crate) fn start_run(&self) -> StartRun {
        self.update(|s| {
            debug_assert!(
                s.is(SCHEDULED) && !s.is(RUNNING) && !s.is(COMPLETE),
                "{s:?}"
            );
            let next = (s.0 & !SCHEDULED) | RUNNING;
            let outcome = if s.is(CANCELLED) {
                StartRun::Cancel
            } else {
                StartRun::Poll
            };
            (outcome, Some(next))
        })
    }

    /// `SCHEDULED` to `RUNNING | CANCELLED`, called when a `Runnable` is
    /// dropped without being run.
    pub(crate) fn start_cancel_run(&self) {
        self.update(|s| {
            debug_assert!(
                s.is(SCHEDULED) && !s.is(RUNNING) && !s.is(COMPLETE),
                "{s:?}"
            );
            ((), Some((s.0 & !SCHEDULED) | RUNNING | CANCELLED))
        })
    }

    /// Leaves `RUNNING` after a poll returned `Pending`.
    pub(crate) fn after_pending(&self) -> AfterPending {
        self.update(|s| {
            debug_assert!(s.is(RUNNING) && !s.is(COMPLETE), "{s:?}");
            if s.is(CANCELLED) {
                return (AfterPending::Cancel, None);
            }
            if s.is(NOTIFIED) {
                // The runner's reference moves to the new `Runnable`.
                let next = (s.0 & !(RUNNING | NOTIFIED)) | SCHEDULED;
                return (AfterPending::Reschedule, Some(next));
            }
            if s.ref_count() == 1 {
                return (AfterPending::IdleLast, Some(s.0 & !RUNNING));
            }
            // The runner's reference is released with the same operation.
            (AfterPending::Idle, Some((s.0 & !RUNNING) - REF_ONE))
        })
    }

    /// `RUNNING` to `COMPLETE` unless cancellation was requested. With
    /// `Output::Gone` the runner has already dropped the output (it saw that
    /// nobody holds join interest, which is never taken back).
    pub(crate) fn try_complete(&self, output: Output) -> TryComplete {
        self.update(|s| {
            debug_assert!(s.is(RUNNING) && !s.is(COMPLETE), "{s:?}");
            if s.is(CANCELLED) {
                return (TryComplete::CancelRequested, None);
            }
            let (completed, next) = completing(s, COMPLETE, output);
            (TryComplete::Completed(completed), Some(next))
        })
    }

    /// `RUNNING` to `COMPLETE | CANCELLED`, after the runner stored the
    /// cancellation as the output (or dropped it: `Output::Gone`).
    pub(crate) fn complete_cancelled(&self, output: Output) -> Completed {
        self.update(|s| {
            debug_assert!(s.is(RUNNING) && !s.is(COMPLETE), "{s:?}");
            let (completed, next) = completing(s, COMPLETE | CANCELLED, output);
            (completed, Some(next))
        })
    }

    /// A wake by reference.
    pub(crate) fn wake_by_ref(&self) -> Wake {
        self.update(|s| {
            if s.is_idle() {
                check_ref_overflow(s);
                return (Wake::Submit, Some((s.0 | SCHEDULED) + REF_ONE));
            }
            if s.is(RUNNING) && !s.is(NOTIFIED) {
                return (Wake::Nothing, Some(s.0 | NOTIFIED));
            }
            (Wake::Nothing, None)
        })
    }

    /// A wake by value: one transition where a wake by reference followed
    /// by dropping the waker would take two (tokio does the same).
    pub(crate) fn wake_by_val(&self) -> WakeByVal {
        self.update(|s| {
            if s.is_idle() {
                return (WakeByVal::Submit, Some(s.0 | SCHEDULED));
            }
            let released = release_of(s);
            let mut next = s.0 - REF_ONE;
            if s.is(RUNNING) && !s.is(NOTIFIED) {
                next |= NOTIFIED;
            }
            (WakeByVal::Released(released), Some(next))
        })
    }

    /// A cancellation request from a `Task` or `TaskRef`.
    pub(crate) fn cancel(&self) -> Cancel {
        self.update(|s| {
            if s.is(COMPLETE) {
                return (Cancel::AlreadyComplete, None);
            }
            if s.is_idle() {
                check_ref_overflow(s);
                return (
                    Cancel::Submit,
                    Some((s.0 | CANCELLED | SCHEDULED) + REF_ONE),
                );
            }
            if s.is(CANCELLED) {
                return (Cancel::Requested, None);
            }
            (Cancel::Requested, Some(s.0 | CANCELLED))
        })
    }

    /// Sets `JOIN_WAKER` after the `Task` wrote the slot. Fails, changing
    /// nothing, when the task completed in the meantime.
    pub(crate) fn set_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.is(JOIN_INTEREST) && !s.is(JOIN_WAKER), "{s:?}");
            if s.is(COMPLETE) {
                return (Err(s), None);
            }
            (Ok(()), Some(s.0 | JOIN_WAKER))
        })
    }

    /// Clears `JOIN_WAKER` so that the `Task` may rewrite the slot. Fails,
    /// changing nothing, when the task completed in the meantime.
    pub(crate) fn unset_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.is(JOIN_INTEREST) && s.is(JOIN_WAKER), "{s:?}");
            if s.is(COMPLETE) {
                return (Err(s), None);
            }
            (Ok(()), Some(s.0 & !JOIN_WAKER))
        })
    }

    /// The `Task` handle gives up join interest (it is dropped or detached)
    /// and, when nothing is left for it to clean up, its reference too. With
    /// `Output::Gone` it saw `COMPLETE` and already dropped the output; with
    /// `WakerSlot::Empty` it saw `JOIN_WAKER` clear and its waker slot empty.
    pub(crate) fn drop_join_interest(&self, output: Output, slot: WakerSlot) -> DropJoin {
        self.update(|s| {
            debug_assert!(s.is(JOIN_INTEREST), "{s:?}");
            let releasing = (s.0 & !JOIN_INTEREST) - REF_ONE;
            if s.is(COMPLETE) {
                if output == Output::Gone {
                    return (DropJoin::Released(release_of(s)), Some(releasing));
                }
                return (DropJoin::DropOutput, Some(s.0 & !JOIN_INTEREST));
            }
            if slot == WakerSlot::Empty && !s.is(JOIN_WAKER) {
                return (DropJoin::Released(release_of(s)), Some(releasing));
            }
            (
                DropJoin::DropWaker,
                Some(s.0 & !(JOIN_INTEREST | JOIN_WAKER)),
            )
        })
    }

    /// Takes one more reference.
    pub(crate) fn ref_inc(&self) {
        // Relaxed is enough: a new reference is made from an existing one, so
        // the task cannot be freed concurrently (the reasoning of `Arc`).
        let previous = Snapshot(self.word.fetch_add(REF_ONE, Ordering::Relaxed));
        check_ref_overflow(previous);
    }

    /// Releases one reference.
    pub(crate) fn ref_dec(&self) -> Release {
        release_of(Snapshot(self.word.fetch_sub(REF_ONE, Ordering::AcqRel)))
    }
}

/// Where the task's output is when a completing or join-releasing
/// transition runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// Still in the cell: whoever owns it must drop it later.
    Stored,
    /// Already dropped (nobody could join it, or the join handle dropped it).
    Gone,
}

/// What the join handle saw in its waker slot before giving up join
/// interest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WakerSlot {
    /// `JOIN_WAKER` clear and no waker stored: nothing to clean up.
    Empty,
    /// A waker may be stored (or the runner may still read it).
    Occupied,
}

/// The outcome and new word of a completing transition from `s` that sets
/// `bits`: the runner's reference is released in the same step unless the
/// completion still needs the cell (to wake the joiner, or to drop an output
/// nobody wants that is still stored).
fn completing(s: Snapshot, bits: usize, output: Output) -> (Completed, usize) {
    let next = (s.0 & !(RUNNING | NOTIFIED)) | bits;
    let work = if !s.is(JOIN_INTEREST) {
        (output == Output::Stored).then_some(Completion::DropOutput)
    } else if s.is(JOIN_WAKER) {
        Some(Completion::WakeJoiner)
    } else {
        None
    };
    match work {
        Some(completion) => (Completed::Then(completion), next),
        None => (Completed::Released(release_of(s)), next - REF_ONE),
    }
}

/// Whether releasing one reference from `s` releases the last.
fn release_of(s: Snapshot) -> Release {
    debug_assert!(s.ref_count() > 0, "{s:?}");
    if s.ref_count() == 1 {
        Release::Dealloc
    } else {
        Release::Released
    }
}

/// Aborts, like `Arc`, when the reference count would overflow: the only way
/// there is leaking wakers in a loop, and continuing would be unsound.
fn check_ref_overflow(s: Snapshot) {
    if s.0 > (usize::MAX >> 1) {
        std::process::abort();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_flag_bits_are_distinct_and_below_the_count() {
        let bits = [
            SCHEDULED,
            RUNNING,
            NOTIFIED,
            COMPLETE,
            CANCELLED,
            JOIN_INTEREST,
            JOIN_WAKER,
        ];
        let all = bits.iter().fold(0, |acc, bit| {
            assert_eq!(acc & bit, 0);
            acc | bit
        });
        assert_eq!(all, FLAGS);
    }

    #[test]
    fn a_wake_while_running_is_kept_and_reschedules() {
        let state = State::new();
        assert_eq!(state.start_run(), StartRun::Poll);
        assert_eq!(state.wake_by_ref(), Wake::Nothing);
        assert!(state.load().is(NOTIFIED));
        assert_eq!(state.after_pending(), AfterPending::Reschedule);
        let s = state.load();
        assert!(s.is(SCHEDULED) && !s.is(RUNNING) && !s.is(NOTIFIED));
    }

    /// After a poll the runner's reference is never released by a second
    /// atomic operation: an idle task's goes with the transition (unless it
    /// is the last), a rescheduled task's becomes the new `Runnable`'s.
    #[test]
    fn after_a_poll_the_runners_reference_goes_with_the_transition() {
        let state = State::new(); // a `Runnable` and a `Task`
        assert_eq!(state.start_run(), StartRun::Poll);
        assert_eq!(state.wake_by_ref(), Wake::Nothing);
        assert_eq!(state.after_pending(), AfterPending::Reschedule);
        assert_eq!(state.load().ref_count(), 2, "moved to the new runnable");
        assert_eq!(state.start_run(), StartRun::Poll);
        assert_eq!(state.after_pending(), AfterPending::Idle);
        assert_eq!(state.load().ref_count(), 1, "released: the task's is left");
        assert!(!state.load().is(RUNNING));
        // Without the `Task` (and no waker), the runner's is the last one.
        assert_eq!(state.wake_by_ref(), Wake::Submit);
        assert_eq!(state.ref_dec(), Release::Released); // the `Task` goes
        assert_eq!(state.start_run(), StartRun::Poll);
        assert_eq!(state.after_pending(), AfterPending::IdleLast);
        assert_eq!(state.load().ref_count(), 1, "the runner releases it");
        assert_eq!(state.ref_dec(), Release::Dealloc);
    }

    #[test]
    fn a_wake_by_value_moves_the_wakers_reference_or_releases_it() {
        let state = State::new();
        state.ref_inc(); // a waker
        state.ref_inc(); // a second waker
        assert_eq!(state.start_run(), StartRun::Poll);
        // While running: NOTIFIED, and the waker's reference is gone.
        let before = state.load().ref_count();
        assert_eq!(state.wake_by_val(), WakeByVal::Released(Release::Released));
        assert!(state.load().is(NOTIFIED));
        assert_eq!(state.load().ref_count(), before - 1);
        assert_eq!(state.after_pending(), AfterPending::Reschedule);
        assert_eq!(state.start_run(), StartRun::Poll);
        assert_eq!(state.after_pending(), AfterPending::Idle);
        // Idle: SCHEDULED, and the waker's reference becomes the runnable's.
        let before = state.load().ref_count();
        assert_eq!(state.wake_by_val(), WakeByVal::Submit);
        assert!(state.load().is(SCHEDULED));
        assert_eq!(state.load().ref_count(), before);
    }

    #[test]
    fn the_last_wake_by_value_of_a_complete_task_deallocates() {
        let state = State::new();
        state.ref_inc(); // a waker
        assert_eq!(state.start_run(), StartRun::Poll);
        assert!(matches!(
            state.try_complete(Output::Stored),
            TryComplete::Completed(_)
        ));
        // Whatever completion left, release down to the waker's reference.
        while state.load().ref_count() > 1 {
            assert_eq!(state.ref_dec(), Release::Released);
        }
        assert_eq!(state.wake_by_val(), WakeByVal::Released(Release::Dealloc));
    }

    #[test]
    fn cancel_when_idle_schedules_with_a_new_reference() {
        let state = State::new();
        assert_eq!(state.start_run(), StartRun::Poll);
        // Idle: the runner's reference went with the transition.
        assert_eq!(state.after_pending(), AfterPending::Idle);
        assert_eq!(state.cancel(), Cancel::Submit);
        assert_eq!(state.load().ref_count(), 2);
        assert_eq!(state.start_run(), StartRun::Cancel);
        assert_eq!(
            state.complete_cancelled(Output::Stored),
            Completed::Released(Release::Released)
        );
        assert_eq!(state.load().ref_count(), 1);
        assert_eq!(state.cancel(), Cancel::AlreadyComplete);
    }

    #[test]
    fn cancel_while_running_beats_the_output() {
        let state = State::new();
        assert_eq!(state.start_run(), StartRun::Poll);
        assert_eq!(state.cancel(), Cancel::Requested);
        assert_eq!(
            state.try_complete(Output::Stored),
            TryComplete::CancelRequested
        );
        assert_eq!(
            state.complete_cancelled(Output::Stored),
            Completed::Released(Release::Released)
        );
        assert!(state.load().is(COMPLETE | CANCELLED));
    }

    /// A task whose join handle left (with nothing to clean up) before its
    /// first poll started.
    fn detached_and_running() -> State {
        let state = State::new();
        assert_eq!(
            state.drop_join_interest(Output::Stored, WakerSlot::Empty),
            DropJoin::Released(Release::Released)
        );
        assert_eq!(state.start_run(), StartRun::Poll);
        state
    }

    /// A task that completed while its join handle was alive and not waiting.
    fn completed_before_the_join() -> State {
        let state = State::new();
        assert_eq!(state.start_run(), StartRun::Poll);
        assert_eq!(
            state.try_complete(Output::Stored),
            TryComplete::Completed(Completed::Released(Release::Released))
        );
        state
    }

    #[test]
    fn the_output_goes_to_whoever_sees_the_other_side_finished() {
        // The join handle left first: the runner drops the output.
        let state = detached_and_running();
        assert_eq!(
            state.try_complete(Output::Stored),
            TryComplete::Completed(Completed::Then(Completion::DropOutput))
        );
        assert_eq!(state.ref_dec(), Release::Dealloc);

        // The runner finished first: the join handle owns the output.
        let state = completed_before_the_join();
        assert_eq!(
            state.drop_join_interest(Output::Stored, WakerSlot::Empty),
            DropJoin::DropOutput
        );
        assert_eq!(state.ref_dec(), Release::Dealloc);
    }

    #[test]
    fn a_release_folded_into_a_transition_can_be_the_last() {
        // A runner that already dropped an unwanted output releases its
        // reference, the last one, with `COMPLETE`.
        let state = detached_and_running();
        assert_eq!(
            state.try_complete(Output::Gone),
            TryComplete::Completed(Completed::Released(Release::Dealloc))
        );

        // A join handle that dropped the output releases the last reference
        // with its interest.
        let state = completed_before_the_join();
        assert_eq!(
            state.drop_join_interest(Output::Gone, WakerSlot::Empty),
            DropJoin::Released(Release::Dealloc)
        );
    }

    #[test]
    fn a_registered_join_waker_keeps_the_references_until_used() {
        let state = State::new();
        assert_eq!(state.set_join_waker(), Ok(()));
        assert_eq!(state.start_run(), StartRun::Poll);
        assert_eq!(
            state.try_complete(Output::Stored),
            TryComplete::Completed(Completed::Then(Completion::WakeJoiner))
        );
        assert_eq!(state.load().ref_count(), 2);

        // A join handle with a waker in its slot must empty it itself.
        let state = State::new();
        assert_eq!(state.set_join_waker(), Ok(()));
        assert_eq!(
            state.drop_join_interest(Output::Stored, WakerSlot::Occupied),
            DropJoin::DropWaker
        );
        assert_eq!(state.load().ref_count(), 2);
    }

    #[test]
    fn a_wake_on_a_finished_task_does_nothing_and_the_last_release_deallocates() {
        let state = State::new();
        assert_eq!(state.start_run(), StartRun::Poll);
        assert_eq!(
            state.try_complete(Output::Stored),
            TryComplete::Completed(Completed::Released(Release::Released))
        );
        assert_eq!(state.wake_by_ref(), Wake::Nothing);
        assert_eq!(state.ref_dec(), Release::Dealloc);
    }
}
