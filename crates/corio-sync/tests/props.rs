//! Property tests: random interleavings of operations, including drops of
//! pending futures, checked step by step against a sequential model of the
//! specification (FIFO hand-over, counts, capacity, wake-ups).

mod util;

use std::collections::VecDeque;
use std::task::Poll;

use corio_sync::{Get, Put, Queue, Semaphore, ShutDown, TryGetError, TryPutError};
use proptest::prelude::*;
use util::Polled;

/// The most operations in one case: fewer under Miri, which interprets them
/// a thousand times slower.
const MAX_OPS: usize = if cfg!(miri) { 16 } else { 120 };

#[derive(Debug, Clone)]
enum QueueOp {
    StartGet,
    PollGet(usize),
    DropGet(usize),
    StartPut,
    PollPut(usize),
    DropPut(usize),
    TryGet,
    TryPut,
    Shutdown,
}

fn queue_op() -> impl Strategy<Value = QueueOp> {
    prop_oneof![
        3 => Just(QueueOp::StartGet),
        3 => any::<usize>().prop_map(QueueOp::PollGet),
        2 => any::<usize>().prop_map(QueueOp::DropGet),
        3 => Just(QueueOp::StartPut),
        3 => any::<usize>().prop_map(QueueOp::PollPut),
        2 => any::<usize>().prop_map(QueueOp::DropPut),
        2 => Just(QueueOp::TryGet),
        2 => Just(QueueOp::TryPut),
        1 => Just(QueueOp::Shutdown),
    ]
}

/// What the specification says a pending getter is owed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Getter {
    Waiting,
    Handed(u32),
    ShutDown,
}

/// What the specification says a pending putter is owed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Putter {
    Waiting(u32),
    Admitted,
    Refused(u32),
}

/// The queue's specification, written as plainly as possible.
#[derive(Debug, Default)]
struct QueueModel {
    capacity: usize,
    items: VecDeque<u32>,
    handed: usize,
    /// Waiting getters and putters, by id, in arrival order.
    getters: VecDeque<usize>,
    putters: VecDeque<usize>,
    shut_down: bool,
}

struct Live<F, S> {
    id: usize,
    future: Polled<F>,
    owed: S,
    /// The wake count at the last `Pending`.
    wakes_at_pending: usize,
}

struct Harness<'q> {
    queue: &'q Queue<u32>,
    model: QueueModel,
    gets: Vec<Live<Get<'q, u32>, Getter>>,
    puts: Vec<Live<Put<'q, u32>, Putter>>,
    next_id: usize,
    next_item: u32,
}

impl<'q> Harness<'q> {
    fn len(&self) -> usize {
        self.model.items.len() + self.model.handed
    }

    /// Gives a new item to the oldest waiting getter, or keeps it.
    fn deliver(&mut self, item: u32) {
        match self.model.getters.pop_front() {
            Some(id) => {
                self.model.handed += 1;
                self.get_mut(id).owed = Getter::Handed(item);
            }
            None => self.model.items.push_back(item),
        }
    }

    fn admit_putters(&mut self) {
        while self.len() < self.model.capacity {
            let Some(id) = self.model.putters.pop_front() else {
                return;
            };
            let live = self.puts.iter_mut().find(|live| live.id == id).unwrap();
            let Putter::Waiting(item) = live.owed else {
                unreachable!("only waiting putters are in line")
            };
            live.owed = Putter::Admitted;
            self.deliver(item);
        }
    }

    fn take(&mut self) -> Option<u32> {
        let item = self.model.items.pop_front()?;
        self.admit_putters();
        Some(item)
    }

