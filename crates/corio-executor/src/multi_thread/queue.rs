//! A worker's local run queue: bounded (4096 slots), lock-free, one
//! producer (the worker that owns it) and many consumers (the owner pops
//! one at a time, thieves steal half). The design is tokio's and
//! async-task's; this is the only module of the multi-thread runtime with
//! `unsafe` code.
//!
//! # Protocol
//!
//! The buffer is a ring of `CAPACITY` slots indexed by `u32` positions that
//! wrap (a slot is `position & MASK`). Two words describe it:
//!
//! - `tail` (`AtomicU32`): the next position the owner writes. Only the owner
//!   stores it (`Release`, after writing the slot); thieves load it
//!   (`Acquire`), which makes the slot's contents visible to them.
//! - `head` (`AtomicU64`): two `u32` positions packed, `steal` (high half)
//!   and `real` (low half). `real` is the next position to pop; `steal` is the
//!   position from which a thief is still copying. They are equal when no
//!   steal is in progress. Every change of `head` is a compare-exchange
//!   (`AcqRel`).
//!
//! The slots in `[steal, tail)` belong to the queue; of those, `[steal,
//! real)` are being copied out by the one thief in progress, and `[real,
//! tail)` are available.
//!
//! - **push** (owner): when `tail - steal < CAPACITY`, write slot `tail`, then
//!   store `tail + 1` (`Release`). The owner's `Acquire` load of `head` saw
//!   the thief's last compare-exchange, so a slot a thief finished copying is
//!   never overwritten before the copy. When the ring is full and no steal is
//!   in progress, the owner claims half the ring by moving `head` from
//!   `(real, real)` to `(real + HALF, real + HALF)` and hands those tasks and
//!   the new one to the overflow sink (the injection queue); when a steal is
//!   in progress, the one task goes to the sink.
//! - **pop** (owner): compare-exchange `real` to `real + 1` (and `steal`
//!   along with it when they were equal), then read the slot; the slot is the
//!   owner's alone once the exchange succeeded.
//! - **steal** (thief): only when `steal == real` (one thief at a time);
//!   claim `n = ceil((tail - real) / 2)` tasks by moving `real` to `real + n`
//!   and leaving `steal` where it was; copy the `n` slots into the thief's own
//!   queue (which only the thief writes); then move `steal` up to `real` to
//!   release the slots. Meanwhile the owner may pop from `real` on and push
//!   up to `steal + CAPACITY`, neither of which touches the claimed slots.
//!
//! A task is in exactly one place at any time: a slot is handed from the
//! owner (write, then `tail` `Release`) to whoever wins the compare-exchange
//! on `head` that covers it, and no two compare-exchanges cover the same
//! position. The loom models at the end of this file race push, pop and
//! steal; Miri runs the unit tests.

use std::mem::MaybeUninit;

use super::sync::{Arc, AtomicU32, AtomicU64, Ordering};

/// The number of slots of a local queue: 4096, or 4 in the loom models, so
/// that they reach an overflow within loom's branch budget.
///
/// tokio and Go have 256. With 256, a worker's share of a burst of a few
/// thousand tasks does not fit: the rest waits in the shared injection
/// queue, and a worker that takes from there at its maintenance takes tasks
/// another worker ran last. With 4096 (32 KiB per worker), a worker takes
/// its whole share in runs of consecutive spawns, and the tasks stay where
/// they started (docs/ARCHITECTURE.md has the measurements).
pub(crate) const CAPACITY: usize = if cfg!(loom) { 4 } else { 4096 };
const MASK: usize = CAPACITY - 1;
/// How many tasks an overflow moves to the injection queue.
const HALF: u32 = (CAPACITY / 2) as u32;

/// The owner's end of a local queue: push and pop. Not `Clone`; exactly one
/// exists per queue.
pub(crate) struct Local<T> {
    inner: Arc<Inner<T>>,
}

/// A thief's end of a local queue: steal half into another queue.
pub(crate) struct Stealer<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    head: AtomicU64,
    tail: AtomicU32,
    buffer: Box<[Slot<T>]>,
}

/// One slot of the ring: loom's `UnsafeCell` under `--cfg loom`, so that the
/// models check every access to the slots.
#[cfg(not(loom))]
struct Slot<T>(std::cell::UnsafeCell<MaybeUninit<T>>);

