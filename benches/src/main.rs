//! corio's benchmarks: the same workloads on corio, tokio, smol and Python's
//! asyncio, run interleaved in one process, validated, and reported as a
//! table (`target/bench/report.md`) and a chart (`target/bench/report.svg`).
//!
//! Run it with `cargo xtask bench [--quick]`. Flags: `--quick` divides every
//! size by ten and runs each runtime twice; `--only KEY` keeps the benchmarks
//! whose key contains KEY (spawn_join, yield, ping_pong, ping_pong_own,
//! mutex, chain, timeout, sleeps, tcp_echo, mt_spawn, mt_yield, mt_ping_pong,
//! mt_chain, mt_tcp_echo, http, mt_http, memory, gather); `--runtime NAME` keeps one
//! runtime's rows (corio, tokio, smol, ...), to profile it alone, for example
//! with `perf record`. docs/BENCHMARKS.md says what each benchmark measures.

mod corio_rt;
mod http;
mod memory;
mod own_sync;
mod python;
mod report;
mod runtime;
mod suite;
mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use suite::Config;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(memory::PROBE_FLAG) {
        return probe(&args[1..]);
    }
    let mut config = Config {
        quick: false,
        runs: 5,
        warmups: 1,
        only: None,
        runtime: None,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--quick" => {
                config.quick = true;
                config.runs = 2;
                config.warmups = 0;
            }
            "--only" => config.only = rest.next().cloned(),
            "--runtime" => config.runtime = rest.next().cloned(),
            other => {
                eprintln!("corio-bench: unknown argument {other:?}\nusage: corio-bench [--quick] [--only KEY] [--runtime NAME]");
                return ExitCode::from(2);
            }
        }
    }
    let started = Instant::now();
    let bench_dir = bench_dir();
    if let Err(e) = std::fs::create_dir_all(&bench_dir) {
        eprintln!("corio-bench: cannot create {}: {e}", bench_dir.display());
        return ExitCode::FAILURE;
    }
    let python = match config.runtime.as_deref() {
        Some(runtime) if runtime != "asyncio" && runtime != "uvloop" => python::Python {
            asyncio: Err(format!("only {runtime} was asked for")),
            uvloop: Err(format!("only {runtime} was asked for")),
        },
        _ => python::Python::discover(&bench_dir, config.quick),
    };
    for (name, found) in [("asyncio", &python.asyncio), ("uvloop", &python.uvloop)] {
        if let Err(why) = found {
            eprintln!("bench: {name} skipped: {why}");
        }
    }
    let results: Vec<_> = suite::benchmarks(&config, &python)
        .into_iter()
        .map(|benchmark| suite::run(benchmark, &config))
        .collect();
    let report = report::Report::new(&results);
    let table = report.table();
    let machine = machine();
    let mode = if config.quick {
        format!("--quick (sizes / 10), {} runs each", config.runs)
    } else {
        format!(
            "full size, {} warm-up + {} measured runs each, interleaved",
            config.warmups, config.runs
        )
    };
    let date = date_utc();
    println!("\n{table}");
    let markdown = format!(
        "# corio benchmarks\n\n{date}, {machine}; {mode}; total {:.0} s.\n\
         Ratios are medians relative to tokio (tokio-mt for multi-thread rows); lower is better.\n\n{table}",
        started.elapsed().as_secs_f64()
    );
    let svg = report.svg(&format!("{date}, {machine}; {mode}"));
    for (name, contents) in [("report.md", markdown), ("report.svg", svg)] {
        let path = bench_dir.join(name);
        match std::fs::write(&path, contents) {
            Ok(()) => println!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("corio-bench: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    if report.failed {
        eprintln!("corio-bench: a benchmark failed its validation (see FAILED above)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `--probe-memory RUNTIME COUNT`: the child side of the memory benchmark.
fn probe(args: &[String]) -> ExitCode {
    let (Some(runtime), Some(count)) = (args.first(), args.get(1).and_then(|n| n.parse().ok()))
    else {
        eprintln!("usage: corio-bench {} RUNTIME COUNT", memory::PROBE_FLAG);
        return ExitCode::from(2);
    };
    match suite::probe_memory(runtime, count) {
        Ok(sample) => {
            println!("bytes_per_task={}", sample.value);
            ExitCode::SUCCESS
        }
        Err(why) => {
            println!("{why}");
            ExitCode::FAILURE
        }
    }
}

/// `$CARGO_TARGET_DIR/bench`, or `target/bench` in the workspace.
fn bench_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("bench")
}

/// "2 cores, AMD EPYC ..." from the standard library and /proc/cpuinfo.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|line| {
                line.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, model)| model.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    format!("{cores} cores, {model}")
}

/// Today's date (UTC) as YYYY-MM-DD, from the civil-from-days algorithm.
fn date_utc() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
