//! Which workers sleep, and whom to wake: tokio's "searching workers".
//!
//! # Protocol
//!
//! One atomic word counts the workers that are *unparked* (awake, high bits)
//! and, of those, the ones *searching* for work (stealing, low bits); a
//! mutex-guarded list names the parked workers. Every read-modify-write of
//! the word is `SeqCst`, and so are the fences around the queues (below), so
//! that the two sides of a wake-up agree on one order.
//!
//! - **Becoming a searcher**: a worker with nothing local may search only
//!   while fewer than half the workers are searching
//!   ([`Idle::try_start_searching`]); otherwise the searchers already awake
//!   will find the work, and it parks at once. This bounds the stealing
//!   traffic.
//! - **New work** (a push onto the injection queue, or onto a local queue
//!   that held nothing to steal): the pusher, after its push, runs a
//!   `SeqCst` fence, loads the word and wakes one parked worker only when
//!   *no* worker is searching and not every worker is awake
//!   ([`Idle::worker_to_notify`], checked again under the list's lock). The
//!   woken worker is counted as unparked *and searching* by the notifier, so
//!   a burst of pushes wakes one worker, not one per push. A push onto a
//!   local queue that already held work skips the step (and its fence, which
//!   was a tenth of a yield's cost): what the re-check below looks at is
//!   whether a queue is empty, which that push does not change, and the push
//!   that made the queue non-empty took the step.
//! - **Finding work**: a searcher that finds a task stops searching
//!   ([`Idle::stop_searching`]); if it was the last searcher, it wakes
//!   another worker in turn (the work it found may not be alone), so wake-ups
//!   chain one at a time for as long as work keeps turning up.
//! - **Parking**: under the list's lock, the worker leaves the counts and
//!   lists itself ([`Idle::park`]). If it was the last searcher it then looks
//!   at every queue once more (after a `SeqCst` fence) and wakes a worker if
//!   any holds work.
//!
//! Why no task is lost: a push P is followed by the pusher's `SeqCst` fence
//! F_P and its load L_P of the word; the last searcher's park does its
//! decrement R_S, a `SeqCst` fence F_S, then its re-check of the queues.
//! F_P and F_S are ordered in the single total order of `SeqCst`
//! operations. If F_S comes first, R_S (before F_S) is visible to L_P
//! (after F_P): P sees no searcher and wakes a parked worker (at least S is
//! parked, so one exists). If F_P comes first, P's push (before F_P) is
//! visible to S's re-check (after F_S), which finds it and wakes a worker.
//! This is tokio's pairing too. A worker that
//! parks while not searching relies on the searchers that kept it from
//! searching: the last of them re-checks. The loom model in `park.rs` runs
//! this code against a push racing the last worker's park.

use super::sync::{fence, AtomicUsize, Mutex, Ordering};

const UNPARKED_SHIFT: u32 = 16;
const SEARCHING_MASK: usize = (1 << UNPARKED_SHIFT) - 1;

/// The counts and the list of parked workers.
pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    workers: usize,
}

fn searching(state: usize) -> usize {
    state & SEARCHING_MASK
}

fn unparked(state: usize) -> usize {
    state >> UNPARKED_SHIFT
}

impl Idle {
    /// Every one of `workers` workers starts awake and not searching.
    pub(crate) fn new(workers: usize) -> Idle {
        assert!(workers < SEARCHING_MASK, "too many workers");
        Idle {
            state: AtomicUsize::new(workers << UNPARKED_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            workers,
        }
    }

    fn lock(&self) -> super::sync::MutexGuard<'_, Vec<usize>> {
        self.sleepers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Whether new work should wake a parked worker: nobody is searching
    /// and somebody is parked.
    fn should_wake(&self) -> bool {
        // The fence orders the caller's push before this load in the single
        // total order of `SeqCst` operations (see the module documentation).
        // A fence and a load leave the word's cache line shared, where a
        // read-modify-write would take it exclusive on every push.
        fence(Ordering::SeqCst);
        let state = self.state.load(Ordering::SeqCst);
        searching(state) == 0 && unparked(state) < self.workers
    }

    /// After new work was pushed (and a `SeqCst` fence): the parked worker
    /// to wake, now counted as awake and searching, or `None`.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.should_wake() {
            return None;
        }
        let mut sleepers = self.lock();
        if !self.should_wake() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state
            .fetch_add((1 << UNPARKED_SHIFT) | 1, Ordering::SeqCst);
        Some(worker)
    }

    /// Makes the caller a searcher unless half the workers already search.
    pub(crate) fn try_start_searching(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        if 2 * searching(state) >= self.workers {
            return false;
        }
        self.state.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// The caller stops searching; returns `true` when it was the last
    /// searcher (it must then wake another worker if there is work).
    #[must_use]
    pub(crate) fn stop_searching(&self) -> bool {
        searching(self.state.fetch_sub(1, Ordering::SeqCst)) == 1
    }

    /// Lists `worker` as parked; returns `true` when it was the last
    /// searcher (it must then look at every queue once more).
    #[must_use]
    pub(crate) fn park(&self, worker: usize, was_searching: bool) -> bool {
        let mut sleepers = self.lock();
        let leaving = (1 << UNPARKED_SHIFT) | usize::from(was_searching);
        let previous = self.state.fetch_sub(leaving, Ordering::SeqCst);
        sleepers.push(worker);
        was_searching && searching(previous) == 1
    }

    /// After `worker` woke up: returns `true` when a notifier woke it (it is
    /// already counted as awake and searching), `false` when it woke on its
    /// own (a timer, its pinned inbox, a spurious wake-up) and so unlisted
    /// and counted itself as awake, not searching.
    pub(crate) fn unpark(&self, worker: usize) -> bool {
        let mut sleepers = self.lock();
        match sleepers.iter().position(|&parked| parked == worker) {
            Some(position) => {
                sleepers.swap_remove(position);
                self.state.fetch_add(1 << UNPARKED_SHIFT, Ordering::SeqCst);
                false
            }
            None => true,
        }
    }

    /// The number of searching workers (for tests and assertions).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn searching(&self) -> usize {
        searching(self.state.load(Ordering::SeqCst))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Idle;

    #[test]
    fn at_most_half_the_workers_search() {
        let idle = Idle::new(4);
        assert!(idle.try_start_searching());
        assert!(idle.try_start_searching());
        assert!(!idle.try_start_searching());
        assert!(!idle.stop_searching());
        assert!(idle.stop_searching(), "the last searcher knows it");
    }

    #[test]
    fn new_work_wakes_one_parked_worker_as_a_searcher() {
        let idle = Idle::new(2);
        assert!(!idle.park(0, false));
        assert!(!idle.park(1, false));
        assert_eq!(idle.worker_to_notify(), Some(1));
        // The woken worker searches, so more work wakes nobody else.
        assert_eq!(idle.worker_to_notify(), None);
        assert_eq!(idle.searching(), 1);
        assert!(idle.unpark(1), "it was notified");
        assert!(!idle.unpark(0), "it woke on its own");
        assert_eq!(idle.worker_to_notify(), None, "everyone is awake");
    }
}