#[cfg(loom)]
struct Slot<T>(loom::cell::UnsafeCell<MaybeUninit<T>>);

impl<T> Slot<T> {
    fn new() -> Slot<T> {
        #[cfg(not(loom))]
        return Slot(std::cell::UnsafeCell::new(MaybeUninit::uninit()));
        #[cfg(loom)]
        return Slot(loom::cell::UnsafeCell::new(MaybeUninit::uninit()));
    }

    /// Writes `value` into the slot.
    ///
    /// # Safety
    ///
    /// The caller owns the slot (see the module protocol) and it holds no
    /// value.
    unsafe fn write(&self, value: T) {
        #[cfg(not(loom))]
        // SAFETY: the caller owns the slot, so nothing else accesses it.
        unsafe {
            (*self.0.get()).write(value);
        }
        #[cfg(loom)]
        // SAFETY: as above.
        self.0.with_mut(|slot| unsafe {
            (*slot).write(value);
        });
    }

    /// Moves the value out of the slot.
    ///
    /// # Safety
    ///
    /// The caller owns the slot and it holds a value, which it takes.
    unsafe fn read(&self) -> T {
        #[cfg(not(loom))]
        // SAFETY: the caller owns the slot and it was written.
        return unsafe { (*self.0.get()).assume_init_read() };
        #[cfg(loom)]
        // SAFETY: as above.
        return self.0.with(|slot| unsafe { (*slot).assume_init_read() });
    }
}

// SAFETY: values of a `Send` type move between threads through the slots;
// the protocol in the module documentation gives each slot one owner at a
// time, and hands it over with `Release`/`Acquire` pairs.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above: shared access to `Inner` only ever touches a slot that
// the accessing thread owns at that moment.
unsafe impl<T: Send> Sync for Inner<T> {}

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

/// Makes a local queue: the owner's end and a thief's end.
pub(crate) fn local<T>() -> (Local<T>, Stealer<T>) {
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer: (0..CAPACITY).map(|_| Slot::new()).collect(),
    });
    (
        Local {
            inner: inner.clone(),
        },
        Stealer { inner },
    )
}

impl<T> Inner<T> {
    fn slot(&self, position: u32) -> &Slot<T> {
        &self.buffer[position as usize & MASK]
    }

    /// The number of tasks a thief could see (racy; a hint).
    fn len(&self) -> u32 {
        let (_, real) = unpack(self.head.load(Ordering::Acquire));
        self.tail.load(Ordering::Acquire).wrapping_sub(real)
    }
}

impl<T> Local<T> {
    /// Pushes `task` at the back; when the ring is full, moves half of it
    /// and `task` to `overflow` (the injection queue), oldest first.
    /// Returns `true` when the queue held no task a thief could take before
    /// this push: the push that makes it worth stealing from.
    pub(crate) fn push_back(&mut self, mut task: T, overflow: &mut dyn FnMut(T)) -> bool {
        let inner = &*self.inner;
        let mut was_empty = None;
        loop {
            let (steal, real) = unpack(inner.head.load(Ordering::Acquire));
            // Only this thread stores `tail`.
            let tail = inner.tail.load(Ordering::Relaxed);
            let was_empty = *was_empty.get_or_insert(tail == real);
            if (tail.wrapping_sub(steal) as usize) < CAPACITY {
                // Soundness: `[steal, tail)` is the queue and it holds fewer than
                // `CAPACITY` slots, so slot `tail` is outside it: no thief
                // reads it (thieves only read below `tail`, whose `Release`
                // store comes after this write) and its last value was moved
                // out (the `Acquire` load of `head` above saw the thief's
                // release of it, or the owner popped it).
                // SAFETY: slot `tail` is outside the queue, so this thread alone owns it.
                unsafe { inner.slot(tail).write(task) };
                inner.tail.store(tail.wrapping_add(1), Ordering::Release);
                return was_empty;
            }
            if steal != real {
                // A thief is copying; it will free room soon. Hand this one
                // task over rather than wait.
                overflow(task);
                return was_empty;
            }
            match self.push_overflow(task, real, overflow) {
                Ok(()) => return was_empty,
                // A thief claimed tasks meanwhile: there may be room now.
                Err(back) => task = back,
            }
        }
    }

