//! The proof tools: `cargo xtask miri`, `cargo xtask loom [--full]` and
//! `cargo xtask asan`.

use std::process::Command;

use crate::{cargo, step, workspace_root, Result};

/// The target folder of the Miri builds.
const MIRI_TARGET: &str = "target/miri";

pub(crate) fn miri() -> Result {
    ensure_nightly_components(&["miri", "rust-src"])?;
    step("miri setup", nightly_cargo(&["miri", "setup"], MIRI_TARGET))?;
    let mut test = nightly_cargo(&["miri", "test", "-p", "corio-core"], MIRI_TARGET);
    // Miri is slow: the property tests run few cases there; the full count runs
    // natively in `cargo xtask ci`.
    // Miri's isolation hides the host environment; forward the case count.
    test.env("PROPTEST_CASES", "4").env(
        "MIRIFLAGS",
        "-Zmiri-strict-provenance -Zmiri-env-forward=PROPTEST_CASES",
    );
    step("corio-core under Miri", test)?;
    // The timer wheel's slab and intrusive slot lists, the shared `Timers`
    // and the futures over them. The test that walks every level of the
    // wheel is ignored under Miri (`cfg_attr(miri, ignore)`): it is the
    // same code as the others, a hundred times over.
    let mut test = nightly_cargo(&["miri", "test", "-p", "corio-timer"], MIRI_TARGET);
    test.env("PROPTEST_CASES", "4").env(
        "MIRIFLAGS",
        "-Zmiri-strict-provenance -Zmiri-env-forward=PROPTEST_CASES",
    );
    step("corio-timer under Miri", test)?;
    // The executor's unsafe code (the `!Send` spawn contract and the
    // current-loop pointer) runs in the event loop's behaviour tests, on both
    // drivers. Two tests are skipped: one because Miri's clock advances with
    // the code it interprets, so registering its timers takes longer than the
    // 5 ms that separate their deadlines; the other because it checks the
    // documented leak of tasks that destructors keep spawning at shutdown,
    // which Miri's leak check would report.
    let mut test = nightly_cargo(
        &[
            "miri",
            "test",
            "-p",
            "corio-executor",
            "--test",
            "event_loop",
            "--",
            "--skip",
            "call_later_runs_in_deadline_order",
            "--skip",
            "shutdown_ends_even_when_destructors_keep_spawning",
        ],
        MIRI_TARGET,
    );
    test.env("MIRIFLAGS", "-Zmiri-strict-provenance");
    step("corio-executor's event loop under Miri", test)?;
    // The multi-thread runtime's local run queue: its unit tests (push, pop,
    // overflow, steal, wrap-around, and threads stealing while the owner
    // pushes) run all of its unsafe code. The parker's and the idle set's
    // unit tests (unpark before park, a timeout, a wake from another
    // thread; searching workers) run the atomics that workers share.
    let mut test = nightly_cargo(
        &[
            "miri",
            "test",
            "-p",
            "corio-executor",
            "--lib",
            "--",
            "multi_thread::queue::tests",
            "multi_thread::park::tests",
            "multi_thread::idle::tests",
        ],
        MIRI_TARGET,
    );
    test.env("MIRIFLAGS", "-Zmiri-strict-provenance");
    step(
        "the multi-thread runtime's local queue, parker and idle set under Miri",
        test,
    )?;
    // corio-sync's unsafe code (the Mutex's access to its data, and the
    // combinators' pinned slice, which their hand-polled unit tests in `--lib`
    // reach) and its waiter lists, through the hand-polled tests and a few
    // property-test cases; the tests that start tokio and smol runtimes stay
    // native.
    let mut test = nightly_cargo(
        &[
            "miri",
            "test",
            "-p",
            "corio-sync",
            "--lib",
            "--test",
            "cancel",
            "--test",
            "fairness",
            "--test",
            "props",
        ],
        MIRI_TARGET,
    );
    test.env("PROPTEST_CASES", "4").env(
        "MIRIFLAGS",
        "-Zmiri-strict-provenance -Zmiri-env-forward=PROPTEST_CASES",
    );
    step("corio-sync under Miri", test)
}

