//! Cancel safety: a waiting future dropped at any point loses nothing. Each
//! test builds its interleaving by hand (see `util`).

mod util;

use corio_sync::{Barrier, Condition, Mutex, Queue, Semaphore, ShutDown};
use util::{now, waiting};

/// asyncio bpo-23812: a `get` dropped right after it was handed an item.
#[test]
fn bpo_23812_a_get_dropped_after_it_was_handed_an_item_gives_it_to_the_next_getter() {
    let queue = Queue::unbounded();
    let first = waiting(queue.get());
    let mut second = waiting(queue.get());
    queue.try_put("item").unwrap();
    assert_eq!(first.wakes(), 1);
    assert_eq!(second.wakes(), 0, "items go to getters one at a time");
    drop(first);
    assert_eq!(second.wakes(), 1, "the item passed to the next getter");
    assert_eq!(second.ready(), Ok("item"));
    assert!(queue.is_empty());
}

#[test]
fn bpo_23812_a_handed_item_with_no_getter_left_goes_back_to_the_front() {
    let queue = Queue::bounded(2);
    let first = waiting(queue.get());
    queue.try_put(1).unwrap();
    queue.try_put(2).unwrap();
    assert!(queue.is_full(), "the handed item keeps its place");
    drop(first);
    assert_eq!(queue.len(), 2, "the capacity still holds");
    assert_eq!(
        queue.try_get(),
        Ok(1),
        "the returned item is still the oldest"
    );
    assert_eq!(queue.try_get(), Ok(2));
}

/// asyncio bpo-27585: a `lock()` dropped right after it was granted.
#[test]
fn bpo_27585_a_lock_dropped_after_it_was_granted_passes_to_the_next_waiter() {
    let mutex = Mutex::new(0);
    let guard = mutex.try_lock().unwrap();
    let first = waiting(mutex.lock());
    let mut second = waiting(mutex.lock());
    drop(guard);
    assert_eq!(first.wakes(), 1);
    assert_eq!(second.wakes(), 0);
    drop(first);
    assert_eq!(second.wakes(), 1);
    *second.ready() += 1;
    assert_eq!(
        *mutex.try_lock().unwrap(),
        1,
        "nobody holds the lock any more"
    );
}

/// asyncio gh-90155: a Semaphore's `acquire()` dropped right after it was
/// granted.
#[test]
fn gh_90155_an_acquire_dropped_after_it_was_granted_passes_the_permit_on() {
    let semaphore = Semaphore::new(1);
    let permit = semaphore.try_acquire().unwrap();
    let first = waiting(semaphore.acquire());
    let mut second = waiting(semaphore.acquire());
    drop(permit);
    drop(first);
    assert_eq!(second.wakes(), 1);
    let permit = second.ready();
    assert_eq!(semaphore.available_permits(), 0);
    drop(permit);
    assert_eq!(semaphore.available_permits(), 1, "no permit was lost");
}

#[test]
fn gh_90155_a_granted_acquire_dropped_with_nobody_waiting_returns_the_permit() {
    let semaphore = Semaphore::new(0);
    let acquire = waiting(semaphore.acquire());
    semaphore.add_permits(3);
    assert_eq!(
        semaphore.available_permits(),
        2,
        "one permit went to the waiter"
    );
    drop(acquire);
    assert_eq!(semaphore.available_permits(), 3);
}

/// asyncio gh-108042: an interrupted `get` still lets the next getter be
/// woken.
#[test]
fn gh_108042_an_interrupted_get_still_wakes_the_next_getter() {
    let queue = Queue::unbounded();
    let first = waiting(queue.get());
    let mut second = waiting(queue.get());
    drop(first);
    queue.try_put(7).unwrap();
    assert_eq!(second.wakes(), 1);
    assert_eq!(second.ready(), Ok(7));
}

/// asyncio gh-108042: an interrupted `put` still lets the next putter in.
#[test]
fn gh_108042_an_interrupted_put_still_wakes_the_next_putter() {
    let queue = Queue::bounded(1);
    queue.try_put(0).unwrap();
    let first = waiting(queue.put(1));
    let mut second = waiting(queue.put(2));
    drop(first);
    assert_eq!(queue.try_get(), Ok(0));
    assert_eq!(second.wakes(), 1);
    assert_eq!(second.ready(), Ok(()));
    assert_eq!(
        queue.try_get(),
        Ok(2),
        "the dropped put's item never went in"
    );
}

