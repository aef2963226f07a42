//! Measures the cost of registering and cancelling one timer through the
//! public API: create a 10 s `Sleep`, poll it once so that it registers in
//! the wheel, drop it (which cancels it).
//!
//! Run with `cargo run --release -p corio-timer --example wheel_cost`.

use corio_timer::{sleep, Clock, Timers};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

fn measure(clock: Clock, pairs: u32) -> f64 {
    let timers = Timers::new(clock);
    let _guard = timers.enter();
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let start = std::time::Instant::now();
    for _ in 0..pairs {
        let mut sleep = pin!(sleep(Duration::from_secs(10)));
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
    }
    let elapsed = start.elapsed();
    assert!(timers.is_empty());
    elapsed.as_nanos() as f64 / f64::from(pairs)
}

fn main() {
    const PAIRS: u32 = 1_000_000;
    // Warm up, then take the best of five runs of each clock.
    measure(Clock::real(), PAIRS / 10);
    let best = |clock: fn() -> Clock| {
        (0..5)
            .map(|_| measure(clock(), PAIRS))
            .fold(f64::INFINITY, f64::min)
    };
    let real = best(Clock::real);
    let manual = best(Clock::manual);
    println!("insert+cancel via Sleep (create, first poll, drop), {PAIRS} pairs, best of 5:");
    println!("  real clock:    {real:.1} ns per pair");
    println!("  virtual clock: {manual:.1} ns per pair");
}
