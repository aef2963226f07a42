//! Fairness: waiters are served in arrival order and nobody overtakes them.
//! Interleavings are built by hand (see `util`).

mod util;

use corio_sync::{Condition, Event, Mutex, PriorityQueue, Queue, Semaphore, TryGetError};
use util::{now, waiting, Polled};

#[test]
fn the_mutex_goes_to_its_waiters_in_arrival_order() {
    let mutex = Mutex::new(Vec::new());
    let mut guard = mutex.try_lock().unwrap();
    let mut waiters: Vec<_> = (0..3).map(|_| waiting(mutex.lock())).collect();
    for (turn, waiter) in waiters.iter_mut().enumerate() {
        guard.push(turn);
        drop(guard);
        assert_eq!(waiter.wakes(), 1);
        guard = waiter.ready();
    }
    assert_eq!(*guard, [0, 1, 2]);
}

#[test]
fn try_lock_and_a_new_lock_do_not_overtake_a_granted_waiter() {
    let mutex = Mutex::new(());
    let guard = mutex.try_lock().unwrap();
    let mut waiter = waiting(mutex.lock());
    drop(guard);
    assert!(mutex.try_lock().is_err(), "the lock is the waiter's");
    let mut late = waiting(mutex.lock());
    let guard = waiter.ready();
    drop(guard);
    let _guard = late.ready();
}

#[test]
fn permits_go_to_waiters_in_arrival_order_and_try_acquire_waits_its_turn() {
    let semaphore = Semaphore::new(0);
    let mut first = waiting(semaphore.acquire());
    let mut second = waiting(semaphore.acquire());
    semaphore.add_permits(1);
    assert!(semaphore.try_acquire().is_err());
    assert_eq!((first.wakes(), second.wakes()), (1, 0));
    let permit = first.ready();
    assert!(second.poll().is_pending());
    drop(permit);
    let _permit = second.ready();
}

#[test]
fn getters_are_served_in_arrival_order_and_try_get_does_not_overtake() {
    let queue = Queue::unbounded();
    let mut getters: Vec<_> = (0..3).map(|_| waiting(queue.get())).collect();
    for item in 0..3 {
        queue.try_put(item).unwrap();
    }
    assert_eq!(
        queue.try_get(),
        Err(TryGetError::Empty),
        "every item is handed out"
    );
    assert_eq!(queue.len(), 3, "handed items count until taken");
    let got: Vec<_> = getters
        .iter_mut()
        .rev()
        .map(|getter| getter.ready())
        .collect();
    assert_eq!(
        got,
        [Ok(2), Ok(1), Ok(0)],
        "each getter got the item of its turn"
    );
    assert!(queue.is_empty());
}

#[test]
fn putters_get_in_in_arrival_order_and_try_put_does_not_overtake() {
    let queue = Queue::bounded(1);
    queue.try_put(0).unwrap();
    let mut putters: Vec<_> = (1..=3).map(|item| waiting(queue.put(item))).collect();
    assert!(queue.try_get().is_ok());
    assert!(
        queue.try_put(99).is_err(),
        "the free place went to the first putter"
    );
    let mut order = Vec::new();
    for putter in &mut putters {
        assert_eq!(putter.ready(), Ok(()));
        order.push(queue.try_get().unwrap());
    }
    assert_eq!(order, [1, 2, 3]);
}

#[test]
fn a_priority_queue_hands_its_lowest_item_to_the_oldest_getter() {
    let queue = PriorityQueue::unbounded();
    let mut getter = waiting(queue.get());
    for item in [5, 3, 4] {
        queue.try_put(item).unwrap();
    }
    assert_eq!(
        getter.ready(),
        Ok(5),
        "the getter was waiting: it got the first item"
    );
    assert_eq!(now(queue.get()), Ok(3));
    assert_eq!(now(queue.get()), Ok(4));
}

#[test]
fn set_wakes_every_waiter_and_they_return_even_if_cleared_again() {
    let event = Event::new();
    let mut waiters: Vec<_> = (0..3).map(|_| waiting(event.wait())).collect();
    event.set();
    event.clear();
    let mut late = waiting(event.wait());
    for waiter in &mut waiters {
        assert_eq!(waiter.wakes(), 1);
        waiter.ready();
    }
    assert!(late.poll().is_pending());
    event.set();
    late.ready();
}

#[test]
fn notify_one_wakes_the_oldest_waiter() {
    let mutex = Mutex::new(());
    let condition = Condition::new();
    let first = waiting(condition.wait(mutex.try_lock().unwrap()));
    let second = waiting(condition.wait(mutex.try_lock().unwrap()));
    condition.notify_one();
    assert_eq!((first.wakes(), second.wakes()), (1, 0));
    condition.notify_one();
    assert_eq!(second.wakes(), 1);
}

#[test]
fn a_waiter_polled_with_a_new_waker_is_woken_through_the_new_one() {
    let queue = Queue::unbounded();
    let first_poll = waiting(queue.get());
    let old_waker = first_poll.counter.clone();
    let mut moved = Polled::new(first_poll.future);
    moved.pending();
    queue.try_put(1).unwrap();
    assert_eq!((old_waker.count(), moved.wakes()), (0, 1));
    assert_eq!(moved.ready(), Ok(1));
}

#[test]
fn join_waits_for_every_task_done_and_shutdown_immediate_releases_it() {
    let queue = Queue::unbounded();
    for item in 0..3 {
        queue.try_put(item).unwrap();
    }
    let mut join = waiting(queue.join());
    assert_eq!(queue.try_get(), Ok(0));
    queue.task_done().unwrap();
    assert_eq!(join.wakes(), 0);
    assert_eq!(queue.shutdown_immediate(), [1, 2]);
    assert_eq!(join.wakes(), 1, "the removed items count as done");
    join.ready();
    assert!(queue.task_done().is_err());
}

#[test]
fn shutdown_wakes_waiting_getters_with_an_error_and_later_joins_still_wait() {
    let queue = Queue::<u8>::unbounded();
    let mut getter = waiting(queue.get());
    queue.try_put(1).unwrap();
    assert_eq!(getter.ready(), Ok(1));
    let mut getter = waiting(queue.get());
    let mut join = waiting(queue.join());
    queue.shutdown();
    assert_eq!(getter.wakes(), 1);
    assert!(getter.ready().is_err());
    assert!(join.poll().is_pending(), "one item is not marked done yet");
    queue.task_done().unwrap();
    join.ready();
}
