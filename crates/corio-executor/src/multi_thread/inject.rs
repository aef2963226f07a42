//! The injection queue: tasks spawned or woken outside the workers, and the
//! overflow of full local queues.
//!
//! A bounded lock-free ring (crossbeam's `ArrayQueue`, allocated once) takes
//! every push while it has room; beyond that, pushes go to a mutex-guarded
//! overflow list, and keep going there until the list is drained, so that a
//! task never overtakes one that waits in the list. Poppers take from the
//! ring first, then from the list.
//!
//! Why not an unbounded lock-free queue (crossbeam's `SegQueue`, used before):
//! it allocates a block every 31 pushes, on the pushing thread, and frees it
//! on the popping thread. With tasks spawned from a `block_on` thread and run
//! by the workers, every block crossed threads, and glibc's `free` of a
//! chunk from another thread's arena takes that arena's lock, the lock the
//! spawning thread takes for every task it allocates: `mt_spawn` spent a
//! third of its futex calls there. The ring allocates nothing per task.
//!
//! The list's length is mirrored in an atomic (`overflowed`), written under
//! the list's lock and read without it, so that neither pushes nor pops
//! touch the lock while the ring is enough. A pop that misses a task being
//! pushed into the list at that moment is covered by the idle protocol, as
//! for any queue: the pusher's `SeqCst` fence and the parking worker's
//! re-check (which reads `overflowed` after its own fence) see one another.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crossbeam_queue::ArrayQueue;

/// How many tasks the ring holds (16 bytes each).
pub(crate) const RING_CAPACITY: usize = 4096;

/// The injection queue (see the module documentation).
pub(crate) struct Injector<T> {
    ring: ArrayQueue<T>,
    overflow: Mutex<VecDeque<T>>,
    /// The overflow list's length.
    overflowed: AtomicUsize,
}

impl<T> Injector<T> {
    /// An empty queue whose ring holds `capacity` tasks.
    pub(crate) fn new(capacity: usize) -> Injector<T> {
        Injector {
            ring: ArrayQueue::new(capacity),
            overflow: Mutex::new(VecDeque::new()),
            overflowed: AtomicUsize::new(0),
        }
    }

    /// Pushes `task` at the back.
    pub(crate) fn push(&self, task: T) {
        let task = if self.overflowed.load(Ordering::Acquire) == 0 {
            match self.ring.push(task) {
                Ok(()) => return,
                Err(full) => full,
            }
        } else {
            task
        };
        let mut overflow = corio_core::lock(&self.overflow);
        overflow.push_back(task);
        self.overflowed.store(overflow.len(), Ordering::Release);
    }

    /// Pops the task at the front.
    pub(crate) fn pop(&self) -> Option<T> {
        if let Some(task) = self.ring.pop() {
            return Some(task);
        }
        if self.overflowed.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut overflow = corio_core::lock(&self.overflow);
        let task = overflow.pop_front();
        self.overflowed.store(overflow.len(), Ordering::Release);
        task
    }

    /// How many tasks wait (racy).
    pub(crate) fn len(&self) -> usize {
        self.ring.len() + self.overflowed.load(Ordering::Acquire)
    }

    /// Whether no task waits (racy).
    pub(crate) fn is_empty(&self) -> bool {
        self.ring.is_empty() && self.overflowed.load(Ordering::Acquire) == 0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Injector;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn drain<T>(queue: &Injector<T>) -> Vec<T> {
        std::iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn tasks_beyond_the_ring_wait_in_the_list_and_come_out_in_push_order() {
        let queue = Injector::new(4);
        for n in 0..10 {
            queue.push(n);
        }
        assert_eq!(queue.len(), 10);
        assert_eq!(queue.overflowed.load(Ordering::Relaxed), 6);
        assert_eq!(drain(&queue), (0..10).collect::<Vec<_>>());
        assert!(queue.is_empty());
    }

    /// Once the list holds a task, a push goes there even if the ring has
    /// room again, so it cannot overtake the task waiting in the list.
    #[test]
    fn no_push_overtakes_a_task_waiting_in_the_list() {
        let queue = Injector::new(2);
        for n in 0..3 {
            queue.push(n);
        }
        assert_eq!(queue.pop(), Some(0), "the ring has room again");
        queue.push(3);
        assert_eq!(drain(&queue), [1, 2, 3]);
        // The list is empty: pushes use the ring again.
        queue.push(4);
        assert_eq!(queue.overflowed.load(Ordering::Relaxed), 0);
        assert_eq!(queue.ring.len(), 1);
        assert_eq!(drain(&queue), [4]);
    }

    /// Threads pushing and popping at once, through a ring small enough to
    /// overflow: every task comes out exactly once.
    #[test]
    fn concurrent_pushes_and_pops_deliver_every_task_once() {
        const PUSHERS: usize = 3;
        const EACH: usize = 20_000;
        let queue = Arc::new(Injector::new(16));
        let popped = Arc::new(AtomicUsize::new(0));
        let sum = Arc::new(AtomicUsize::new(0));
        let poppers: Vec<_> = (0..2)
            .map(|_| {
                let (queue, popped, sum) = (queue.clone(), popped.clone(), sum.clone());
                std::thread::spawn(move || {
                    while popped.load(Ordering::Relaxed) < PUSHERS * EACH {
                        match queue.pop() {
                            Some(n) => {
                                sum.fetch_add(n, Ordering::Relaxed);
                                popped.fetch_add(1, Ordering::Relaxed);
                            }
                            None => std::thread::yield_now(),
                        }
                    }
                })
            })
            .collect();
        let pushers: Vec<_> = (0..PUSHERS)
            .map(|p| {
                let queue = queue.clone();
                std::thread::spawn(move || {
                    for n in 0..EACH {
                        queue.push(p * EACH + n);
                    }
                })
            })
            .collect();
        for thread in pushers.into_iter().chain(poppers) {
            thread.join().expect("no thread panics");
        }
        let total = PUSHERS * EACH;
        assert_eq!(popped.load(Ordering::Relaxed), total);
        assert_eq!(sum.load(Ordering::Relaxed), total * (total - 1) / 2);
        assert!(queue.is_empty());
    }
}
