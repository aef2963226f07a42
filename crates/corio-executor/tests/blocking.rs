//! `spawn_blocking` and `to_thread` as a user sees them: results, panics,
//! a loop that keeps running meanwhile, and a loop drop that does not wait.

mod util;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use corio_executor::{spawn_blocking, spawn_local, to_thread, EventLoop};
use corio_test_support::panic_message;
use util::on_each_driver;

/// How long the tests wait for something that should happen at once: long
/// enough for a loaded machine, so a failure means a hang, not slowness.
const GENEROUS: Duration = Duration::from_secs(10);

#[test]
fn the_closures_result_comes_back() {
    on_each_driver(|event_loop| {
        let (blocking, threaded) = event_loop.run_until_complete(async {
            let blocking = spawn_blocking(|| 6 * 7).await.unwrap();
            let threaded = to_thread(|| String::from("from a thread")).await.unwrap();
            (blocking, threaded)
        });
        assert_eq!(blocking, 42);
        assert_eq!(threaded, "from a thread");
    });
}

#[test]
fn it_runs_on_a_named_pool_thread() {
    let name = EventLoop::new()
        .unwrap()
        .run_until_complete(spawn_blocking(|| {
            thread::current().name().map(String::from)
        }))
        .unwrap()
        .unwrap();
    assert!(name.starts_with("corio-blocking-"), "ran on {name}");
}

#[test]
fn it_works_outside_a_runtime_and_the_task_is_awaited_anywhere() {
    let task = thread::spawn(|| spawn_blocking(|| "spawned outside any loop"))
        .join()
        .unwrap();
    let output = EventLoop::with_driver(corio_core::ParkDriver::new())
        .run_until_complete(task)
        .unwrap();
    assert_eq!(output, "spawned outside any loop");
}

#[test]
fn a_thousand_calls_all_complete_with_the_right_sum() {
    on_each_driver(|event_loop| {
        let sum = event_loop.run_until_complete(async {
            let tasks: Vec<_> = (0..1000u64).map(|n| spawn_blocking(move || n)).collect();
            let mut sum = 0;
            for task in tasks {
                sum += task.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 999 * 1000 / 2);
    });
}

#[test]
fn a_panicking_closure_gives_panicked_with_its_payload_and_the_pool_keeps_working() {
    on_each_driver(|event_loop| {
        let (error, after) = event_loop.run_until_complete(async {
            let error = spawn_blocking(|| -> u32 { panic!("blocking call failed: {}", 7) })
                .await
                .unwrap_err();
            let after = spawn_blocking(|| 1).await.unwrap();
            (error, after)
        });
        assert!(error.is_panic());
        assert_eq!(panic_message(error.into_panic()), "blocking call failed: 7");
        assert_eq!(after, 1);
    });
}

#[test]
fn blocking_closures_do_not_stall_the_loops_tasks() {
    on_each_driver(|event_loop| {
        let ticks = event_loop.run_until_complete(async {
            let stop = Arc::new(AtomicBool::new(false));
            let ticker = spawn_local({
                let stop = stop.clone();
                async move {
                    let mut ticks = 0u32;
                    while !stop.load(Ordering::SeqCst) {
                        corio_timer::sleep(Duration::from_millis(1)).await;
                        ticks += 1;
                    }
                    ticks
                }
            });
            let sleepers: Vec<_> = (0..4)
                .map(|_| spawn_blocking(|| thread::sleep(Duration::from_millis(200))))
                .collect();
            for sleeper in sleepers {
                sleeper.await.unwrap();
            }
            stop.store(true, Ordering::SeqCst);
            ticker.await.unwrap()
        });
        // Blocking the loop for the 200 ms would give one or two ticks; a
        // free loop gives close to 200, so 10 leaves room for a loaded
        // machine.
        assert!(ticks >= 10, "the ticker ticked only {ticks} times");
    });
}

#[test]
fn dropping_the_loop_does_not_wait_for_a_running_closure() {
    let (release, released) = mpsc::channel::<()>();
    let (started, has_started) = mpsc::channel();
    let (dropped, has_dropped) = mpsc::channel();
    let owner = thread::spawn(move || {
        let mut event_loop = EventLoop::new().unwrap();
        // The task is returned in an `Option`: the loop only spawns it.
        let task = event_loop.run_until_complete(async move {
            Some(spawn_blocking(move || {
                started.send(()).unwrap();
                released.recv().unwrap();
                "released"
            }))
        });
        has_started.recv_timeout(GENEROUS).unwrap();
        drop(event_loop);
        dropped.send(()).unwrap();
        task
    });
    has_dropped
        .recv_timeout(GENEROUS)
        .expect("dropping the loop waited for the blocking closure");
    release.send(()).unwrap();
    let task = owner.join().unwrap();
    let output = EventLoop::with_driver(corio_core::ParkDriver::new())
        .run_until_complete(task.unwrap())
        .unwrap();
    assert_eq!(output, "released");
}
