//! Project automation for corio, run as `cargo xtask <command>`.
//!
//! - `ci` (`ci.rs`): everything CI checks, in order, stopping at the first
//!   failure (including the executor built without its `io` feature).
//! - `miri`, `loom [--full]`, `asan` (`proofs.rs`): the proof tools. Miri
//!   runs corio-core, corio-timer, the event loop, the multi-thread runtime's
//!   local queue and corio-sync (installs the nightly components); loom runs
//!   the models of every cross-thread protocol (`RUSTFLAGS="--cfg loom"`),
//!   the small ones by default and the exhaustive ones with `--full`; asan
//!   runs the test suite under AddressSanitizer and LeakSanitizer (nightly).
//! - `stress [--quick]` (`stress.rs`): the corio-stress binary in release.
//! - `bench [--quick]` (`ci.rs`): corio side by side with tokio and smol.

mod ci;
mod proofs;
mod stress;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use proofs::LoomLevel;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci               everything CI checks, stopping at the first failure
  miri             corio-core, corio-timer, the event loop, the mt queue and corio-sync under Miri
  loom [--full]    the loom models of every cross-thread protocol (--full: the exhaustive ones too)
  asan             the test suite under AddressSanitizer and LeakSanitizer (nightly)
  stress [--quick] load, churn and slow-reader phases in release, one table (--quick: shorter)
  bench [--quick]  corio side by side with tokio and smol";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::ci(),
        Some("miri") => proofs::miri(),
        Some("loom") => match rest {
            [] => proofs::loom(LoomLevel::Small),
            [flag] if flag == "--full" => proofs::loom(LoomLevel::Full),
            _ => return usage(),
        },
        Some("asan") => proofs::asan(),
        Some("stress") => stress::stress(rest),
        Some("bench") => ci::bench(rest),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nxtask: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

type Result = std::result::Result<(), String>;

fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn cargo(args: &[&str]) -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.args(args).current_dir(workspace_root());
    command
}

fn step(what: &str, mut command: Command) -> Result {
    println!("\n==> {what}: {}", describe(&command));
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|e| format!("{what}: cannot start `{}`: {e}", describe(&command)))?;
    println!(
        "<== {what}: {} in {:.1} s",
        if status.success() { "ok" } else { "failed" },
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}: `{}` exited with {status}",
            describe(&command)
        ))
    }
}

fn describe(command: &Command) -> String {
    let envs: Vec<String> = command
        .get_envs()
        .filter_map(|(key, value)| Some(format!("{}={}", key.to_str()?, value?.to_str()?)))
        .collect();
    let program = Path::new(command.get_program())
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("?")
        .to_string();
    let args: Vec<String> = command
        .get_args()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let mut parts = envs;
    parts.push(program);
    parts.extend(args);
    parts.join(" ")
}

/// The workspace this xtask acts on: the parent of xtask's manifest folder.
///
/// `cargo run` (the `cargo xtask` alias) sets `CARGO_MANIFEST_DIR` for the
/// binary it runs, so the folder comes from the checkout that invoked it. The
/// path compiled into the binary is only the fallback for running it by hand:
/// a target folder copied from another checkout holds a binary whose
/// compiled-in path names that other checkout.
fn workspace_root() -> PathBuf {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
