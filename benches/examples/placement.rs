//! Where the multi-thread ping-pong time goes: the `mt_ping_pong` workload
//! (1,000 pairs of tasks bouncing a number 100 times over two capacity-1
//! async-channel channels) run four ways, interleaved, 9 rounds each, with
//! the median printed for each way and its ratio to tokio's multi-thread
//! runtime:
//!
//! - `corio-mt`: `corio::Runtime::new()`, every task spawned from the
//!   `block_on` thread, as the benchmark does: the runtime decides where
//!   each task runs, and moves tasks to balance the workers.
//! - `tokio-mt`: the same on tokio's multi-thread runtime.
//! - `pinned`: one corio multi-thread runtime whose workers each spawn
//!   (with `spawn_local`) and run an equal share of the pairs: no task ever
//!   moves, and each worker allocated what it touches.
//! - `sharded`: one corio event loop per core, each running an equal share
//!   of the pairs.
//!
//! The last two are what a runtime could reach with a perfect placement
//! known in advance; the gap between them and `corio-mt` is the cost of
//! placing tasks spawned from outside (see docs/ARCHITECTURE.md).
//!
//! ```text
//! cargo run --release -p corio-bench --example placement
//! ```

use std::collections::HashSet;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};

const PAIRS: u64 = 1_000;
const TRIPS: u64 = 100;
const ROUNDS: usize = 9;

/// The pong side: answers each number with the number plus one until the
/// ping side closes its channel; returns how many it answered.
async fn pong(from_ping: Receiver<u64>, to_ping: Sender<u64>) -> u64 {
    let mut served = 0;
    while let Ok(value) = from_ping.recv().await {
        if to_ping.send(value + 1).await.is_err() {
            break;
        }
        served += 1;
    }
    served
}

/// The ping side: sends `TRIPS` numbers, one at a time, and counts the
/// correct answers.
async fn ping(to_pong: Sender<u64>, from_pong: Receiver<u64>) -> u64 {
    let mut correct = 0;
    for trip in 0..TRIPS {
        if to_pong.send(trip).await.is_err() {
            break;
        }
        match from_pong.recv().await {
            Ok(answer) if answer == trip + 1 => correct += 1,
            _ => break,
        }
    }
    correct
}

/// One capacity-1 channel: its sending and its receiving end.
type Channel = (Sender<u64>, Receiver<u64>);

/// The two channels of one pair: ping to pong, then pong to ping.
fn pair() -> (Channel, Channel) {
    (async_channel::bounded(1), async_channel::bounded(1))
}

/// Spawns `pairs` pairs with `spawn` (`corio::spawn`, `corio::spawn_local`
/// or `tokio::spawn`), awaits them, and returns the correct answers plus
/// the answers served. A macro rather than a function so that each
/// runtime spawns the futures themselves, unboxed, as the benchmark does.
macro_rules! run_pairs {
    ($pairs:expr, $spawn:path) => {{
        let mut handles = Vec::with_capacity(2 * $pairs as usize);
        for _ in 0..$pairs {
            let ((to_pong, from_ping), (to_ping, from_pong)) = pair();
            handles.push($spawn(pong(from_ping, to_ping)));
            handles.push($spawn(ping(to_pong, from_pong)));
        }
        let mut total = 0;
        for handle in handles {
            total += handle.await.expect("a pair's task completes");
        }
        total
    }};
}

fn corio_mt(_workers: u64) -> Option<Duration> {
    let runtime = corio::Runtime::new().expect("a runtime");
    let started = Instant::now();
    let total = runtime.block_on(async { run_pairs!(PAIRS, corio::spawn) });
    check(total);
    Some(started.elapsed())
}

fn tokio_mt(_workers: u64) -> Option<Duration> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .build()
        .expect("a runtime");
    let started = Instant::now();
    let total = runtime.block_on(async { run_pairs!(PAIRS, tokio::spawn) });
    check(total);
    Some(started.elapsed())
}

/// `None` when two shares landed on one worker (the runtime placed the
/// share tasks, not this program): the round is run again.
fn pinned(workers: u64) -> Option<Duration> {
    let runtime = corio::Runtime::new().expect("a runtime");
    let started = Instant::now();
    let (total, threads) = runtime.block_on(async {
        let shares: Vec<_> = (0..workers)
            .map(|_| {
                corio::spawn(async move {
                    let thread = std::thread::current().id();
                    let total = run_pairs!(PAIRS / workers, corio::spawn_local);
                    (total, thread)
                })
            })
            .collect();
        let mut total = 0;
        let mut threads = HashSet::new();
        for share in shares {
            let (share_total, thread) = share.await.expect("a share completes");
            total += share_total;
            threads.insert(thread);
        }
        (total, threads)
    });
    let elapsed = started.elapsed();
    check(total);
    (threads.len() as u64 == workers).then_some(elapsed)
}

fn sharded(workers: u64) -> Option<Duration> {
    let started = Instant::now();
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            std::thread::spawn(move || {
                corio::run(async move { run_pairs!(PAIRS / workers, corio::spawn) })
            })
        })
        .collect();
    let total = threads
        .into_iter()
        .map(|thread| thread.join().expect("a shard completes"))
        .sum();
    let elapsed = started.elapsed();
    check(total);
    Some(elapsed)
}

/// One way to run the workload on a number of workers: its time, or
/// `None` to run the round again.
type Way = fn(u64) -> Option<Duration>;

fn check(total: u64) {
    assert_eq!(
        total,
        2 * PAIRS * TRIPS,
        "every round trip answered and counted"
    );
}

fn main() {
    let workers = std::thread::available_parallelism().map_or(1, |count| count.get()) as u64;
    let ways: [(&str, Way); 4] = [
        ("corio-mt", corio_mt),
        ("tokio-mt", tokio_mt),
        ("pinned", pinned),
        ("sharded", sharded),
    ];
    let mut samples = vec![Vec::new(); ways.len()];
    for _ in 0..ROUNDS {
        for ((_, run), samples) in ways.iter().zip(&mut samples) {
            let sample = loop {
                if let Some(elapsed) = run(workers) {
                    break elapsed;
                }
            };
            samples.push(sample);
        }
    }
    let median = |samples: &mut Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2]
    };
    let medians: Vec<Duration> = samples.iter_mut().map(median).collect();
    let tokio = medians[1].as_secs_f64();
    println!("{PAIRS} pairs x {TRIPS} round trips on {workers} workers, median of {ROUNDS}:");
    for ((name, _), median) in ways.iter().zip(&medians) {
        println!(
            "  {name:<9} {:>8.2} ms  {:.2}x tokio-mt",
            median.as_secs_f64() * 1e3,
            median.as_secs_f64() / tokio
        );
    }
}
