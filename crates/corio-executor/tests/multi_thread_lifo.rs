//! The multi-thread runtime's LIFO slot: a task woken by the running task
//! runs next, but two tasks waking each other forever cannot starve the rest
//! of a worker's queue.

use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use corio_executor::{spawn, yield_now, Runtime};

/// One side of an endless ping-pong: each poll wakes the other side's
/// waker, then waits to be woken in turn, until `stop` is set.
async fn bounce(
    mine: Arc<Mutex<Option<Waker>>>,
    theirs: Arc<Mutex<Option<Waker>>>,
    stop: Arc<AtomicBool>,
    turns: Arc<AtomicUsize>,
) {
    poll_fn(|cx| {
        if stop.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        turns.fetch_add(1, Ordering::SeqCst);
        *mine.lock().unwrap() = Some(cx.waker().clone());
        if let Some(waker) = theirs.lock().unwrap().take() {
            waker.wake();
        }
        Poll::Pending
    })
    .await;
}

/// A multi-thread runtime with one worker, and the two sides of an endless
/// ping-pong for it, with the flag that stops them and their count of turns.
fn one_worker_and_a_pair() -> (
    Runtime,
    [impl Future<Output = ()> + Send; 2],
    Arc<AtomicBool>,
    Arc<AtomicUsize>,
) {
    let runtime = Runtime::builder()
        .multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let (a, b) = (Arc::new(Mutex::new(None)), Arc::new(Mutex::new(None)));
    let stop = Arc::new(AtomicBool::new(false));
    let turns = Arc::new(AtomicUsize::new(0));
    let pair = [
        bounce(a.clone(), b.clone(), stop.clone(), turns.clone()),
        bounce(b, a, stop.clone(), turns.clone()),
    ];
    (runtime, pair, stop, turns)
}

#[test]
fn two_tasks_waking_each_other_do_not_starve_a_third_on_one_worker() {
    let (runtime, [ping, pong], stop, turns) = one_worker_and_a_pair();
    let finished = runtime.block_on(runtime.spawn(async move {
        let ping = spawn(ping);
        let pong = spawn(pong);
        // This task yields 100 times while the pair wakes each other: each
        // of its turns comes after at most a few LIFO runs of the pair.
        for _ in 0..100 {
            yield_now().await;
        }
        stop.store(true, Ordering::SeqCst);
        // One side sees `stop` and ends; the other waits for a wake that
        // never comes and is cancelled when the runtime drops.
        drop((ping, pong));
        true
    }));
    assert!(finished.unwrap());
    let turns = turns.load(Ordering::SeqCst);
    assert!(
        turns > 100,
        "the pair ran while the third task yielded: {turns}"
    );
    // Per turn of the third task, the pair runs once from the queue and at
    // most 8 times from the slot.
    assert!(
        turns < 100 * 12,
        "the third task was not starved: {turns} turns of the pair"
    );
}

/// A task spawned from outside while two tasks wake each other forever on
/// the only worker runs within 61 polls: the polls the pair takes from the
/// LIFO slot count towards the worker's maintenance interval too.
#[test]
fn a_task_from_outside_runs_within_61_polls_of_a_pair_in_the_lifo_slot() {
    let (runtime, [ping, pong], stop, turns) = one_worker_and_a_pair();
    let ping = runtime.spawn(ping);
    let pong = runtime.spawn(pong);
    while turns.load(Ordering::SeqCst) < 1_000 {
        std::thread::yield_now();
    }
    let mut waits = Vec::new();
    for _ in 0..5 {
        let counter = turns.clone();
        let task = runtime.spawn(async move { counter.load(Ordering::SeqCst) });
        // Read once the push is done: the pair's polls from here until the
        // task runs are part of its wait (the pair runs on while this thread
        // spawns, so a count read before the spawn would include them too).
        let pushed = turns.load(Ordering::SeqCst);
        let at_run = runtime.block_on(task).unwrap();
        waits.push(at_run.saturating_sub(pushed));
    }
    stop.store(true, Ordering::SeqCst);
    drop((ping, pong));
    // 61 polls at most, plus the one under way when the task was pushed.
    assert!(
        waits.iter().all(|&wait| wait <= 62),
        "polls of the pair before the outside task ran: {waits:?}"
    );
}