    /// Claims `HALF` tasks from `real` and gives them, then `task`, to
    /// `overflow`; fails when a thief changed `head` first.
    fn push_overflow(&self, task: T, real: u32, overflow: &mut dyn FnMut(T)) -> Result<(), T> {
        let inner = &*self.inner;
        let claimed = real.wrapping_add(HALF);
        if inner
            .head
            .compare_exchange(
                pack(real, real),
                pack(claimed, claimed),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            return Err(task);
        }
        for offset in 0..HALF {
            // SAFETY: the compare-exchange moved both `steal` and `real` past
            // these positions, which were in `[real, tail)`: this thread owns
            // them, and each holds a value.
            overflow(unsafe { inner.slot(real.wrapping_add(offset)).read() });
        }
        overflow(task);
        Ok(())
    }

    /// Pops the task at the front, if any.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let inner = &*self.inner;
        let mut head = inner.head.load(Ordering::Acquire);
        let position = loop {
            let (steal, real) = unpack(head);
            if real == inner.tail.load(Ordering::Relaxed) {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match inner
                .head
                .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: the compare-exchange moved `real` past `position`, which was
        // in `[real, tail)`: this thread owns the slot and it holds a value.
        Some(unsafe { inner.slot(position).read() })
    }

    /// How many tasks the queue holds (exact for the owner, less thieves'
    /// concurrent steals).
    pub(crate) fn len(&self) -> usize {
        self.inner.len() as usize
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        // Drop what is left, on the owner's thread.
        while self.pop().is_some() {}
    }
}

impl<T> Stealer<T> {
    /// Returns `true` when the queue looks empty (racy; a hint).
    pub(crate) fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// Steals half of this queue's tasks into `dst` (the thief's own queue)
    /// and returns one of them to run, or `None` when there was nothing to
    /// steal, another thief was busy, or `dst` is more than half full.
    pub(crate) fn steal_into(&self, dst: &mut Local<T>) -> Option<T> {
        let dst_inner = &*dst.inner;
        let dst_tail = dst_inner.tail.load(Ordering::Relaxed);
        let (dst_steal, _) = unpack(dst_inner.head.load(Ordering::Acquire));
        if dst_tail.wrapping_sub(dst_steal) > HALF {
            return None;
        }
        let count = self.steal_into_at(dst_inner, dst_tail);
        if count == 0 {
            return None;
        }
        // The last stolen task is returned rather than published.
        let last = dst_tail.wrapping_add(count - 1);
        // Soundness: `steal_into_at` wrote `[dst_tail, dst_tail + count)` of the
        // thief's own queue, above its `tail`, so only this thread (its
        // owner) sees those slots; the last one is taken here and never
        // published.
        // SAFETY: the slot lies above the thief's own `tail`: only this thread sees it.
        let task = unsafe { dst_inner.slot(last).read() };
        if count > 1 {
            dst_inner.tail.store(last, Ordering::Release);
        }
        Some(task)
    }

