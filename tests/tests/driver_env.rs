//! `CORIO_DRIVER` picks the IO driver of the loops built without one:
//! `corio::run`, `#[corio::test]` (and `#[corio::main]`, the same builder).
//! Each case runs this binary again with the variable set, since the
//! environment is the whole process's.

#![cfg(target_os = "linux")]

use std::process::Command;

const CHILD_ENV: &str = "CORIO_DRIVER_ENV_CHILD";

/// Runs the test `name` of this binary in a child with `env` set; returns
/// its stdout and stderr.
fn child(name: &str, env: &[(&str, &str)]) -> (String, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env_remove("CORIO_DRIVER")
        .env_remove("CORIO_DEBUG");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "the child failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    (stdout, stderr)
}

fn uring_available() -> bool {
    match corio::uring::UringDriver::new() {
        Ok(_) => true,
        Err(error) => {
            assert!(
                !matches!(std::env::var("CORIO_REQUIRE_URING").as_deref(), Ok("1")),
                "CORIO_REQUIRE_URING=1 but io_uring is refused: {error}"
            );
            println!("skipped: io_uring is not available here ({error})");
            false
        }
    }
}

#[test]
fn report_driver() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let on_run = corio::run(async { corio::uring::is_current() });
    let multi = corio::Runtime::builder()
        .multi_thread()
        .worker_threads(1)
        .build()
        .unwrap()
        .block_on(async { corio::uring::is_current() });
    println!("child: run on uring={on_run}, multi-thread on uring={multi}");
}

#[corio::test]
async fn report_driver_of_the_test_macro() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    println!("child: test macro on uring={}", corio::uring::is_current());
}

#[test]
fn corio_driver_uring_puts_run_and_the_macros_on_io_uring() {
    if std::env::var_os(CHILD_ENV).is_some() || !uring_available() {
        return;
    }
    let (stdout, _) = child("report_driver", &[("CORIO_DRIVER", "uring")]);
    assert!(
        stdout.contains("child: run on uring=true, multi-thread on uring=false"),
        "{stdout}"
    );
    let (stdout, _) = child(
        "report_driver_of_the_test_macro",
        &[("CORIO_DRIVER", "uring")],
    );
    assert!(
        stdout.contains("child: test macro on uring=true"),
        "{stdout}"
    );
}

#[test]
fn without_corio_driver_or_with_mio_loops_run_on_mio() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    for env in [&[][..], &[("CORIO_DRIVER", "mio")][..]] {
        let (stdout, _) = child("report_driver", env);
        assert!(
            stdout.contains("child: run on uring=false, multi-thread on uring=false"),
            "{stdout}"
        );
    }
}

#[test]
fn an_unknown_driver_falls_back_to_mio_and_debug_mode_says_so_once() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let (stdout, stderr) = child(
        "report_driver",
        &[("CORIO_DRIVER", "epoll"), ("CORIO_DEBUG", "1")],
    );
    assert!(stdout.contains("child: run on uring=false"), "{stdout}");
    assert_eq!(
        stderr
            .matches("CORIO_DRIVER=\"epoll\" is not a driver")
            .count(),
        1,
        "{stderr}"
    );
    let (_, quiet) = child("report_driver", &[("CORIO_DRIVER", "epoll")]);
    assert!(!quiet.contains("is not a driver"), "{quiet}");
}
