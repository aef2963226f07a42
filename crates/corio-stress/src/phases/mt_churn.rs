//! `mt-churn`: the multi-thread runtime (4 workers) for 60 s (`--quick`:
//! 5 s), fed by 4 foreign threads that spawn batches of tasks and cancel a
//! random quarter of them. Each task takes a `Semaphore` permit, yields or
//! sleeps, then adds one to a shared `Mutex` counter and puts one item in a
//! `Queue` that a consumer task drains: the increment and the put are its
//! last steps, with no await after them, so a task adds one exactly when
//! it completes. Counts that must match: the mutex counter, the items
//! consumed and the tasks that completed; every future dropped once; the
//! permits all back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use corio::runtime::Handle;
use corio::sync::{Mutex, Queue, Semaphore};
use corio::Runtime;

use super::Outcome;
use crate::rng::XorShift;
use crate::Length;

const WORKERS: usize = 4;
const FOREIGN_THREADS: u64 = 4;
const BATCH: usize = 64;
const PERMITS: usize = 8;

/// What the tasks share.
struct Shared {
    counter: Mutex<u64>,
    permits: Semaphore,
    queue: Queue<u64>,
    drops: AtomicU64,
}

/// Counts the drop of a task's future.
struct DropMark(Arc<Shared>);

impl Drop for DropMark {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// What one foreign thread saw.
#[derive(Default)]
struct Tally {
    spawned: u64,
    completed: u64,
    cancelled: u64,
    cancels_sent: u64,
    wrong: u64,
}

/// Runs the phase; see the module docs.
pub fn run(length: Length) -> Result<Outcome, String> {
    let duration = match length {
        Length::Full => Duration::from_secs(60),
        Length::Quick => Duration::from_secs(5),
    };
    churn_for(duration)
}

/// The phase for 100 ms, before the table: see `phases::warm_up`.
pub fn warm_up() -> Result<(), String> {
    let outcome = churn_for(Duration::from_millis(100))?;
    if outcome.ok {
        Ok(())
    } else {
        Err(outcome.note)
    }
}

fn churn_for(duration: Duration) -> Result<Outcome, String> {
    let runtime = Runtime::builder()
        .multi_thread()
        .worker_threads(WORKERS)
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let shared = Arc::new(Shared {
        counter: Mutex::new(0),
        permits: Semaphore::new(PERMITS),
        queue: Queue::unbounded(),
        drops: AtomicU64::new(0),
    });
    let consumer = {
        let shared = shared.clone();
        runtime.spawn(async move {
            let mut consumed = 0u64;
            while let Ok(item) = shared.queue.get().await {
                consumed += item;
            }
            consumed
        })
    };
    let deadline = Instant::now() + duration;
    let threads: Vec<_> = (0..FOREIGN_THREADS)
        .map(|seed| {
            let (handle, shared) = (runtime.handle(), shared.clone());
            thread::spawn(move || churn(handle, shared, deadline, seed + 1))
        })
        .collect();
    let mut tally = Tally::default();
    for thread in threads {
        let one = thread.join().map_err(|_| "a foreign thread panicked")?;
        tally.spawned += one.spawned;
        tally.completed += one.completed;
        tally.cancelled += one.cancelled;
        tally.cancels_sent += one.cancels_sent;
        tally.wrong += one.wrong;
    }
    shared.queue.shutdown();
    let consumed = runtime
        .block_on(consumer)
        .map_err(|e| format!("the consumer failed: {e}"))?;
    drop(runtime);
    let counter = *shared
        .counter
        .try_lock()
        .map_err(|_| "the counter is still locked")?;
    let drops = shared.drops.load(Ordering::SeqCst);
    let permits = shared.permits.available_permits();
    let ok = counter == tally.completed
        && consumed == tally.completed
        && drops == tally.spawned
        && tally.completed + tally.cancelled == tally.spawned
        && tally.wrong == 0
        && permits == PERMITS;
    Ok(Outcome {
        load: format!(
            "{} s, {WORKERS} workers, {FOREIGN_THREADS} foreign spawners",
            duration.as_secs()
        ),
        faults: format!("{} cancels, racing completion", tally.cancels_sent),
        expected: tally.completed,
        seen: counter.min(consumed),
        ok,
        note: format!(
            "spawned {}, completed {}, cancelled {}, wrong outcome {}; mutex counter {counter}, \
             queue items consumed {consumed}; futures dropped {drops} of {}; permits back \
             {permits} of {PERMITS}",
            tally.spawned, tally.completed, tally.cancelled, tally.wrong, tally.spawned
        ),
    })
}

/// One foreign thread: spawn batches until `deadline`, cancel a random
/// quarter of each, wait for the batch and tally the outcomes.
fn churn(handle: Handle, shared: Arc<Shared>, deadline: Instant, seed: u64) -> Tally {
    let mut rng = XorShift::new(seed);
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let batch: Vec<_> = (0..BATCH)
            .map(|_| {
                let mark = DropMark(shared.clone());
                let pause = rng.below(4);
                handle.spawn(async move {
                    let mark = mark;
                    let shared = &mark.0;
                    let _permit = shared.permits.acquire().await;
                    match pause {
                        0 => {}
                        1 => corio::yield_now().await,
                        _ => corio::sleep(Duration::from_micros(50 * pause)).await,
                    }
                    let mut counter = shared.counter.lock().await;
                    *counter += 1;
                    shared
                        .queue
                        .try_put(1)
                        .expect("an unbounded queue open until the end accepts");
                    7u8
                })
            })
            .collect();
        tally.spawned += BATCH as u64;
        for task in &batch {
            if rng.below(4) == 0 {
                task.cancel();
                tally.cancels_sent += 1;
            }
        }
        handle.block_on(async {
            for task in batch {
                match task.await {
                    Ok(7) => tally.completed += 1,
                    Err(error) if error.is_cancelled() => tally.cancelled += 1,
                    _ => tally.wrong += 1,
                }
            }
        });
    }
    tally
}