    /// Claims, copies and releases half of this queue's tasks into `dst`'s
    /// slots from `dst_tail` on; returns how many.
    fn steal_into_at(&self, dst: &Inner<T>, dst_tail: u32) -> u32 {
        let src = &*self.inner;
        let mut head = src.head.load(Ordering::Acquire);
        let (first, count, claimed) = loop {
            let (steal, real) = unpack(head);
            if steal != real {
                // Another thief is copying.
                return 0;
            }
            let available = src.tail.load(Ordering::Acquire).wrapping_sub(real);
            let count = (available - available / 2).min(HALF);
            if count == 0 {
                return 0;
            }
            let claimed = pack(steal, real.wrapping_add(count));
            match src
                .head
                .compare_exchange(head, claimed, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break (real, count, claimed),
                Err(actual) => head = actual,
            }
        };
        for offset in 0..count {
            // Soundness: the compare-exchange moved `real` past `[first, first +
            // count)` and left `steal` at `first`, so these source slots are
            // this thief's until it moves `steal` (the owner pops from `real`
            // and pushes below `steal + CAPACITY`); they hold values the
            // owner published before its `tail` store, which the `Acquire`
            // load above saw. The destination slots lie above the thief's own
            // `tail` with fewer than `HALF + count <= CAPACITY` tasks queued,
            // so they are free and only the thief (their owner) sees them.
            // SAFETY: the source slots are this thief's claim and the destination slots are free.
            unsafe {
                let task = src.slot(first.wrapping_add(offset)).read();
                dst.slot(dst_tail.wrapping_add(offset)).write(task);
            }
        }
        // Release the claimed slots: move `steal` up to `real`. The owner may
        // have popped meanwhile (moving `real` only), so retry with what is
        // there.
        let mut current = claimed;
        loop {
            let (_, real) = unpack(current);
            match src.head.compare_exchange(
                current,
                pack(real, real),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return count,
                Err(actual) => current = actual,
            }
        }
    }
}

impl<T> Clone for Stealer<T> {
    fn clone(&self) -> Stealer<T> {
        Stealer {
            inner: self.inner.clone(),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn pops_in_fifo_order() {
        let (mut local, _stealer) = local::<u32>();
        for n in 0..10 {
            local.push_back(n, &mut |_| panic!("no overflow"));
        }
        let popped: Vec<_> = std::iter::from_fn(|| local.pop()).collect();
        assert_eq!(popped, (0..10).collect::<Vec<_>>());
        assert_eq!(local.len(), 0);
    }

    /// The worker wakes others only for the push that gives thieves
    /// something to take, so `push_back` must tell that push apart.
    #[test]
    fn a_push_says_whether_the_queue_held_nothing_to_steal() {
        let (mut owner, stealer) = local::<u32>();
        let (mut thief, _) = local::<u32>();
        let push = |owner: &mut Local<u32>, n| owner.push_back(n, &mut |_| panic!("no overflow"));
        assert!(push(&mut owner, 0), "onto an empty queue");
        assert!(!push(&mut owner, 1), "onto a queue holding a task");
        assert_eq!(owner.pop(), Some(0));
        assert_eq!(owner.pop(), Some(1));
        assert!(push(&mut owner, 2), "emptied by the owner");
        assert_eq!(stealer.steal_into(&mut thief), Some(2));
        assert!(push(&mut owner, 3), "emptied by a thief");
    }

    #[test]
    fn a_full_queue_moves_half_and_the_new_task_to_the_overflow() {
        let (mut local, _stealer) = local::<usize>();
        let mut overflowed = Vec::new();
        for n in 0..=CAPACITY {
            local.push_back(n, &mut |task| overflowed.push(task));
        }
        let mut expected: Vec<_> = (0..CAPACITY / 2).collect();
        expected.push(CAPACITY);
        assert_eq!(overflowed, expected);
        let popped: Vec<_> = std::iter::from_fn(|| local.pop()).collect();
        assert_eq!(popped, (CAPACITY / 2..CAPACITY).collect::<Vec<_>>());
    }

    #[test]
    fn a_thief_takes_half_and_runs_one() {
        let (mut victim, stealer) = local::<u32>();
        let (mut thief, _) = local::<u32>();
        for n in 0..9 {
            victim.push_back(n, &mut |_| panic!("no overflow"));
        }
        // Half of 9, rounded up: 0..5, the last of which is returned.
        assert_eq!(stealer.steal_into(&mut thief), Some(4));
        let stolen: Vec<_> = std::iter::from_fn(|| thief.pop()).collect();
        assert_eq!(stolen, [0, 1, 2, 3]);
        let left: Vec<_> = std::iter::from_fn(|| victim.pop()).collect();
        assert_eq!(left, [5, 6, 7, 8]);
        assert_eq!(stealer.steal_into(&mut thief), None);
    }

    #[test]
    fn dropping_the_queue_drops_what_is_left() {
        let counter = std::sync::Arc::new(());
        let (mut local, stealer) = local();
        for _ in 0..5 {
            local.push_back(counter.clone(), &mut |_| panic!("no overflow"));
        }
        drop(local);
        drop(stealer);
        assert_eq!(std::sync::Arc::strong_count(&counter), 1);
    }

    #[test]
    fn positions_wrap_around_the_u32_range() {
        let (mut local, stealer) = local::<u32>();
        let (mut thief, _) = local_at(u32::MAX - 3);
        let start = u32::MAX - 3;
        local
            .inner
            .head
            .store(pack(start, start), Ordering::Relaxed);
        local.inner.tail.store(start, Ordering::Relaxed);
        for n in 0..8 {
            local.push_back(n, &mut |_| panic!("no overflow"));
        }
        assert_eq!(stealer.steal_into(&mut thief), Some(3));
        assert_eq!(thief.pop(), Some(0));
        let left: Vec<_> = std::iter::from_fn(|| local.pop()).collect();
        assert_eq!(left, [4, 5, 6, 7]);
        let rest: Vec<_> = std::iter::from_fn(|| thief.pop()).collect();
        assert_eq!(rest, [1, 2]);
    }

    /// A queue whose positions start at `start`.
    fn local_at(start: u32) -> (Local<u32>, Stealer<u32>) {
        let (local, stealer) = local();
        local
            .inner
            .head
            .store(pack(start, start), Ordering::Relaxed);
        local.inner.tail.store(start, Ordering::Relaxed);
        (local, stealer)
    }

    #[test]
    fn threads_stealing_while_the_owner_pushes_and_pops_see_each_task_once() {
        const TASKS: usize = if cfg!(miri) { 300 } else { 20_000 };
        let (mut owner, stealer) = local::<usize>();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let stealer = stealer.clone();
                let done = done.clone();
                std::thread::spawn(move || {
                    let (mut mine, _) = local::<usize>();
                    let mut got = Vec::new();
                    while !done.load(std::sync::atomic::Ordering::Acquire) || !stealer.is_empty() {
                        if let Some(task) = stealer.steal_into(&mut mine) {
                            got.push(task);
                        }
                        got.extend(std::iter::from_fn(|| mine.pop()));
                        std::thread::yield_now();
                    }
                    got
                })
            })
            .collect();
        let mut got = Vec::new();
        for n in 0..TASKS {
            owner.push_back(n, &mut |task| got.push(task));
            if n % 3 == 0 {
                got.extend(owner.pop());
            }
        }
        got.extend(std::iter::from_fn(|| owner.pop()));
        done.store(true, std::sync::atomic::Ordering::Release);
        for thief in thieves {
            got.extend(thief.join().unwrap());
        }
        got.sort_unstable();
        assert_eq!(got, (0..TASKS).collect::<Vec<_>>());
    }
}

/// Loom models: push, pop and steal racing, and an overflow racing a steal.
/// Each task must come out exactly once.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::thread;

