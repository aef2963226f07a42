//! Debug mode and task introspection on the multi-thread runtime: slow polls
//! of tasks on workers are reported on standard error (checked by running
//! this test binary again as a child process and reading its standard
//! error), `current_task` / `all_tasks` see the tasks of every worker, and
//! `call_soon`, which needs the event loop, panics there saying so.

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use corio_executor::task::Builder;
use corio_executor::{all_tasks, current_task, spawn, yield_now, Runtime};

/// Set in the child process: which flavour's slow poll to produce.
const CHILD_ENV: &str = "CORIO_TEST_SLOW_POLL_CHILD";

/// How long the slow task blocks its worker, well above the threshold.
const BLOCK: Duration = Duration::from_millis(60);

/// In the child process (and only there): runs one task whose poll blocks
/// for [`BLOCK`] on a runtime with a 10 ms slow-poll threshold (or, for
/// `multi_thread_off`, with debug mode off).
#[test]
fn slow_poll_child() {
    let Ok(flavour) = std::env::var(CHILD_ENV) else {
        return;
    };
    let builder = match flavour.as_str() {
        "multi_thread_off" => Runtime::builder().debug(false),
        _ => Runtime::builder().slow_poll_threshold(Duration::from_millis(10)),
    };
    let builder = match flavour.as_str() {
        "current_thread" => builder.current_thread(),
        _ => builder.multi_thread().worker_threads(2),
    };
    let runtime = builder.build().unwrap();
    runtime.block_on(async {
        Builder::new()
            .name("sleepy-task")
            .spawn(async { std::thread::sleep(BLOCK) })
            .await
            .unwrap();
    });
}

/// Runs [`slow_poll_child`] in a child process for `flavour`; returns its
/// standard error.
fn child_stderr(flavour: &str) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "slow_poll_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, flavour)
        .output()
        .unwrap();
    assert!(output.status.success(), "the child failed: {output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_slow_poll_on_a_worker_is_reported_with_the_tasks_name() {
    for flavour in ["current_thread", "multi_thread"] {
        let stderr = child_stderr(flavour);
        let report = stderr
            .lines()
            .find(|line| line.contains("corio: slow poll"))
            .unwrap_or_else(|| panic!("no slow-poll report on {flavour}: {stderr}"));
        assert!(report.contains("sleepy-task"), "{report}");
        assert!(report.contains("multi_thread_debug.rs"), "{report}");
    }
}

#[test]
fn without_debug_mode_no_slow_poll_is_reported() {
    let stderr = child_stderr("multi_thread_off");
    assert!(!stderr.contains("slow poll"), "{stderr}");
}

#[test]
fn current_task_names_the_task_running_on_each_worker() {
    const TASKS: usize = 16;
    let runtime = Runtime::builder()
        .multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    runtime.block_on(async {
        let main = current_task().unwrap();
        assert_eq!(
            main.name(),
            Some("main"),
            "block_on's future is the main task"
        );
        let tasks: Vec<_> = (0..TASKS)
            .map(|n| {
                Builder::new().name(format!("task-{n}")).spawn(async move {
                    let mut threads = HashSet::new();
                    for _ in 0..200 {
                        let name = current_task().and_then(|t| t.name().map(String::from));
                        assert_eq!(name, Some(format!("task-{n}")));
                        threads.insert(std::thread::current().id());
                        yield_now().await;
                    }
                    threads
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
}

#[test]
fn all_tasks_lists_the_tasks_of_every_worker_and_pinned_ones() {
    let runtime = Runtime::builder()
        .multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let (during, after) = runtime.block_on(async {
        let sleepers: Vec<_> = (0..8)
            .map(|n| {
                Builder::new()
                    .name(format!("sleeper-{n}"))
                    .spawn(std::future::pending::<()>())
            })
            .collect();
        // A task pinned to some worker, spawned from a task on it.
        let pinned = spawn(async {
            let pinned = Builder::new()
                .name("pinned")
                .spawn_local(std::future::pending::<()>());
            pinned.detach();
        });
        pinned.await.unwrap();
        let listed = spawn(async {
            all_tasks()
                .iter()
                .filter_map(|task| task.name().map(String::from))
                .collect::<HashSet<_>>()
        })
        .await
        .unwrap();
        for sleeper in &sleepers {
            sleeper.cancel();
        }
        for sleeper in sleepers {
            assert!(sleeper.await.unwrap_err().is_cancelled());
        }
        // A worker forgets a task just after the task's handle resolves, so
        // a finished task may stay listed for a moment.
        let names = || {
            all_tasks()
                .iter()
                .filter_map(|task| task.name().map(String::from))
                .collect::<HashSet<_>>()
        };
        let started = std::time::Instant::now();
        let mut after = names();
        while after.iter().any(|name| name.starts_with("sleeper"))
            && started.elapsed() < Duration::from_secs(10)
        {
            yield_now().await;
            after = names();
        }
        (listed, after)
    });
    for n in 0..8 {
        assert!(during.contains(&format!("sleeper-{n}")), "{during:?}");
    }
    assert!(during.contains("pinned"), "{during:?}");
    assert!(
        !after.iter().any(|name| name.starts_with("sleeper")),
        "{after:?}"
    );
    assert!(after.contains("pinned"), "{after:?}");
}

/// The message of a panic payload.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|message| message.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn call_soon_on_a_worker_panics_saying_it_needs_the_event_loop() {
    let runtime = Runtime::builder()
        .multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let on_worker = runtime.block_on(runtime.spawn(async {
        corio_executor::call_soon(|| {});
    }));
    let on_worker = message(&*on_worker.unwrap_err().into_panic());
    let on_block_on = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            corio_executor::call_soon(|| {});
        })
    }));
    let on_block_on = message(&*on_block_on.unwrap_err());
    for message in [on_worker, on_block_on] {
        assert!(
            message.contains("corio::call_soon needs the event loop")
                && message.contains("multi-thread runtime")
                && message.contains("spawn a task instead"),
            "{message}"
        );
    }
    // Outside any runtime the message says a runtime is needed.
    let outside = std::panic::catch_unwind(|| {
        corio_executor::call_soon(|| {});
    });
    let outside = message(&*outside.unwrap_err());
    assert!(
        outside.contains("must be called from inside a corio runtime"),
        "{outside}"
    );
}
