//! `cargo xtask ci` and `cargo xtask bench`: the checks CI runs, in order.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::proofs::{loom, miri, LoomLevel};
use crate::{cargo, describe, step, target_dir, workspace_root, Result};

/// The number of cases each property test runs in `cargo xtask ci`.
const CI_PROPTEST_CASES: &str = "2048";

/// Examples that need a peer process, run by `run_examples` as pairs: the
/// server prints its address on its first line of output, the client gets it as
/// its only argument.
const EXAMPLE_PAIRS: &[(&str, &str)] = &[("echo_server", "echo_client")];

pub(crate) fn ci() -> Result {
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
    loom(LoomLevel::Small)?;
    if bench_package_exists() {
        bench(&["--quick".to_string()])?;
    }
    println!(
        "\nxtask: ci passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The executor without its `io` feature: neither mio nor corio-reactor in
/// its dependency tree, and its tests pass on the park driver.
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

pub(crate) fn bench(args: &[String]) -> Result {
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