    fn get_mut(&mut self, id: usize) -> &mut Live<Get<'q, u32>, Getter> {
        self.gets.iter_mut().find(|live| live.id == id).unwrap()
    }

    fn new_id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    fn step(&mut self, op: QueueOp) -> Result<(), TestCaseError> {
        match op {
            QueueOp::StartGet => {
                let id = self.new_id();
                let mut future = Polled::new(self.queue.get());
                let expected = match self.take() {
                    Some(item) => Poll::Ready(Ok(item)),
                    None if self.model.shut_down => Poll::Ready(Err(ShutDown(()))),
                    None => Poll::Pending,
                };
                prop_assert_eq!(future.poll(), expected.clone());
                if expected.is_pending() {
                    self.model.getters.push_back(id);
                    self.gets.push(Live {
                        id,
                        future,
                        owed: Getter::Waiting,
                        wakes_at_pending: 0,
                    });
                }
            }
            QueueOp::PollGet(index) if !self.gets.is_empty() => {
                let index = index % self.gets.len();
                let live = &mut self.gets[index];
                let owed = live.owed;
                if owed != Getter::Waiting {
                    prop_assert!(
                        live.future.wakes() > live.wakes_at_pending,
                        "a wake-up was lost"
                    );
                }
                let outcome = live.future.poll();
                let expected = match owed {
                    Getter::Waiting => Poll::Pending,
                    Getter::Handed(item) => {
                        self.model.handed -= 1;
                        self.admit_putters();
                        Poll::Ready(Ok(item))
                    }
                    Getter::ShutDown => Poll::Ready(self.take().ok_or(ShutDown(()))),
                };
                prop_assert_eq!(outcome, expected.clone());
                if expected.is_pending() {
                    self.gets[index].wakes_at_pending = self.gets[index].future.wakes();
                } else {
                    self.gets.remove(index);
                }
            }
            QueueOp::DropGet(index) if !self.gets.is_empty() => {
                let live = self.gets.remove(index % self.gets.len());
                drop(live.future);
                match live.owed {
                    Getter::Waiting => self.model.getters.retain(|id| *id != live.id),
                    Getter::Handed(item) => {
                        self.model.handed -= 1;
                        match self.model.getters.pop_front() {
                            Some(id) => {
                                self.model.handed += 1;
                                self.get_mut(id).owed = Getter::Handed(item);
                            }
                            None => self.model.items.push_front(item),
                        }
                    }
                    Getter::ShutDown => {}
                }
            }
            QueueOp::StartPut => {
                let id = self.new_id();
                let item = self.next_item;
                self.next_item += 1;
                let mut future = Polled::new(self.queue.put(item));
                let expected = if self.model.shut_down {
                    Poll::Ready(Err(ShutDown(item)))
                } else if self.len() < self.model.capacity {
                    self.deliver(item);
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                };
                prop_assert_eq!(future.poll(), expected.clone());
                if expected.is_pending() {
                    self.model.putters.push_back(id);
                    self.puts.push(Live {
                        id,
                        future,
                        owed: Putter::Waiting(item),
                        wakes_at_pending: 0,
                    });
                }
            }
            QueueOp::PollPut(index) if !self.puts.is_empty() => {
                let index = index % self.puts.len();
                let live = &mut self.puts[index];
                let expected = match live.owed {
                    Putter::Waiting(_) => Poll::Pending,
                    Putter::Admitted => Poll::Ready(Ok(())),
                    Putter::Refused(item) => Poll::Ready(Err(ShutDown(item))),
                };
                if expected.is_ready() {
                    prop_assert!(
                        live.future.wakes() > live.wakes_at_pending,
                        "a wake-up was lost"
                    );
                }
                prop_assert_eq!(live.future.poll(), expected.clone());
                if expected.is_pending() {
                    live.wakes_at_pending = live.future.wakes();
                } else {
                    self.puts.remove(index);
                }
            }
            QueueOp::DropPut(index) if !self.puts.is_empty() => {
                let live = self.puts.remove(index % self.puts.len());
                if let Putter::Waiting(_) = live.owed {
                    self.model.putters.retain(|id| *id != live.id);
                }
            }
            QueueOp::TryGet => {
                let expected = match self.take() {
                    Some(item) => Ok(item),
                    None if self.model.shut_down => Err(TryGetError::ShutDown),
                    None => Err(TryGetError::Empty),
                };
                prop_assert_eq!(self.queue.try_get(), expected);
            }
            QueueOp::TryPut => {
                let item = self.next_item;
                self.next_item += 1;
                let expected = if self.model.shut_down {
                    Err(TryPutError::ShutDown(item))
                } else if self.len() < self.model.capacity {
                    self.deliver(item);
                    Ok(())
                } else {
                    Err(TryPutError::Full(item))
                };
                prop_assert_eq!(self.queue.try_put(item), expected);
            }
            QueueOp::Shutdown => {
                self.queue.shutdown();
                self.model.shut_down = true;
                for id in std::mem::take(&mut self.model.putters) {
                    let live = self.puts.iter_mut().find(|live| live.id == id).unwrap();
                    let Putter::Waiting(item) = live.owed else {
                        unreachable!()
                    };
                    live.owed = Putter::Refused(item);
                }
                for id in std::mem::take(&mut self.model.getters) {
                    self.get_mut(id).owed = Getter::ShutDown;
                }
            }
            _ => {}
        }
        prop_assert_eq!(self.queue.len(), self.len());
        prop_assert!(self.queue.len() <= self.model.capacity);
        Ok(())
    }
}

