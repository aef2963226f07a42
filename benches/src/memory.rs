//! Resident memory as the kernel reports it, and the memory benchmark's
//! child process (each measurement runs in a fresh process so that memory
//! freed by earlier benchmarks cannot hide the cost of the tasks).

use std::io;
use std::process::Command;

use crate::workloads::{Outcome, Sample};

/// The process's resident set size in bytes (`/proc/self/statm`, second
/// field, times the page size).
pub fn resident_bytes() -> io::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/self/statm"))?;
    Ok(pages * page_size())
}

/// The kernel page size, read from the first mapping in `/proc/self/smaps`
/// (4096 where that cannot be read).
fn page_size() -> u64 {
    std::fs::read_to_string("/proc/self/smaps")
        .ok()
        .and_then(|smaps| {
            smaps.lines().find_map(|line| {
                let kib = line.strip_prefix("KernelPageSize:")?.trim();
                kib.strip_suffix("kB")?.trim().parse::<u64>().ok()
            })
        })
        .map_or(4096, |kib| kib * 1024)
}

/// The command-line flag that makes the binary a memory probe.
pub const PROBE_FLAG: &str = "--probe-memory";

/// Runs the memory workload for `runtime` in a child process (this binary
/// with [`PROBE_FLAG`]) and parses the figure it prints.
pub fn run_in_child(runtime: &str, count: u64) -> Outcome {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let output = Command::new(exe)
        .args([PROBE_FLAG, runtime, &count.to_string()])
        .output()
        .map_err(|e| format!("cannot start the memory probe: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "memory probe for {runtime} failed ({}): {}{}",
            output.status,
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let value = stdout
        .trim()
        .strip_prefix("bytes_per_task=")
        .and_then(|value| value.parse::<f64>().ok())
        .ok_or_else(|| format!("memory probe printed {stdout:?}"))?;
    Ok(Sample { value, extra: None })
}
