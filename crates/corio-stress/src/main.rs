//! `corio-stress [--quick] [PHASE...]`: corio under load, churn and faults,
//! on loopback, bounded in time. Each phase prints one row of one table:
//! its load, the faults it injects, the count it expects and the count it
//! saw, the peak and final resident memory, its time and its verdict. The
//! exit status is non-zero when any phase fails.
//!
//! Phases (all by default, in this order): `tcp`, `timers`, `tasks`,
//! `mt-churn`, `slow-reader`. `--quick` shortens the multi-thread churn
//! (5 s instead of 60 s) and the slow reader's stall; the counts stay.
//!
//! Memory rules: after each phase, once freed memory is handed back to the
//! OS (`malloc_trim`, see `memory::trim`), the resident size is within
//! 10% of the phase's start (the note also gives its anonymous part, heap
//! and stacks); and the live heap, counted exactly by the global allocator
//! (`memory::CountingAlloc`), is back to its start but for the phase's own
//! row and note (16 KiB at most): no leak. glibc's mmap threshold is fixed
//! (`memory::fix_mmap_threshold`) so that resident size follows the heap. A warm-up before the first phase does a little of each
//! phase's work once, so that one-time state (lazily built statics,
//! thread-locals, the allocator's per-thread arenas, which glibc keeps and
//! hands to the next threads) is in every phase's starting figure rather
//! than counted as growth.
//!
//! Run by `cargo xtask stress [--quick]`, which builds it in release.

mod memory;
mod phases;
mod rng;

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use phases::Outcome;

/// How long the phases run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// The full run: `cargo xtask stress`.
    Full,
    /// A short run: `cargo xtask stress --quick`.
    Quick,
}

/// The resident size may end a phase at most this fraction above its start.
const RSS_TOLERANCE: f64 = 0.10;

/// The live heap may end a phase at most this far above its start: the
/// phase's row and note, kept for the summary.
const LIVE_HEAP_TOLERANCE: i64 = 16 * 1024;

#[global_allocator]
static ALLOCATOR: memory::CountingAlloc = memory::CountingAlloc;

const PHASES: &[&str] = &["tcp", "timers", "tasks", "mt-churn", "slow-reader"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(phases::tcp::CLIENT_FLAG) {
        return phases::tcp::client_main(&args[1..]);
    }
    let length = if args.iter().any(|arg| arg == "--quick") {
        Length::Quick
    } else {
        Length::Full
    };
    let chosen: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    if let Some(unknown) = chosen.iter().find(|name| !PHASES.contains(name)) {
        eprintln!(
            "corio-stress: unknown phase {unknown}; phases: {}",
            PHASES.join(", ")
        );
        return ExitCode::from(2);
    }
    let started = Instant::now();
    memory::fix_mmap_threshold();
    if let Err(error) = phases::warm_up() {
        eprintln!("corio-stress: the warm-up failed: {error}");
        return ExitCode::FAILURE;
    }
    print_header();
    let mut notes = Vec::new();
    let mut failed = 0;
    for &name in PHASES {
        if !chosen.is_empty() && !chosen.contains(&name) {
            continue;
        }
        let (ok, note) = run_phase(name, length);
        notes.push(format!("{name}: {note}"));
        if !ok {
            failed += 1;
        }
    }
    println!();
    for note in &notes {
        println!("  {note}");
    }
    println!(
        "\ncorio-stress: {} in {:.0} s ({:?} run)",
        if failed == 0 {
            "all phases ok".to_string()
        } else {
            format!("{failed} phase(s) FAILED")
        },
        started.elapsed().as_secs_f64(),
        length
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_header() {
    println!(
        "| {:<11} | {:<40} | {:<34} | {:>9} | {:>9} | {:>10} | {:>10} | {:>7} | {:<4} |",
        "phase",
        "load",
        "faults injected",
        "expected",
        "seen",
        "peak RSS",
        "final RSS",
        "time",
        "ok"
    );
    println!(
        "|{:-<13}|{:-<42}|{:-<36}|{:->11}|{:->11}|{:->12}|{:->12}|{:->9}|{:-<6}|",
        "", "", "", "", "", "", "", "", ""
    );
}

/// Runs one phase and prints its row; returns its verdict and its note.
fn run_phase(name: &str, length: Length) -> (bool, String) {
    memory::trim();
    let start_rss = memory::rss_bytes();
    let start_anon = memory::anon_rss_bytes();
    let start_live = memory::live_heap_bytes();
    let sampler = memory::PeakSampler::start();
    let started = Instant::now();
    let outcome = match name {
        "tcp" => phases::tcp::run(),
        "timers" => phases::timers::run(length),
        "tasks" => phases::tasks::run(),
        "mt-churn" => phases::mt_churn::run(length),
        "slow-reader" => phases::slow_reader::run(length, &sampler, start_rss),
        _ => unreachable!("phase names are checked in main"),
    };
    let elapsed = started.elapsed();
    let peak = sampler.stop();
    memory::trim();
    let final_rss = memory::rss_bytes();
    let final_anon = memory::anon_rss_bytes();
    let outcome = outcome.unwrap_or_else(Outcome::failed);
    let live_growth = memory::live_heap_bytes() - start_live;
    let leak_free = live_growth <= LIVE_HEAP_TOLERANCE;
    let memory_ok = final_rss as f64 <= start_rss as f64 * (1.0 + RSS_TOLERANCE);
    let ok = outcome.ok && memory_ok && leak_free && outcome.expected == outcome.seen;
    print_row(name, &outcome, peak, final_rss, elapsed, ok);
    let mut note = outcome.note;
    note.push_str(&format!(
        "; RSS at start {}, after {} ({:+.1}%{}; anonymous part {} -> {})",
        memory::kib(start_rss),
        memory::kib(final_rss),
        (final_rss as f64 / start_rss as f64 - 1.0) * 100.0,
        if memory_ok {
            ""
        } else {
            ": over the 10% allowed"
        },
        memory::kib(start_anon),
        memory::kib(final_anon),
    ));
    note.push_str(&format!(
        "; live heap {live_growth:+} bytes{}",
        if leak_free { "" } else { ": LEAK" }
    ));
    (ok, note)
}

fn print_row(name: &str, outcome: &Outcome, peak: u64, final_rss: u64, time: Duration, ok: bool) {
    println!(
        "| {:<11} | {:<40} | {:<34} | {:>9} | {:>9} | {:>10} | {:>10} | {:>6.1}s | {:<4} |",
        name,
        outcome.load,
        outcome.faults,
        outcome.expected,
        outcome.seen,
        memory::mib(peak),
        memory::mib(final_rss),
        time.as_secs_f64(),
        if ok { "ok" } else { "FAIL" }
    );
    let _ = std::io::stdout().flush();
}