/// Which loom models `cargo xtask loom` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LoomLevel {
    /// The small models, bounded at three preemptions: the ones `ci` runs.
    Small,
    /// The small models and the exhaustive ones (marked `#[ignore]` in the
    /// sources), with no bound on preemptions.
    Full,
}

pub(crate) fn loom(level: LoomLevel) -> Result {
    // The task state word and the promise (corio-core), the shared timer
    // wheel (corio-timer), the event loop's cross-thread hand-off, the
    // multi-thread runtime's local queue (push, pop and steal racing) and
    // park/unpark protocol (corio-executor), and corio-sync's primitives.
    let mut test = cargo(&[
        "test",
        "--release",
        "-p",
        "corio-core",
        "-p",
        "corio-timer",
        "-p",
        "corio-executor",
        "-p",
        "corio-sync",
        "--lib",
        "--",
        "loom_",
    ]);
    test.env("RUSTFLAGS", "--cfg loom")
        .env("CARGO_TARGET_DIR", workspace_root().join("target/loom"));
    match level {
        LoomLevel::Small => {
            test.env("LOOM_MAX_PREEMPTIONS", "3");
            step("loom models", test)
        }
        LoomLevel::Full => {
            test.arg("--include-ignored");
            step("loom models, exhaustive", test)
        }
    }
}

/// The workspace's tests under AddressSanitizer (and LeakSanitizer, which
/// it enables on Linux), on nightly with the standard library rebuilt so
/// that it is instrumented too. Doctests are left out: rustdoc does not
/// take the sanitizer flags through `-Zbuild-std`.
pub(crate) fn asan() -> Result {
    ensure_nightly_components(&["rust-src"])?;
    let target = "x86_64-unknown-linux-gnu";
    let mut test = nightly_cargo(
        &[
            "test",
            "-Zbuild-std",
            "--target",
            target,
            "--workspace",
            "--exclude",
            "corio-bench",
            "--lib",
            "--bins",
            "--tests",
        ],
        "target/asan",
    );
    test.env("RUSTFLAGS", "-Zsanitizer=address --cfg corio_asan")
        .env("ASAN_OPTIONS", "detect_leaks=1")
        // Property tests run few cases: the sanitizer is about memory, not
        // about the inputs, and slows every allocation.
        .env("PROPTEST_CASES", "16");
    step(
        "the test suite under AddressSanitizer and LeakSanitizer",
        test,
    )
}

fn ensure_nightly_components(components: &[&str]) -> Result {
    let installed = Command::new("rustup")
        .args(["component", "list", "--installed", "--toolchain", "nightly"])
        .output()
        .map_err(|e| format!("cannot run rustup to look for the nightly toolchain: {e}"))?;
    let installed = String::from_utf8_lossy(&installed.stdout);
    let missing: Vec<&str> = components
        .iter()
        .copied()
        .filter(|component| !installed.lines().any(|line| line.starts_with(component)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.args(["component", "add", "--toolchain", "nightly"])
        .args(&missing);
    step(&format!("install nightly {}", missing.join(" ")), add).map_err(|e| {
        format!(
            "Miri needs the nightly toolchain with {}; installing them failed ({e}). \
             Install them with `rustup component add --toolchain nightly miri rust-src`.",
            missing.join(" and ")
        )
    })
}

/// A cargo command on the nightly toolchain, building into `target_subdir`
/// of the workspace (its own folder: other flags, other artifacts).
fn nightly_cargo(args: &[&str], target_subdir: &str) -> Command {
    let mut command = Command::new("cargo");
    command
        .arg("+nightly")
        .args(args)
        .current_dir(workspace_root())
        // The stable cargo that runs xtask exports its own tool paths; they
        // must not leak into the nightly build.
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env("CARGO_TARGET_DIR", workspace_root().join(target_subdir));
    command
}
