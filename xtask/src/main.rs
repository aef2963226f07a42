//! Project automation for corio, run as `cargo xtask <command>`.
//!
//! - `ci`: everything CI checks, in order, stopping at the first failure
//!   (including the executor built without its `io` feature).
//! - `miri`: corio-core's tests, the event loop's, the multi-thread
//!   runtime's local queue's and corio-sync's under Miri (installs the
//!   nightly components).
//! - `loom`: the loom models of the task state word, of the event loop's
//!   cross-thread hand-off, of the multi-thread runtime's local queue and
//!   parking, and of corio-sync (`RUSTFLAGS="--cfg loom"`).
//! - `bench [--quick]`: corio side by side with tokio and smol.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// The number of cases each property test runs in `cargo xtask ci`.
const CI_PROPTEST_CASES: &str = "2048";

/// Examples that need a peer process, run by `run_examples` as pairs: the
/// server prints its address on its first line of output, the client gets it as
/// its only argument.
const EXAMPLE_PAIRS: &[(&str, &str)] = &[("echo_server", "echo_client")];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("miri") => miri(),
        Some("loom") => loom(),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 ci              everything CI checks, stopping at the first failure\n  \
                 miri            corio-core, the event loop, the mt queue and corio-sync under Miri\n  \
                 loom            the loom models (task state, loop hand-off, mt queue and parking, corio-sync)\n  \
                 bench [--quick] corio side by side with tokio and smol"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nxtask: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

type Result = std::result::Result<(), String>;

