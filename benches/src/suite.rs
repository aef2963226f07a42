//! The benchmark suite: which workloads run, at what size, on which
//! runtimes, and the interleaved loop that runs them.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::corio_rt::{Corio, CorioMt, CorioUring};
use crate::http;
use crate::memory;
use crate::python::{self, Python};
use crate::runtime::{Runtime, Smol, Tokio, TokioMt};
use crate::workloads::{self, Outcome, Sample};

/// How big and how often.
pub struct Config {
    /// `--quick`: every size divided by ten, fewer runs.
    pub quick: bool,
    /// Measured runs per runtime.
    pub runs: usize,
    /// Unmeasured runs per runtime before those.
    pub warmups: usize,
    /// Only benchmarks whose key contains this.
    pub only: Option<String>,
    /// Only this runtime's rows (to profile one runtime in isolation).
    pub runtime: Option<String>,
}

impl Config {
    /// A full-size count, or a tenth of it with `--quick`.
    fn size(&self, full: u64) -> u64 {
        if self.quick {
            full / 10
        } else {
            full
        }
    }
}

/// What a benchmark's figures count.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds of wall time.
    Seconds,
    /// Bytes.
    Bytes,
}

/// One benchmark: a workload at one size, run on several runtimes.
pub struct Benchmark {
    /// A short key (used by `--only`).
    pub key: &'static str,
    /// The row title, with the sizes.
    pub title: String,
    /// What the figures count.
    pub unit: Unit,
    /// The runtime every ratio is relative to.
    pub baseline: &'static str,
    /// The label of the secondary figure, if the workload reports one.
    pub extra: Option<&'static str>,
    /// A throughput to print beside the time, if the row has one.
    pub rate: Option<Rate>,
    /// The runtimes, in report order.
    pub runners: Vec<Runner>,
}

/// A throughput figure: `per_run` units done by every run, printed per
/// second of the median run (`50000 req/s`).
#[derive(Clone, Copy)]
pub struct Rate {
    /// How many units one run does.
    pub per_run: u64,
    /// The unit per second, as printed (`req/s`).
    pub label: &'static str,
}

/// One runtime's side of a benchmark.
pub struct Runner {
    /// The runtime's name.
    pub name: String,
    kind: RunnerKind,
}

enum RunnerKind {
    Ready {
        run: Box<dyn FnMut() -> Outcome>,
        /// Runs beyond this many are skipped (for the slow Python side).
        max_runs: usize,
    },
    Unavailable(String),
    Skipped(String),
}

impl Runner {
    fn ready(name: &str, run: impl FnMut() -> Outcome + 'static) -> Runner {
        Runner {
            name: name.to_string(),
            kind: RunnerKind::Ready {
                run: Box::new(run),
                max_runs: usize::MAX,
            },
        }
    }

    /// A runtime left out of this run on purpose, and why.
    pub fn skipped(name: &str, why: impl Into<String>) -> Runner {
        Runner {
            name: name.to_string(),
            kind: RunnerKind::Skipped(why.into()),
        }
    }

    /// A runtime that cannot run this benchmark, and why.
    pub fn unavailable(name: &str, why: impl Into<String>) -> Runner {
        Runner {
            name: name.to_string(),
            kind: RunnerKind::Unavailable(why.into()),
        }
    }
}

/// Runs `workload` on a fresh `R` per run; a panic becomes a failed run.
pub fn on<R, F>(workload: impl Fn() -> F + 'static) -> Runner
where
    R: Runtime,
    F: Future<Output = Outcome>,
{
    Runner::ready(R::NAME, move || {
        let runtime = R::new().map_err(|e| format!("cannot build the runtime: {e}"))?;
        let outcome = catch_unwind(AssertUnwindSafe(|| runtime.block_on(workload())));
        drop(runtime);
        outcome.unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a non-string panic".to_string());
            Err(format!("panicked: {message}"))
        })
    })
}

/// The Python runners for a workload the script knows.
fn python_runners(python: &Python, workload: &'static str, n: u64, check: u64) -> Vec<Runner> {
    let mut runners = Vec::new();
    for (name, interpreter) in [("asyncio", &python.asyncio), ("uvloop", &python.uvloop)] {
        match interpreter {
            Ok(interpreter) => {
                let interpreter = interpreter.clone();
                let mut runner = Runner::ready(name, move || {
                    python::run(&interpreter, workload, n, name, check)
                });
                if let RunnerKind::Ready { max_runs, .. } = &mut runner.kind {
                    // Python is one to two orders of magnitude slower; three
                    // runs give its median without tripling the suite's time.
                    *max_runs = 3;
                }
                runners.push(runner);
            }
            Err(why) => runners.push(Runner::skipped(name, why.clone())),
        }
    }
    runners
}