proptest! {
    #![proptest_config(corio_test_support::proptest_config())]

    #[test]
    fn prop_queue_matches_its_model_under_any_interleaving(
        capacity in prop_oneof![1..4_usize, Just(usize::MAX)],
        ops in proptest::collection::vec(queue_op(), 0..MAX_OPS),
    ) {
        let queue = if capacity == usize::MAX { Queue::unbounded() } else { Queue::bounded(capacity) };
        let mut harness = Harness {
            queue: &queue,
            model: QueueModel { capacity, ..QueueModel::default() },
            gets: Vec::new(),
            puts: Vec::new(),
            next_id: 0,
            next_item: 0,
        };
        for op in ops {
            harness.step(op)?;
        }
        // Dropping every future loses nothing: handed items come back.
        while !harness.gets.is_empty() {
            harness.step(QueueOp::DropGet(0))?;
        }
        while !harness.puts.is_empty() {
            harness.step(QueueOp::DropPut(0))?;
        }
        let left: Vec<u32> = std::iter::from_fn(|| queue.try_get().ok()).collect();
        prop_assert_eq!(left, Vec::from(harness.model.items.clone()));
    }
}

#[derive(Debug, Clone)]
enum SemaphoreOp {
    StartAcquire,
    PollAcquire(usize),
    DropAcquire(usize),
    DropPermit(usize),
    TryAcquire,
    AddPermits(usize),
}

fn semaphore_op() -> impl Strategy<Value = SemaphoreOp> {
    prop_oneof![
        3 => Just(SemaphoreOp::StartAcquire),
        3 => any::<usize>().prop_map(SemaphoreOp::PollAcquire),
        2 => any::<usize>().prop_map(SemaphoreOp::DropAcquire),
        3 => any::<usize>().prop_map(SemaphoreOp::DropPermit),
        2 => Just(SemaphoreOp::TryAcquire),
        1 => (0..3_usize).prop_map(SemaphoreOp::AddPermits),
    ]
}

proptest! {
    #![proptest_config(corio_test_support::proptest_config())]

    #[test]
    fn prop_semaphore_grants_in_arrival_order_and_never_loses_a_permit(
        initial in 0..3_usize,
        ops in proptest::collection::vec(semaphore_op(), 0..MAX_OPS),
    ) {
        let semaphore = Semaphore::new(initial);
        // The model: free permits, and the waiters in arrival order with
        // whether each was granted.
        let mut free = initial;
        let mut total = initial;
        let mut acquires = Vec::new();
        let mut permits = Vec::new();
        fn release(free: &mut usize, acquires: &mut [(Polled<corio_sync::Acquire<'_>>, bool, usize)]) {
            match acquires.iter_mut().find(|(_, granted, _)| !granted) {
                Some((_, granted, _)) => *granted = true,
                None => *free += 1,
            }
        }
        for op in ops {
            match op {
                SemaphoreOp::StartAcquire => {
                    let mut acquire = Polled::new(semaphore.acquire());
                    match acquire.poll() {
                        Poll::Ready(permit) => {
                            prop_assert!(free > 0 && acquires.iter().all(|(_, granted, _)| *granted));
                            free -= 1;
                            permits.push(permit);
                        }
                        Poll::Pending => {
                            prop_assert_eq!(free, 0);
                            acquires.push((acquire, false, 0));
                        }
                    }
                }
                SemaphoreOp::PollAcquire(index) if !acquires.is_empty() => {
                    let index = index % acquires.len();
                    let (acquire, granted, wakes) = &mut acquires[index];
                    if *granted {
                        prop_assert!(acquire.wakes() > *wakes, "a wake-up was lost");
                        permits.push(acquire.ready());
                        acquires.remove(index);
                    } else {
                        prop_assert!(acquire.poll().is_pending());
                        *wakes = acquire.wakes();
                    }
                }
                SemaphoreOp::DropAcquire(index) if !acquires.is_empty() => {
                    let (_, granted, _) = acquires.remove(index % acquires.len());
                    if granted {
                        release(&mut free, &mut acquires);
                    }
                }
                SemaphoreOp::DropPermit(index) if !permits.is_empty() => {
                    drop(permits.remove(index % permits.len()));
                    release(&mut free, &mut acquires);
                }
                SemaphoreOp::TryAcquire => {
                    let permit = semaphore.try_acquire();
                    prop_assert_eq!(permit.is_ok(), free > 0);
                    if let Ok(permit) = permit {
                        free -= 1;
                        permits.push(permit);
                    }
                }
                SemaphoreOp::AddPermits(count) => {
                    semaphore.add_permits(count);
                    total += count;
                    for _ in 0..count {
                        release(&mut free, &mut acquires);
                    }
                }
                _ => {}
            }
            prop_assert_eq!(semaphore.available_permits(), free);
        }
        drop(acquires);
        drop(permits);
        prop_assert_eq!(semaphore.available_permits(), total, "a permit was lost");
    }
}