fn ci() -> Result {
    let started = Instant::now();
    step("formatting", cargo(&["fmt", "--all", "--check"]))?;
    step(
        "clippy",
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step("tests", cargo(&["test", "--workspace"]))?;
    uring_tests()?;
    executor_without_io()?;
    let mut doc = cargo(&["doc", "--no-deps", "--workspace"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    step("docs", doc)?;
    let mut props = cargo(&["test", "--release", "--workspace", "--", "prop_"]);
    props.env("PROPTEST_CASES", CI_PROPTEST_CASES);
    step("property tests at a raised case count", props)?;
    run_examples()?;
    miri()?;
    loom()?;
    if bench_package_exists() {
        bench(&["--quick".to_string()])?;
    }
    println!(
        "\nxtask: ci passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs the io_uring tests again and says whether they ran: where the kernel
/// refuses io_uring they print `skipped:` instead of passing silently.
fn uring_tests() -> Result {
    let mut probe = cargo(&["test", "-q", "-p", "corio-tests", "--test", "driver_env"]);
    probe.args(["--", "--nocapture", "corio_driver_uring"]);
    println!("\n==> io_uring probe: {}", describe(&probe));
    let output = probe.output().map_err(|e| format!("io_uring probe: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if let Some(line) = stdout.lines().find(|line| line.contains("skipped:")) {
        println!("<== io_uring refused on this machine, its tests skip: {line}");
        return Ok(());
    }
    let mut tests = cargo(&["test", "-p", "corio-tests"]);
    for test in [
        "both_drivers",
        "uring_drops",
        "uring_descriptor_leaks",
        "driver_env",
    ] {
        tests.args(["--test", test]);
    }
    tests.env("CORIO_REQUIRE_URING", "1");
    step("io_uring tests (io_uring granted: required to run)", tests)
}

fn miri() -> Result {
    ensure_nightly_components(&["miri", "rust-src"])?;
    step("miri setup", nightly_cargo(&["miri", "setup"]))?;
    let mut test = nightly_cargo(&["miri", "test", "-p", "corio-core"]);
    // Miri is slow: the property tests run few cases there; the full count runs
    // natively in `cargo xtask ci`.
    // Miri's isolation hides the host environment; forward the case count.
    test.env("PROPTEST_CASES", "4").env(
        "MIRIFLAGS",
        "-Zmiri-strict-provenance -Zmiri-env-forward=PROPTEST_CASES",
    );
    step("corio-core under Miri", test)?;
    // The executor's unsafe code (the `!Send` spawn contract and the
    // current-loop pointer) runs in the event loop's behaviour tests, on both
    // drivers. Two tests are skipped: one because Miri's clock advances with
    // the code it interprets, so registering its timers takes longer than the
    // 5 ms that separate their deadlines; the other because it checks the
    // documented leak of tasks that destructors keep spawning at shutdown,
    // which Miri's leak check would report.
    let mut test = nightly_cargo(&[
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
    ]);
    test.env("MIRIFLAGS", "-Zmiri-strict-provenance");
    step("corio-executor's event loop under Miri", test)?;
    // The multi-thread runtime's local run queue: its unit tests (push, pop,
    // overflow, steal, wrap-around, and threads stealing while the owner
    // pushes) run all of its unsafe code.
    let mut test = nightly_cargo(&[
        "miri",
        "test",
        "-p",
        "corio-executor",
        "--lib",
        "--",
        "multi_thread::queue::tests",
    ]);
    test.env("MIRIFLAGS", "-Zmiri-strict-provenance");
    step("the multi-thread runtime's local queue under Miri", test)?;
    // corio-sync's unsafe code (the Mutex's access to its data, and the
    // combinators' pinned slice, which their hand-polled unit tests in `--lib`
    // reach) and its waiter lists, through the hand-polled tests and a few
    // property-test cases; the tests that start tokio and smol runtimes stay
    // native.
    let mut test = nightly_cargo(&[
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
    ]);
    test.env("PROPTEST_CASES", "4").env(
        "MIRIFLAGS",
        "-Zmiri-strict-provenance -Zmiri-env-forward=PROPTEST_CASES",
    );
    step("corio-sync under Miri", test)
}

/// The executor without its `io` feature: neither mio nor corio-reactor in
/// its dependency tree, and its tests pass on the park driver.
fn executor_without_io() -> Result {
    let what = "corio-executor's dependencies without the io feature";
    let mut tree = cargo(&[
        "tree",
        "-p",
        "corio-executor",
        "-e",
        "normal",
        "--no-default-features",
        "--prefix",
        "none",
    ]);
    println!("\n==> {what}: {}", describe(&tree));
    let output = tree
        .output()
        .map_err(|e| format!("{what}: cannot start `{}`: {e}", describe(&tree)))?;
    if !output.status.success() {
        return Err(format!(
            "{what}: `{}` exited with {}",
            describe(&tree),
            output.status
        ));
    }
    let listed = String::from_utf8_lossy(&output.stdout);
    let unwanted: Vec<&str> = listed
        .lines()
        .filter(|line| line.starts_with("mio ") || line.starts_with("corio-reactor "))
        .collect();
    if !unwanted.is_empty() {
        return Err(format!("{what}: found {}", unwanted.join(", ")));
    }
    println!("<== {what}: ok (no mio, no corio-reactor)");
    step(
        "corio-executor's tests without the io feature",
        cargo(&["test", "-p", "corio-executor", "--no-default-features"]),
    )
}

fn loom() -> Result {
    // The task state word (corio-core), the event loop's cross-thread
    // hand-off, and the multi-thread runtime's local queue (push, pop and
    // steal racing) and park/unpark protocol (corio-executor).
    let mut test = cargo(&[
        "test",
        "--release",
        "-p",
        "corio-core",
        "-p",
        "corio-executor",
        "-p",
        "corio-sync",
        "--lib",
        "--",
        "loom_",
    ]);
    test.env("RUSTFLAGS", "--cfg loom")
        .env("CARGO_TARGET_DIR", workspace_root().join("target/loom"))
        .env("LOOM_MAX_PREEMPTIONS", "3");
    step("loom models", test)
}

fn bench(args: &[String]) -> Result {
    if !bench_package_exists() {
        return Err("the benchmark package (benches/) is missing".to_string());
    }
    let mut command = cargo(&["run", "--release", "-p", "corio-bench", "--"]);
    command.args(args);
    step("benchmarks", command)
}

fn bench_package_exists() -> bool {
    workspace_root().join("benches/Cargo.toml").exists()
}

fn run_examples() -> Result {
    let dir = workspace_root().join("crates/corio/examples");
    if !dir.exists() {
        println!(
            "\n==> examples: none yet ({} does not exist)",
            dir.display()
        );
        return Ok(());
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let path = entry.path();
            let is_rust = path.extension().is_some_and(|ext| ext == "rs");
            let stem = path.file_stem()?.to_str()?.to_string();
            is_rust.then_some(stem)
        })
        .collect();
    names.sort();
    step(
        "build examples",
        cargo(&["build", "--release", "-p", "corio", "--examples"]),
    )?;
    for name in &names {
        if EXAMPLE_PAIRS.iter().any(|(_, client)| client == name) {
            continue;
        }
        if let Some((server, client)) = EXAMPLE_PAIRS.iter().find(|(server, _)| server == name) {
            run_example_pair(server, client)?;
            continue;
        }
        step(
            &format!("example {name}"),
            Command::new(example_binary(name)),
        )?;
    }
    Ok(())
}

fn run_example_pair(server: &str, client: &str) -> Result {
    use std::io::BufRead;
    println!("\n==> example pair {server} + {client}");
    let mut server_process = Command::new(example_binary(server))
        .arg("127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start example {server}: {e}"))?;
    let stdout = server_process.stdout.take().expect("stdout is piped");
    let mut first_line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut first_line)
        .map_err(|e| format!("cannot read the address printed by {server}: {e}"))?;
    let address = first_line
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string();
    let status = Command::new(example_binary(client)).arg(&address).status();
    let _ = server_process.kill();
    let _ = server_process.wait();
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!(
            "example {client} against {server} at {address} exited with {status}"
        )),
        Err(e) => Err(format!("cannot start example {client}: {e}")),
    }
}

fn example_binary(name: &str) -> PathBuf {
    target_dir().join("release/examples").join(name)
}

fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
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

fn cargo(args: &[&str]) -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.args(args).current_dir(workspace_root());
    command
}

fn nightly_cargo(args: &[&str]) -> Command {
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
        .env("CARGO_TARGET_DIR", workspace_root().join("target/miri"));
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
