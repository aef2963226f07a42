//! Loom models of the shared timer wheel: a timer registered, polled or
//! cancelled on another thread while the driver fires. Run with `cargo
//! xtask loom`; the model marked `#[ignore]` is exhaustive and runs with
//! `cargo xtask loom --full`.
//!
//! What each checks: a timer registered on another thread while the driver
//! fires a due one lands in the wheel and fires once at its own deadline; a
//! due timer cancelled while the driver fires is either woken or removed,
//! never both, and leaves no entry behind; a re-poll with a new waker racing
//! the fire is either ready or woken through the new waker (no wake-up is
//! lost); the wheel is empty at the end.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use loom::thread;

use crate::{Clock, Sleep, Timers};

struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counting_waker() -> (Waker, Arc<CountWakes>) {
    let counter = Arc::new(CountWakes(AtomicUsize::new(0)));
    (Waker::from(counter.clone()), counter)
}

fn poll(sleep: &mut Sleep, waker: &Waker) -> Poll<()> {
    Pin::new(sleep).poll(&mut Context::from_waker(waker))
}

/// A driver on a manual clock and a timer 5 ms ahead, registered (polled
/// once with `waker`), and the clock then moved past its deadline: the
/// next `fire_due` fires it. The clock is not modelled by loom (a std
/// atomic), so every model moves it before spawning its threads; what
/// races is the wheel's lock.
fn timers_with_a_due_timer(waker: &Waker) -> (Timers, Sleep) {
    let timers = Timers::new(Clock::manual());
    let mut sleep = timers
        .handle()
        .sleep_until(timers.now() + Duration::from_millis(5));
    assert!(poll(&mut sleep, waker).is_pending());
    timers.clock().advance(Duration::from_millis(10));
    (timers, sleep)
}

#[test]
fn loom_a_timer_registered_on_another_thread_while_the_driver_fires() {
    loom::model(|| {
        let (due_waker, due_wakes) = counting_waker();
        let (timers, due) = timers_with_a_due_timer(&due_waker);
        // A second timer, 5 ms after the moved clock, registered on another
        // thread while the driver fires the first.
        let mut later = timers
            .handle()
            .sleep_until(timers.now() + Duration::from_millis(5));
        let (waker, wakes) = counting_waker();
        let registrar = thread::spawn(move || {
            let first = poll(&mut later, &waker);
            (later, waker, first)
        });
        assert_eq!(timers.fire_due(), 1);
        let (mut later, waker, first) = registrar.join().unwrap();
        assert!(first.is_pending());
        assert_eq!(due_wakes.0.load(SeqCst), 1);
        assert_eq!(wakes.0.load(SeqCst), 0, "not due yet");
        assert_eq!(timers.len(), 1, "the new timer is in the wheel");
        timers.clock().advance(Duration::from_millis(10));
        assert_eq!(timers.fire_due(), 1);
        assert_eq!(wakes.0.load(SeqCst), 1);
        assert!(poll(&mut later, &waker).is_ready());
        assert!(timers.is_empty());
        drop(due);
    });
}

#[test]
fn loom_a_timer_cancelled_on_another_thread_while_the_driver_fires() {
    loom::model(|| {
        let (waker, wakes) = counting_waker();
        let (timers, sleep) = timers_with_a_due_timer(&waker);
        let canceller = thread::spawn(move || drop(sleep));
        let fired = timers.fire_due();
        canceller.join().unwrap();
        // Fired before the drop removed it, or removed before it fired.
        assert_eq!(fired, wakes.0.load(SeqCst));
        assert!(fired <= 1);
        assert!(timers.is_empty());
    });
}

#[test]
fn loom_a_repoll_with_a_new_waker_racing_the_fire_is_never_lost() {
    loom::model(|| {
        let (old_waker, old_wakes) = counting_waker();
        let (timers, mut sleep) = timers_with_a_due_timer(&old_waker);
        let repoller = thread::spawn(move || {
            let (new_waker, new_wakes) = counting_waker();
            let polled = poll(&mut sleep, &new_waker);
            (sleep, new_waker, new_wakes, polled)
        });
        assert_eq!(timers.fire_due(), 1);
        let (mut sleep, new_waker, new_wakes, polled) = repoller.join().unwrap();
        let (old, new) = (old_wakes.0.load(SeqCst), new_wakes.0.load(SeqCst));
        if polled.is_ready() {
            // The fire came first and woke the waker it held.
            assert_eq!((old, new), (1, 0));
        } else {
            // The re-poll came first: the fire woke its new waker.
            assert_eq!((old, new), (0, 1));
            assert!(poll(&mut sleep, &new_waker).is_ready());
        }
        assert!(timers.is_empty());
    });
}

#[test]
#[ignore = "exhaustive: cargo xtask loom --full"]
fn loom_two_threads_register_repoll_and_cancel_while_the_driver_fires() {
    loom::model(|| {
        let (waker, wakes) = counting_waker();
        let (timers, due) = timers_with_a_due_timer(&waker);
        let handle = timers.handle();
        let now = timers.now();
        let threads: Vec<_> = [3, 8]
            .into_iter()
            .map(|ms| {
                let mut sleep = handle.sleep_until(now + Duration::from_millis(ms));
                thread::spawn(move || {
                    let (first_waker, _) = counting_waker();
                    assert!(poll(&mut sleep, &first_waker).is_pending());
                    let (second_waker, second_wakes) = counting_waker();
                    assert!(poll(&mut sleep, &second_waker).is_pending());
                    (sleep, second_waker, second_wakes)
                })
            })
            .collect();
        let canceller = thread::spawn(move || drop(due));
        let fired = timers.fire_due();
        canceller.join().unwrap();
        assert_eq!(fired, wakes.0.load(SeqCst));
        let mut sleeps: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        timers.clock().advance(Duration::from_millis(10));
        assert_eq!(timers.fire_due(), 2);
        for (sleep, waker, wakes) in &mut sleeps {
            assert_eq!(
                wakes.0.load(SeqCst),
                1,
                "woken once, through its latest waker"
            );
            assert!(poll(sleep, waker).is_ready());
        }
        assert!(timers.is_empty());
    });
}