#[test]
fn a_put_dropped_after_its_item_went_in_leaves_the_item_in_the_queue() {
    let queue = Queue::bounded(1);
    queue.try_put(0).unwrap();
    let put = waiting(queue.put(1));
    assert_eq!(queue.try_get(), Ok(0));
    assert_eq!(put.wakes(), 1);
    drop(put);
    assert_eq!(queue.try_get(), Ok(1));
}

#[test]
fn a_dropped_putter_gives_its_place_in_line_to_the_next_one() {
    let queue = Queue::bounded(1);
    queue.try_put(0).unwrap();
    let first = waiting(queue.put(1));
    let mut second = waiting(queue.put(2));
    let mut third = waiting(queue.put(3));
    drop(first);
    assert_eq!(queue.try_get(), Ok(0));
    assert_eq!((second.wakes(), third.wakes()), (1, 0));
    assert_eq!(second.ready(), Ok(()));
    assert_eq!(queue.try_get(), Ok(2));
    assert_eq!(third.ready(), Ok(()));
}

#[test]
fn notify_one_whose_chosen_waiter_is_dropped_wakes_another() {
    let mutex = Mutex::new(());
    let condition = Condition::new();
    let first = waiting(condition.wait(mutex.try_lock().unwrap()));
    let mut second = waiting(condition.wait(mutex.try_lock().unwrap()));
    condition.notify_one();
    assert_eq!((first.wakes(), second.wakes()), (1, 0));
    drop(first);
    assert_eq!(second.wakes(), 1, "the notification passed on");
    let guard = second.ready();
    assert!(mutex.try_lock().is_err(), "the guard came back locked");
    drop(guard);
}

#[test]
fn a_condition_wait_dropped_while_locking_again_passes_the_notification_on() {
    let mutex = Mutex::new(());
    let condition = Condition::new();
    let mut first = waiting(condition.wait(mutex.try_lock().unwrap()));
    let second = waiting(condition.wait(mutex.try_lock().unwrap()));
    let holder = mutex.try_lock().unwrap();
    condition.notify_one();
    first.pending(); // notified, now waiting for the mutex
    drop(first);
    assert_eq!(second.wakes(), 1);
    drop(holder);
    drop(second);
    assert!(mutex.try_lock().is_ok(), "no lock was left held");
}

#[test]
fn a_condition_waiter_is_registered_before_the_mutex_is_unlocked() {
    let mutex = Mutex::new(false);
    let condition = Condition::new();
    let mut wait = waiting(condition.wait(mutex.try_lock().unwrap()));
    // The next holder sets the flag and notifies at once: not missed.
    *mutex.try_lock().unwrap() = true;
    condition.notify_all();
    assert_eq!(wait.wakes(), 1);
    assert!(*wait.ready());
}

#[test]
fn a_barrier_wait_dropped_before_its_round_withdraws_its_arrival() {
    let barrier = Barrier::new(3);
    let first = waiting(barrier.wait());
    let mut second = waiting(barrier.wait());
    drop(first);
    let mut third = waiting(barrier.wait());
    let leader = now(barrier.wait());
    assert!(leader.is_leader());
    assert!(!second.ready().is_leader());
    assert!(!third.ready().is_leader());
}

#[test]
fn a_shut_down_queue_gives_a_waiting_putter_its_item_back() {
    let queue = Queue::bounded(1);
    queue.try_put("kept").unwrap();
    let mut put = waiting(queue.put("refused"));
    let other = Queue::<u8>::unbounded();
    let mut get = waiting(other.get());
    queue.shutdown();
    assert_eq!(put.wakes(), 1);
    assert_eq!(put.ready(), Err(ShutDown("refused")));
    assert_eq!(now(queue.get()), Ok("kept"));
    assert_eq!(now(queue.get()), Err(ShutDown(())));
    assert!(get.poll().is_pending(), "another queue is unaffected");
}
