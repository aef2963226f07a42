//! loom models: every interleaving (up to `LOOM_MAX_PREEMPTIONS`) of
//! concurrent acquires, releases, puts, gets and drops of pending futures.
//! Run with `cargo xtask loom`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

use corio_test_support::noop_waker;
use loom::future::block_on;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

use crate::{Mutex, Queue, Semaphore};

/// Polls `future` once with a waker that does nothing, then drops it: a
/// waiting future cancelled at an arbitrary point.
fn poll_once_then_drop<F: Future>(future: F) -> Option<F::Output> {
    match pin!(future).poll(&mut Context::from_waker(&noop_waker())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

#[test]
fn loom_semaphore_loses_no_permit_when_a_waiter_is_dropped() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let inside = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (semaphore, inside) = (semaphore.clone(), inside.clone());
            thread::spawn(move || {
                let _permit = block_on(semaphore.acquire());
                assert_eq!(
                    inside.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two permits out of one"
                );
                inside.fetch_sub(1, Ordering::SeqCst);
            })
        };
        let dropper = {
            let semaphore = semaphore.clone();
            thread::spawn(move || drop(poll_once_then_drop(semaphore.acquire())))
        };
        {
            let _permit = block_on(semaphore.acquire());
            assert_eq!(
                inside.fetch_add(1, Ordering::SeqCst),
                0,
                "two permits out of one"
            );
            inside.fetch_sub(1, Ordering::SeqCst);
        }
        worker.join().unwrap();
        dropper.join().unwrap();
        assert_eq!(semaphore.available_permits(), 1, "a permit was lost");
    });
}

#[test]
fn loom_mutex_excludes_and_hands_over() {
    loom::model(|| {
        let mutex = Arc::new(Mutex::new(0));
        let other = {
            let mutex = mutex.clone();
            thread::spawn(move || *block_on(mutex.lock()) += 1)
        };
        *block_on(mutex.lock()) += 1;
        other.join().unwrap();
        assert_eq!(*mutex.try_lock().unwrap(), 2);
    });
}

#[test]
fn loom_queue_loses_and_duplicates_no_item_when_a_getter_is_dropped() {
    loom::model(|| {
        let queue = Arc::new(Queue::bounded(1));
        let producer = {
            let queue = queue.clone();
            thread::spawn(move || {
                block_on(queue.put(1)).unwrap();
                block_on(queue.put(2)).unwrap();
            })
        };
        let dropper = {
            let queue = queue.clone();
            thread::spawn(move || poll_once_then_drop(queue.get()).and_then(Result::ok))
        };
        let mut seen = vec![block_on(queue.get()).unwrap()];
        producer.join().unwrap();
        seen.extend(dropper.join().unwrap());
        seen.extend(std::iter::from_fn(|| queue.try_get().ok()));
        seen.sort_unstable();
        assert_eq!(seen, [1, 2]);
    });
}

#[test]
fn loom_queue_putters_and_getters_meet_across_threads() {
    loom::model(|| {
        let queue = Arc::new(Queue::bounded(1));
        let consumer = {
            let queue = queue.clone();
            thread::spawn(move || {
                let first = block_on(queue.get()).unwrap();
                let second = block_on(queue.get()).unwrap();
                (first, second)
            })
        };
        block_on(queue.put(1)).unwrap();
        block_on(queue.put(2)).unwrap();
        assert_eq!(consumer.join().unwrap(), (1, 2), "FIFO across threads");
        assert!(queue.is_empty());
    });
}
