//! `timers`: 1,000,000 sleeps with random deadlines on one event loop, one
//! in ten cancelled before its deadline; every other one fires exactly once
//! and never before its deadline. Reports the largest lateness.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use corio::time::Instant;
use corio::EventLoop;

use super::Outcome;
use crate::rng::XorShift;
use crate::Length;

const TIMERS: usize = 1_000_000;
/// The deadlines start this long after the phase starts, so that spawning
/// and cancelling end before the first one.
const FIRST_DEADLINE: Duration = Duration::from_secs(2);

/// Runs the phase; see the module docs.
pub fn run(length: Length) -> Result<Outcome, String> {
    let spread = match length {
        Length::Full => Duration::from_secs(3),
        Length::Quick => Duration::from_secs(1),
    };
    let mut event_loop = EventLoop::new().map_err(|e| format!("cannot start a loop: {e}"))?;
    Ok(event_loop.run_until_complete(timers(spread)))
}

async fn timers(spread: Duration) -> Outcome {
    let mut rng = XorShift::new(0x7133_5eed);
    let fired: Rc<[Cell<u8>]> = (0..TIMERS).map(|_| Cell::new(0)).collect();
    let early = Rc::new(Cell::new(0u64));
    let latest = Rc::new(Cell::new(Duration::ZERO));
    let base = Instant::now() + FIRST_DEADLINE;
    let spread_ms = spread.as_millis() as u64;
    let mut cancel = Vec::with_capacity(TIMERS / 10 + 1);
    for index in 0..TIMERS {
        let deadline = base + Duration::from_micros(rng.below(spread_ms * 1000));
        let (fired, early, latest) = (fired.clone(), early.clone(), latest.clone());
        let task = corio::spawn_local(async move {
            corio::time::sleep_until(deadline).await;
            let now = Instant::now();
            if now < deadline {
                early.set(early.get() + 1);
            } else {
                latest.set(latest.get().max(now - deadline));
            }
            fired[index].set(fired[index].get() + 1);
        });
        if rng.below(10) == 0 {
            cancel.push((index, task));
        } else {
            task.detach();
        }
    }
    // Every sleep registers its deadline at its first poll.
    corio::yield_now().await;
    let cancelled_in_time = Instant::now() < base;
    let cancelled: Vec<usize> = cancel
        .into_iter()
        .filter_map(|(index, task)| task.cancel().then_some(index))
        .collect();
    let expected = (TIMERS - cancelled.len()) as u64;
    let fired_total = || {
        fired
            .iter()
            .map(|count| u64::from(count.get()))
            .sum::<u64>()
    };
    let give_up = base + spread + Duration::from_secs(10);
    corio::time::sleep_until(base + spread).await;
    while fired_total() < expected && Instant::now() < give_up {
        corio::sleep(Duration::from_millis(10)).await;
    }
    // A moment more, so that a timer firing twice would show.
    corio::sleep(Duration::from_millis(50)).await;
    let twice = fired.iter().filter(|count| count.get() > 1).count();
    let cancelled_fired = cancelled.iter().filter(|&&i| fired[i].get() != 0).count();
    let once = fired.iter().filter(|count| count.get() == 1).count() as u64;
    Outcome {
        load: format!("{TIMERS} sleeps over {} s", spread.as_secs()),
        faults: format!("{} cancelled before deadline", cancelled.len()),
        expected,
        seen: once,
        ok: cancelled_in_time && twice == 0 && cancelled_fired == 0 && early.get() == 0,
        note: format!(
            "fired exactly once {once} of {expected}; fired twice {twice}; cancelled yet fired \
             {cancelled_fired}; early {}; max lateness {:.1} ms{}",
            early.get(),
            latest.get().as_secs_f64() * 1000.0,
            if cancelled_in_time {
                ""
            } else {
                "; FAILED: spawning ended after the first deadline"
            }
        ),
    }
}