    fn drain(queue: &mut Local<u32>, into: &mut Vec<u32>) {
        while let Some(task) = queue.pop() {
            into.push(task);
        }
    }

    /// A thread that steals once from `stealer` and returns what it got.
    fn thief(stealer: Stealer<u32>) -> thread::JoinHandle<Vec<u32>> {
        thread::spawn(move || {
            let (mut mine, _) = local::<u32>();
            let mut got = Vec::new();
            got.extend(stealer.steal_into(&mut mine));
            drain(&mut mine, &mut got);
            got
        })
    }

    #[test]
    fn loom_push_pop_and_steal_race() {
        loom::model(|| {
            let (mut owner, stealer) = local::<u32>();
            let thief = thief(stealer);
            let mut got = Vec::new();
            for n in 0..3 {
                owner.push_back(n, &mut |_| panic!("no overflow"));
            }
            got.extend(owner.pop());
            owner.push_back(3, &mut |_| panic!("no overflow"));
            drain(&mut owner, &mut got);
            got.extend(thief.join().unwrap());
            got.sort_unstable();
            assert_eq!(got, [0, 1, 2, 3]);
        });
    }

    #[test]
    fn loom_two_thieves_and_the_owner() {
        loom::model(|| {
            let (mut owner, stealer) = local::<u32>();
            for n in 0..4 {
                owner.push_back(n, &mut |_| panic!("no overflow"));
            }
            let thieves: Vec<_> = (0..2)
                .map(|_| {
                    let stealer = stealer.clone();
                    thief(stealer)
                })
                .collect();
            let mut got = Vec::new();
            got.extend(owner.pop());
            for thief in thieves {
                got.extend(thief.join().unwrap());
            }
            drain(&mut owner, &mut got);
            got.sort_unstable();
            assert_eq!(got, [0, 1, 2, 3]);
        });
    }

    #[test]
    fn loom_an_overflow_racing_a_steal() {
        loom::model(|| {
            let (mut owner, stealer) = local::<u32>();
            for n in 0..CAPACITY as u32 {
                owner.push_back(n, &mut |_| panic!("no overflow yet"));
            }
            let thief = thief(stealer);
            let mut got = Vec::new();
            owner.push_back(CAPACITY as u32, &mut |task| got.push(task));
            drain(&mut owner, &mut got);
            got.extend(thief.join().unwrap());
            got.sort_unstable();
            assert_eq!(got, (0..=CAPACITY as u32).collect::<Vec<_>>());
        });
    }
}