/// A benchmark in seconds relative to tokio, the common case; the others
/// override a field.
fn benchmark(key: &'static str, title: String, runners: Vec<Runner>) -> Benchmark {
    Benchmark {
        key,
        title,
        unit: Unit::Seconds,
        baseline: "tokio",
        extra: None,
        rate: None,
        runners,
    }
}

/// Runs `workloads::name(args)` on corio, tokio and smol, in that order.
macro_rules! on_each_runtime {
    ($($workload:ident)::+ ($($arg:expr),*)) => {
        vec![
            on::<Corio, _>(move || $($workload)::+::<Corio>($($arg),*)),
            on::<Tokio, _>(move || $($workload)::+::<Tokio>($($arg),*)),
            on::<Smol, _>(move || $($workload)::+::<Smol>($($arg),*)),
        ]
    };
}

/// Runs `workloads::name(args)` on corio's and tokio's multi-thread
/// runtimes (one worker per core each).
macro_rules! on_both_multi_thread {
    ($($workload:ident)::+ ($($arg:expr),*)) => {
        vec![
            on::<CorioMt, _>(move || $($workload)::+::<CorioMt>($($arg),*)),
            on::<TokioMt, _>(move || $($workload)::+::<TokioMt>($($arg),*)),
        ]
    };
}

/// A multi-thread benchmark: in seconds relative to tokio's multi-thread
/// runtime.
fn multi_thread(key: &'static str, title: String, runners: Vec<Runner>) -> Benchmark {
    Benchmark {
        baseline: "tokio-mt",
        ..benchmark(key, title, runners)
    }
}

