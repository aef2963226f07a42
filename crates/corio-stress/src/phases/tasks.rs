//! `tasks`: 1,000,000 tasks on one event loop, in rounds of 100,000 alive at
//! once, each with a random fate: complete at once, complete after a few
//! yields, wait forever and be cancelled, or be cancelled at a random point
//! of a few yields (racing its completion). Every future is dropped exactly
//! once (a per-task drop mark), every completed task returns its own
//! number, and every task ends either completed or cancelled.

use std::cell::Cell;
use std::future::pending;
use std::rc::Rc;

use corio::EventLoop;

use super::Outcome;
use crate::rng::XorShift;

const TASKS: usize = 1_000_000;
const ROUND: usize = 100_000;

/// Counts its drop in `drops[index]`; every task's future owns one.
struct DropMark {
    index: usize,
    drops: Rc<[Cell<u8>]>,
}

impl Drop for DropMark {
    fn drop(&mut self) {
        let count = &self.drops[self.index];
        count.set(count.get().saturating_add(1));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Now,
    AfterYields(u8),
    Forever,
    CancelledWithin(u8),
}

/// Runs the phase; see the module docs.
pub fn run() -> Result<Outcome, String> {
    let mut event_loop = EventLoop::new().map_err(|e| format!("cannot start a loop: {e}"))?;
    Ok(event_loop.run_until_complete(tasks()))
}

async fn tasks() -> Outcome {
    let mut rng = XorShift::new(0x7a5c_5eed);
    let drops: Rc<[Cell<u8>]> = (0..TASKS).map(|_| Cell::new(0)).collect();
    let (mut completed, mut cancelled, mut wrong) = (0u64, 0u64, 0u64);
    let mut cancels_sent = 0u64;
    for round in 0..TASKS / ROUND {
        let mut handles = Vec::with_capacity(ROUND);
        for index in round * ROUND..(round + 1) * ROUND {
            let fate = match rng.below(4) {
                0 => Fate::Now,
                1 => Fate::AfterYields(1 + rng.below(3) as u8),
                2 => Fate::Forever,
                _ => Fate::CancelledWithin(1 + rng.below(4) as u8),
            };
            let mark = DropMark {
                index,
                drops: drops.clone(),
            };
            let task = corio::spawn_local(async move {
                let _mark = mark;
                match fate {
                    Fate::Now => {}
                    Fate::AfterYields(n) | Fate::CancelledWithin(n) => {
                        for _ in 0..n {
                            corio::yield_now().await;
                        }
                    }
                    Fate::Forever => pending::<()>().await,
                }
                index
            });
            handles.push((index, fate, task));
        }
        // Let every task start; the ones with few yields finish meanwhile.
        for _ in 0..2 {
            corio::yield_now().await;
        }
        for (_, fate, task) in &handles {
            if matches!(fate, Fate::Forever | Fate::CancelledWithin(_)) {
                task.cancel();
                cancels_sent += 1;
            }
        }
        for (index, fate, task) in handles {
            match task.await {
                Ok(returned) if returned == index && fate != Fate::Forever => completed += 1,
                Err(error)
                    if error.is_cancelled()
                        && matches!(fate, Fate::Forever | Fate::CancelledWithin(_)) =>
                {
                    cancelled += 1
                }
                _ => wrong += 1,
            }
        }
    }
    let once = drops.iter().filter(|count| count.get() == 1).count() as u64;
    let never = drops.iter().filter(|count| count.get() == 0).count();
    let twice = drops.iter().filter(|count| count.get() > 1).count();
    Outcome {
        load: format!("{TASKS} tasks, {ROUND} alive at once"),
        faults: format!("{cancels_sent} cancels, racing completion"),
        expected: TASKS as u64,
        seen: once,
        ok: wrong == 0 && completed + cancelled == TASKS as u64,
        note: format!(
            "dropped exactly once {once}, never {never}, twice or more {twice}; completed \
             {completed}, cancelled {cancelled}, wrong outcome {wrong}"
        ),
    }
}
