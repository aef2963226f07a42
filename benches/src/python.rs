//! Python's asyncio (and uvloop, where it installs) running the same
//! workloads through `benches/asyncio_bench.py`, one run per child process.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workloads::{Outcome, Sample};

/// The script, next to this package's manifest.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/asyncio_bench.py");

/// The Python interpreters found for this run.
pub struct Python {
    /// The interpreter for plain asyncio, or why there is none.
    pub asyncio: Result<PathBuf, String>,
    /// The interpreter that has uvloop, or why there is none.
    pub uvloop: Result<PathBuf, String>,
}

impl Python {
    /// Looks for `python3`, and unless `quick`, for uvloop in a venv under
    /// `bench_dir` (installing it there with pip on the first run).
    pub fn discover(bench_dir: &Path, quick: bool) -> Python {
        let system = PathBuf::from("python3");
        if !succeeds(Command::new(&system).arg("--version")) {
            let why = "python3 not found".to_string();
            return Python {
                asyncio: Err(why.clone()),
                uvloop: Err(why),
            };
        }
        let uvloop = if quick {
            Err("not tried with --quick".to_string())
        } else {
            uvloop_venv(bench_dir)
        };
        Python {
            asyncio: Ok(system),
            uvloop,
        }
    }
}

/// The venv's interpreter once `import uvloop` works in it.
fn uvloop_venv(bench_dir: &Path) -> Result<PathBuf, String> {
    let venv = bench_dir.join("venv");
    let interpreter = venv.join("bin/python");
    let has_uvloop =
        |interpreter: &Path| succeeds(Command::new(interpreter).args(["-c", "import uvloop"]));
    if has_uvloop(&interpreter) {
        return Ok(interpreter);
    }
    eprintln!("bench: installing uvloop into {} ...", venv.display());
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("python3 -m venv: {e}"))?;
    if !created.status.success() {
        return Err(format!(
            "python3 -m venv failed: {}",
            last_line(&created.stderr)
        ));
    }
    let installed = Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "uvloop",
        ])
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !installed.status.success() {
        return Err(format!(
            "pip install uvloop failed: {}",
            last_line(&installed.stderr)
        ));
    }
    if has_uvloop(&interpreter) {
        Ok(interpreter)
    } else {
        Err("uvloop installed but cannot be imported".to_string())
    }
}

fn succeeds(command: &mut Command) -> bool {
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("(no output)")
        .trim()
        .to_string()
}

/// Runs `workload` once with `n` on `event_loop` ("asyncio" or "uvloop") and
/// checks the sum it reports against `expected_check`.
pub fn run(
    interpreter: &Path,
    workload: &str,
    n: u64,
    event_loop: &str,
    expected_check: u64,
) -> Outcome {
    let output = Command::new(interpreter)
        .arg(SCRIPT)
        .args([
            "--workload",
            workload,
            "--n",
            &n.to_string(),
            "--loop",
            event_loop,
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", interpreter.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{SCRIPT} exited with {}: {}",
            output.status,
            last_line(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let seconds =
        json_number(&stdout, "seconds").ok_or_else(|| format!("no \"seconds\" in {stdout:?}"))?;
    let check =
        json_number(&stdout, "check").ok_or_else(|| format!("no \"check\" in {stdout:?}"))?;
    if check != expected_check as f64 {
        return Err(format!(
            "{event_loop} {workload}: check {check}, expected {expected_check}"
        ));
    }
    Ok(Sample {
        value: seconds,
        extra: None,
    })
}

/// The number after `"key":` in a flat JSON object.
fn json_number(json: &str, key: &str) -> Option<f64> {
    let after_key = json.split(&format!("\"{key}\":")).nth(1)?;
    let number: String = after_key
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+'))
        .collect();
    number.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::json_number;

    #[test]
    fn reads_numbers_from_the_script_output() {
        let line = "{\"seconds\": 0.25, \"check\": 4999950000}";
        assert_eq!(json_number(line, "seconds"), Some(0.25));
        assert_eq!(json_number(line, "check"), Some(4999950000.0));
        assert_eq!(json_number(line, "missing"), None);
        assert_eq!(json_number("{\"check\": -1}", "check"), Some(-1.0));
    }
}