/// Every benchmark of the suite at the configured size.
pub fn benchmarks(config: &Config, python: &Python) -> Vec<Benchmark> {
    let mut all = Vec::new();

    let n = config.size(1_000_000);
    let mut runners = on_each_runtime!(workloads::spawn_join(n));
    runners.extend(python_runners(python, "spawn_join", n, n * (n - 1) / 2));
    all.push(benchmark(
        "spawn_join",
        format!("spawn+join {} tasks", count(n)),
        runners,
    ));

    let tasks = config.size(1_000);
    let yields = 1_000;
    all.push(benchmark(
        "yield",
        format!("{} tasks x {} yield_now", count(tasks), count(yields)),
        on_each_runtime!(workloads::yield_many(tasks, yields)),
    ));

    let pairs = config.size(1_000);
    let trips = 100;
    all.push(benchmark(
        "ping_pong",
        format!("ping-pong {} pairs x {} round trips", count(pairs), trips),
        on_each_runtime!(workloads::ping_pong(pairs, trips)),
    ));

    all.push(benchmark(
        "ping_pong_own",
        format!(
            "ping-pong {} pairs x {} round trips, own channels",
            count(pairs),
            trips
        ),
        on_each_runtime!(workloads::ping_pong_own(pairs, trips)),
    ));

    let lockers = config.size(1_000);
    let rounds = 100;
    all.push(benchmark(
        "mutex",
        format!(
            "mutex {} tasks x {} lock/yield/unlock",
            count(lockers),
            rounds
        ),
        on_each_runtime!(workloads::mutex(lockers, rounds)),
    ));

    let length = config.size(1_000_000);
    all.push(benchmark(
        "chain",
        format!("chain of {} spawn_local", count(length)),
        on_each_runtime!(workloads::chain(length)),
    ));

    let timeouts = config.size(1_000_000);
    all.push(benchmark(
        "timeout",
        format!("{} timeout insert+cancel", count(timeouts)),
        on_each_runtime!(workloads::timeout_cancel(timeouts)),
    ));

    let sleepers = config.size(100_000);
    all.push(Benchmark {
        extra: Some("max late"),
        ..benchmark(
            "sleeps",
            format!("{} sleeps of 1..50 ms", count(sleepers)),
            on_each_runtime!(workloads::sleeps(sleepers)),
        )
    });

    let connections = 50;
    let round_trips = config.size(2_000);
    let mut runners = on_each_runtime!(workloads::tcp_echo(connections, round_trips));
    if let Some(why) = crate::corio_rt::missing_net() {
        runners[0] = Runner::unavailable("corio", why);
    }
    // corio on its second driver, side by side with corio on mio.
    runners.insert(
        1,
        match crate::corio_rt::missing_uring() {
            None => on::<CorioUring, _>(move || {
                workloads::tcp_echo::<CorioUring>(connections, round_trips)
            }),
            Some(why) => Runner::unavailable("corio-uring", why),
        },
    );
    all.push(benchmark(
        "tcp_echo",
        format!(
            "TCP echo {connections} conns x {} x 64 B",
            count(round_trips)
        ),
        runners,
    ));

    let spawns = config.size(1_000_000);
    all.push(multi_thread(
        "mt_spawn",
        format!("spawn+join {} (multi-thread)", count(spawns)),
        on_both_multi_thread!(workloads::spawn_join(spawns)),
    ));

    let mt_tasks = config.size(1_000);
    all.push(multi_thread(
        "mt_yield",
        format!(
            "{} tasks x {} yield_now (multi-thread)",
            count(mt_tasks),
            count(yields)
        ),
        on_both_multi_thread!(workloads::yield_many(mt_tasks, yields)),
    ));

    let mt_pairs = config.size(1_000);
    all.push(multi_thread(
        "mt_ping_pong",
        format!(
            "ping-pong {} pairs x {} round trips (multi-thread)",
            count(mt_pairs),
            trips
        ),
        on_both_multi_thread!(workloads::ping_pong(mt_pairs, trips)),
    ));

    all.push(multi_thread(
        "mt_chain",
        format!("chain of {} spawn (multi-thread)", count(length)),
        on_both_multi_thread!(workloads::chain_spawn(length)),
    ));

    let mut runners = on_both_multi_thread!(workloads::tcp_echo(connections, round_trips));
    if let Some(why) = crate::corio_rt::missing_net() {
        runners[0] = Runner::unavailable("corio-mt", why);
    }
    all.push(multi_thread(
        "mt_tcp_echo",
        format!(
            "TCP echo {connections} conns x {} x 64 B (multi-thread)",
            count(round_trips)
        ),
        runners,
    ));

    let http_requests = config.size(400);
    let rate = Some(Rate {
        per_run: connections * http_requests,
        label: "req/s",
    });
    all.push(Benchmark {
        rate,
        ..benchmark(
            "http",
            format!(
                "hyper HTTP/1.1 {connections} conns x {} GET",
                count(http_requests)
            ),
            vec![
                on::<Corio, _>(move || http::http::<Corio>(connections, http_requests)),
                on::<Tokio, _>(move || http::http::<Tokio>(connections, http_requests)),
            ],
        )
    });
    all.push(Benchmark {
        rate,
        ..multi_thread(
            "mt_http",
            format!(
                "hyper HTTP/1.1 {connections} conns x {} GET (multi-thread)",
                count(http_requests)
            ),
            on_both_multi_thread!(http::http(connections, http_requests)),
        )
    });

    let pending = config.size(100_000);
    let probe =
        |name: &'static str| Runner::ready(name, move || memory::run_in_child(name, pending));
    all.push(Benchmark {
        unit: Unit::Bytes,
        ..benchmark(
            "memory",
            format!("bytes per pending task ({})", count(pending)),
            vec![
                probe("corio"),
                probe("tokio"),
                probe("smol"),
                probe(crate::report::FLOOR),
            ],
        )
    });

    let gathered = config.size(100_000);
    let mut runners = on_each_runtime!(workloads::gather_sleeps(gathered));
    runners.extend(python_runners(
        python,
        "gather_sleeps",
        gathered,
        gathered * (gathered - 1) / 2,
    ));
    all.push(benchmark(
        "gather",
        format!("gather {} sleeps of 1 ms", count(gathered)),
        runners,
    ));

    all.retain(|benchmark| {
        config
            .only
            .as_ref()
            .map_or(true, |only| benchmark.key.contains(only.as_str()))
    });
    if let Some(runtime) = &config.runtime {
        for benchmark in &mut all {
            benchmark.runners.retain(|runner| &runner.name == runtime);
        }
        all.retain(|benchmark| !benchmark.runners.is_empty());
    }
    all
}

/// Runs the memory workload in this (child) process for the named runtime
/// and returns the figure, for `--probe-memory`.
pub fn probe_memory(runtime: &str, count: u64) -> Outcome {
    fn run<R: Runtime>(count: u64) -> Outcome {
        R::new()
            .map_err(|e| format!("cannot build the runtime: {e}"))?
            .block_on(workloads::pending_task_bytes::<R>(count))
    }
    match runtime {
        "tokio" => run::<Tokio>(count),
        "smol" => run::<Smol>(count),
        "corio" => run::<Corio>(count),
        crate::report::FLOOR => workloads::pending_future_bytes(count),
        other => Err(format!("no memory probe for runtime {other:?}")),
    }
}

