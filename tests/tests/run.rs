//! `corio::run`: the asyncio.run contract.

use std::time::Duration;

use corio_test_support::{panic_message, DropCounter};

#[test]
fn run_returns_the_output_of_its_future() {
    assert_eq!(corio::run(async { 6 * 7 }), 42);
}

#[test]
fn run_cancels_every_task_left_and_runs_their_destructors() {
    let drops = DropCounter::new();
    let counter = drops.clone();
    corio::run(async move {
        for _ in 0..10 {
            let guard = counter.token();
            corio::spawn(async move {
                let _guard = guard;
                corio::sleep(Duration::from_secs(3600)).await;
            })
            .detach();
        }
        corio::yield_now().await;
    });
    assert_eq!(drops.count(), 10);
}

#[test]
fn run_inside_a_running_loop_panics_with_a_clear_message() {
    let message = corio::run(async {
        let nested = std::panic::catch_unwind(|| corio::run(async {}));
        panic_message(nested.expect_err("nested run must panic"))
    });
    assert!(
        message.contains("a loop is already running on this thread"),
        "{message}"
    );
}

#[test]
fn spawn_outside_a_runtime_panics_with_a_clear_message() {
    let payload = std::panic::catch_unwind(|| corio::spawn(async {})).expect_err("must panic");
    let message = panic_message(payload);
    assert!(message.contains("inside a corio runtime"), "{message}");
}

#[test]
fn a_panic_in_the_main_future_propagates_and_cleans_up() {
    let drops = DropCounter::new();
    let counter = drops.clone();
    let result = std::panic::catch_unwind(move || {
        corio::run(async move {
            let guard = counter.token();
            corio::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            })
            .detach();
            corio::yield_now().await;
            panic!("main failed");
        })
    });
    assert!(result.is_err());
    assert_eq!(drops.count(), 1);
    // A fresh run on the same thread works afterwards.
    assert_eq!(corio::run(async { 1 }), 1);
}

#[test]
fn runtime_builder_current_thread_runs_tasks() {
    let runtime = corio::Runtime::builder().current_thread().build().unwrap();
    let task = runtime.spawn(async { corio::spawn(async { 5 }).await.unwrap() });
    assert_eq!(runtime.block_on(task).unwrap(), 5);
}
