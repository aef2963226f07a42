//! Model-based property of the driver: firing order, never early, at most
//! one tick late, cancelled timers never fire, next deadline consistent,
//! and `fire_due_if_needed` firing exactly what `fire_due` would.

mod util;

use corio_timer::{sleep_until, Instant, Sleep};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Context;
use std::time::Duration;
use util::{log_waker, virtual_timers};

const TICK: Duration = Duration::from_millis(1);

#[derive(Debug, Clone)]
enum Op {
    /// Register a sleep this many nanoseconds ahead.
    Register(u64),
    /// Drop the n-th live sleep (modulo the live count).
    Drop(usize),
    /// Advance the virtual clock by this many nanoseconds, then fire.
    Advance(u64),
    /// The same, firing with `fire_due_if_needed`, which skips the wheel's
    /// lock when its bound says nothing is due.
    AdvanceIfNeeded(u64),
    /// Let the driver jump to the next timer.
    Jump,
}

fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        // Few distinct values: many equal deadlines.
        3 => (1..4u64).prop_map(|n| n * 500_000),
        3 => 1..3_000_000u64,
        2 => 1..300_000_000u64,
        1 => 1..(1u64 << 45),
    ]
}

fn advance() -> impl Strategy<Value = u64> {
    prop_oneof![0..2_000_000u64, 0..100_000_000u64]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => offset().prop_map(Op::Register),
        2 => any::<usize>().prop_map(Op::Drop),
        2 => advance().prop_map(Op::Advance),
        2 => advance().prop_map(Op::AdvanceIfNeeded),
        1 => Just(Op::Jump),
    ]
}

proptest! {
    // Without failure persistence under Miri, which isolates the file system.
    #![proptest_config(corio_test_support::proptest_config())]

    #[test]
    fn prop_timers_fire_in_deadline_then_registration_order_on_their_tick(
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let timers = virtual_timers();
        let _guard = timers.enter();
        let origin = timers.now();
        let log = Arc::new(Mutex::new(Vec::new()));
        // Live sleeps by id; the model maps (deadline, id) to the id, ids
        // being given in registration order.
        let mut sleeps: BTreeMap<usize, (Pin<Box<Sleep>>, Instant)> = BTreeMap::new();
        let mut model: BTreeMap<(Instant, usize), ()> = BTreeMap::new();
        let mut next_id = 0;
        // Whether a skipping fire may have left the wheel behind the clock
        // since the last fire that moved it.
        let mut behind = false;
        for op in ops {
            match op {
                Op::Register(nanos) => {
                    let deadline = timers.now() + Duration::from_nanos(nanos);
                    let mut sleep = Box::pin(sleep_until(deadline));
                    let waker = log_waker(next_id, &log);
                    prop_assert!(sleep.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
                    sleeps.insert(next_id, (sleep, deadline));
                    model.insert((deadline, next_id), ());
                    next_id += 1;
                }
                Op::Drop(n) => {
                    if sleeps.is_empty() {
                        continue;
                    }
                    let id = *sleeps.keys().nth(n % sleeps.len()).unwrap();
                    let (sleep, deadline) = sleeps.remove(&id).unwrap();
                    drop(sleep);
                    model.remove(&(deadline, id));
                }
                Op::Advance(nanos) => {
                    timers.clock().advance(Duration::from_nanos(nanos));
                    timers.fire_due();
                    behind = false;
                }
                Op::AdvanceIfNeeded(nanos) => {
                    timers.clock().advance(Duration::from_nanos(nanos));
                    timers.fire_due_if_needed();
                    behind = true;
                    // Skipped or not, nothing is left for a loop parking
                    // until the next deadline to do now: it would spin.
                    if let Some(next) = timers.next_deadline() {
                        prop_assert!(next > timers.now(), "no work left due after a skipping fire");
                    }
                }
                Op::Jump => {
                    prop_assert_eq!(timers.advance_virtual(), !model.is_empty());
                }
            }
            let now = timers.now();
            let fired: Vec<usize> = std::mem::take(&mut *log.lock().unwrap());
            let mut expected = Vec::new();
            while let Some(entry) = model.first_entry() {
                let (deadline, id) = *entry.key();
                // Due on the tick holding the deadline: never early, and
                // fired by the first fire at or after that tick.
                let tick_end = origin + TICK * u32::try_from((deadline - origin).as_nanos().div_ceil(1_000_000)).unwrap();
                if tick_end > now {
                    break;
                }
                entry.remove();
                expected.push(id);
                prop_assert!(deadline <= now, "never early");
            }
            prop_assert_eq!(&fired, &expected, "fired set and order");
            for id in &fired {
                let (mut sleep, _) = sleeps.remove(id).unwrap();
                let waker = log_waker(usize::MAX, &log);
                prop_assert!(sleep.as_mut().poll(&mut Context::from_waker(&waker)).is_ready());
            }
            prop_assert_eq!(timers.len(), model.len());
            match model.keys().next() {
                None => prop_assert_eq!(timers.next_deadline(), None),
                Some(&(earliest, _)) => {
                    let next = timers.next_deadline().expect("timers are registered");
                    prop_assert!(next < earliest + TICK, "next deadline is never after the earliest tick");
                    // Exact when the timer lies in the current 64 ms
                    // rotation of the finest level (the driver fired at
                    // `now`, so the wheel stands at now's tick).
                    let tick_of = |instant: Instant| (instant - origin).as_nanos() / 1_000_000;
                    let earliest_tick = (earliest - origin).as_nanos().div_ceil(1_000_000);
                    if !behind && earliest_tick / 64 == tick_of(now) / 64 {
                        prop_assert!(next >= earliest, "and exact when the timer is near");
                    }
                }
            }
        }
    }
}