/// `1000000` as `1M`, `100000` as `100k`.
fn count(n: u64) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n % 1_000 == 0 {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

/// What one runtime's side of a benchmark gave.
pub enum Status {
    /// The measured samples (at least one).
    Measured(Vec<Sample>),
    /// A run failed validation or panicked.
    Failed(String),
    /// The runtime cannot run this benchmark (yet).
    Unavailable(String),
    /// The runtime was left out of this run (Python or uvloop missing).
    Skipped(String),
}

/// One row of the report.
pub struct Row {
    /// The runtime's name.
    pub runtime: String,
    /// What it gave.
    pub status: Status,
}

/// A benchmark with its results.
pub struct Finished {
    /// The row title.
    pub title: String,
    /// What the figures count.
    pub unit: Unit,
    /// The runtime ratios are relative to.
    pub baseline: &'static str,
    /// The label of the secondary figure.
    pub extra: Option<&'static str>,
    /// The throughput printed beside the time.
    pub rate: Option<Rate>,
    /// One row per runtime.
    pub rows: Vec<Row>,
}

/// Runs `benchmark` with its runtimes interleaved run by run (A B C A B C
/// ...), so that slow phases of the machine hit every runtime alike.
pub fn run(benchmark: Benchmark, config: &Config) -> Finished {
    eprint!("bench: {} ", benchmark.title);
    let mut runners = benchmark.runners;
    let mut statuses: Vec<Status> = runners
        .iter()
        .map(|runner| match &runner.kind {
            RunnerKind::Ready { .. } => Status::Measured(Vec::new()),
            RunnerKind::Unavailable(why) => Status::Unavailable(why.clone()),
            RunnerKind::Skipped(why) => Status::Skipped(why.clone()),
        })
        .collect();
    for round in 0..config.warmups + config.runs {
        let measured = round >= config.warmups;
        for (runner, status) in runners.iter_mut().zip(statuses.iter_mut()) {
            let RunnerKind::Ready { run, max_runs } = &mut runner.kind else {
                continue;
            };
            let Status::Measured(samples) = status else {
                continue;
            };
            if samples.len() >= *max_runs {
                continue;
            }
            if !measured && *max_runs != usize::MAX {
                // The capped (Python) runners have no JIT or allocator to
                // warm up worth their time.
                continue;
            }
            match run() {
                Ok(sample) if measured => samples.push(sample),
                Ok(_) => {}
                Err(why) => *status = Status::Failed(why),
            }
            eprint!(".");
        }
    }
    eprintln!();
    let rows = runners
        .into_iter()
        .zip(statuses)
        .map(|(runner, status)| Row {
            runtime: runner.name,
            status,
        })
        .collect();
    Finished {
        title: benchmark.title,
        unit: benchmark.unit,
        baseline: benchmark.baseline,
        extra: benchmark.extra,
        rate: benchmark.rate,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(only: Option<&str>, runtime: Option<&str>) -> Config {
        Config {
            quick: true,
            runs: 1,
            warmups: 0,
            only: only.map(str::to_string),
            runtime: runtime.map(str::to_string),
        }
    }

    fn no_python() -> Python {
        Python {
            asyncio: Err("not in this test".to_string()),
            uvloop: Err("not in this test".to_string()),
        }
    }

    #[test]
    fn runtime_keeps_one_runtimes_rows_and_drops_benchmarks_without_it() {
        let all = benchmarks(&config(None, Some("corio")), &no_python());
        assert!(all.iter().any(|benchmark| benchmark.key == "ping_pong"));
        for benchmark in &all {
            let names: Vec<_> = benchmark.runners.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(names, ["corio"], "{}", benchmark.key);
        }
        let none = benchmarks(&config(None, Some("no-such-runtime")), &no_python());
        assert!(none.is_empty());
    }

    #[test]
    fn only_and_runtime_combine() {
        let all = benchmarks(&config(Some("mutex"), Some("tokio")), &no_python());
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].key, "mutex");
        assert_eq!(all[0].runners.len(), 1);
        assert_eq!(all[0].runners[0].name, "tokio");
    }

    #[test]
    fn only_ping_pong_runs_every_ping_pong_row_side_by_side() {
        let all = benchmarks(&config(Some("ping_pong"), None), &no_python());
        let keys: Vec<_> = all.iter().map(|benchmark| benchmark.key).collect();
        assert_eq!(keys, ["ping_pong", "ping_pong_own", "mt_ping_pong"]);
    }
}
