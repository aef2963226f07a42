//! The event loop's behaviour, on every driver.

mod util;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corio_executor::{spawn, spawn_local, yield_now, EventLoop};
use corio_test_support::{panic_message, DropCounter};
use util::{on_each_driver, Log};

#[test]
fn tasks_and_call_soon_callbacks_run_in_fifo_order() {
    on_each_driver(|event_loop| {
        let log = Log::default();
        for name in ["a", "b"] {
            let log = log.clone();
            event_loop
                .spawn_local(async move {
                    log.push(format!("{name}0"));
                    yield_now().await;
                    log.push(format!("{name}1"));
                })
                .detach();
        }
        let callback_log = log.clone();
        event_loop.call_soon(move || callback_log.push("cb"));
        event_loop.run_until_complete(async {
            for _ in 0..3 {
                yield_now().await;
            }
        });
        assert_eq!(log.take(), ["a0", "b0", "cb", "a1", "b1"]);
    });
}

#[test]
fn the_seed_counters_interleave_exactly() {
    on_each_driver(|event_loop| {
        let log = Log::default();
        let expected: Vec<String> = (0..5)
            .flat_map(|i| (0..4).map(move |n| format!("task{n}: {i}")))
            .collect();
        let counters_log = log.clone();
        event_loop.run_until_complete(async move {
            let mut tasks: Vec<_> = (0..4)
                .map(|n| {
                    let log = counters_log.clone();
                    spawn_local(async move {
                        for i in 0..5 {
                            log.push(format!("task{n}: {i}"));
                            yield_now().await;
                        }
                    })
                })
                .collect();
            loop {
                tasks.retain(|task| !task.is_done());
                let Some(first) = tasks.first_mut() else {
                    break;
                };
                first.await.unwrap();
            }
        });
        assert_eq!(log.take(), expected);
    });
}

#[test]
fn a_spawned_task_does_not_start_before_its_spawner_yields() {
    on_each_driver(|event_loop| {
        let log = Log::default();
        let outer = log.clone();
        event_loop.run_until_complete(async move {
            let inner = outer.clone();
            let task = spawn_local(async move { inner.push("child") });
            outer.push("spawned");
            task.await.unwrap();
            outer.push("joined");
        });
        assert_eq!(log.take(), ["spawned", "child", "joined"]);
    });
}

#[test]
fn cancelling_a_pending_task_drops_its_future_once() {
    on_each_driver(|event_loop| {
        let drops = DropCounter::new();
        let counter = drops.token();
        let task = event_loop.spawn_local(async move {
            let _counter = counter;
            std::future::pending::<()>().await;
        });
        event_loop.run_until_complete(yield_now());
        assert!(!task.is_done());
        assert!(task.cancel());
        let result = event_loop.run_until_complete(task);
        assert!(result.unwrap_err().is_cancelled());
        assert_eq!(drops.count(), 1);
    });
}

#[test]
fn a_task_cancelled_before_its_first_poll_never_runs_its_body() {
    on_each_driver(|event_loop| {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let task = event_loop.spawn_local(async move { flag.store(true, Ordering::SeqCst) });
        assert!(task.cancel());
        assert!(event_loop
            .run_until_complete(task)
            .unwrap_err()
            .is_cancelled());
        assert!(!ran.load(Ordering::SeqCst));
    });
}

#[test]
fn a_panicking_task_leaves_the_loop_running() {
    on_each_driver(|event_loop| {
        let (panicked, after) = event_loop.run_until_complete(async {
            let bad = spawn(async { panic!("boom") });
            let good = spawn(async { 7 });
            let error = bad.await.unwrap_err();
            (error.is_panic(), good.await.unwrap())
        });
        assert!(panicked);
        assert_eq!(after, 7);
        // The loop is still usable afterwards.
        assert_eq!(event_loop.run_until_complete(async { 1 }), 1);
    });
}

#[test]
fn a_detached_task_still_runs() {
    on_each_driver(|event_loop| {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        drop(event_loop.spawn_local(async move {
            yield_now().await;
            flag.store(true, Ordering::SeqCst);
        }));
        event_loop.run_until_complete(async {
            yield_now().await;
            yield_now().await;
        });
        assert!(ran.load(Ordering::SeqCst));
    });
}

#[test]
fn tasks_survive_from_one_run_until_complete_to_the_next() {
    on_each_driver(|event_loop| {
        let log = Log::default();
        let task_log = log.clone();
        let task = event_loop.spawn_local(async move {
            for i in 0..4 {
                task_log.push(format!("step{i}"));
                yield_now().await;
            }
        });
        event_loop.run_until_complete(yield_now());
        let first_run = log.take();
        assert!(!first_run.is_empty() && first_run.len() < 4);
        event_loop.run_until_complete(task).unwrap();
        assert_eq!(first_run.len() + log.take().len(), 4);
    });
}

#[test]
fn call_later_runs_in_deadline_order_and_cancelled_callbacks_never_run() {
    on_each_driver(|event_loop| {
        let log = Log::default();
        let stop = event_loop.handle();
        for (delay, name) in [
            (30, "thirty"),
            (10, "ten"),
            (20, "twenty"),
            (10, "ten-again"),
        ] {
            let log = log.clone();
            event_loop.call_later(Duration::from_millis(delay), move || log.push(name));
        }
        let cancelled_log = log.clone();
        let cancelled = event_loop.call_later(Duration::from_millis(15), move || {
            cancelled_log.push("cancelled")
        });
        assert!(cancelled.cancel());
        event_loop.call_later(Duration::from_millis(40), move || stop.stop());
        let start = event_loop.time();
        event_loop.run_forever();
        assert!(event_loop.time() - start >= Duration::from_millis(40));
        assert_eq!(log.take(), ["ten", "ten-again", "twenty", "thirty"]);
    });
}

#[test]
fn call_at_never_fires_early() {
    on_each_driver(|event_loop| {
        let fired_at = std::rc::Rc::new(std::cell::Cell::new(None));
        let when = event_loop.time() + Duration::from_millis(20);
        let slot = fired_at.clone();
        let stop = event_loop.handle();
        event_loop.call_at(when, move || {
            slot.set(Some(corio_timer::Instant::now()));
            stop.stop();
        });
        event_loop.run_forever();
        assert!(fired_at.get().expect("the callback ran") >= when);
    });
}

#[test]
fn call_soon_threadsafe_from_another_thread_wakes_a_parked_loop() {
    on_each_driver(|event_loop| {
        let handle = event_loop.handle();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let stopper = handle.clone();
            handle.call_soon_threadsafe(move || {
                flag.store(true, Ordering::SeqCst);
                stopper.stop();
            });
        });
        // Nothing is ready and no timer is set: the loop parks until the
        // other thread's callback arrives.
        event_loop.run_forever();
        thread.join().unwrap();
        assert!(ran.load(Ordering::SeqCst));
    });
}

#[test]
fn work_handed_over_while_the_loop_is_busy_is_never_lost() {
    on_each_driver(|event_loop| {
        const HANDED: usize = if cfg!(miri) { 100 } else { 2_000 };
        let handle = event_loop.handle();
        let callbacks = Arc::new(AtomicUsize::new(0));
        let wakes = Arc::new(AtomicUsize::new(0));
        let (counted, woken) = (callbacks.clone(), wakes.clone());
        let thread = std::thread::spawn(move || {
            for _ in 0..HANDED {
                let counted = counted.clone();
                handle.call_soon_threadsafe(move || {
                    counted.fetch_add(1, Ordering::SeqCst);
                });
                let woken = woken.clone();
                handle
                    .spawn(async move {
                        woken.fetch_add(1, Ordering::SeqCst);
                    })
                    .detach();
            }
        });
        // The main future never lets the loop go idle: everything the other
        // thread hands over is picked up while the loop is busy.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        event_loop.run_until_complete(async {
            while callbacks.load(Ordering::SeqCst) < HANDED || wakes.load(Ordering::SeqCst) < HANDED
            {
                assert!(
                    std::time::Instant::now() < deadline,
                    "lost: {} callbacks and {} spawns of {HANDED} each ran",
                    callbacks.load(Ordering::SeqCst),
                    wakes.load(Ordering::SeqCst)
                );
                yield_now().await;
            }
        });
        thread.join().unwrap();
    });
}

#[test]
fn spawn_from_another_thread_runs_on_the_loop() {
    on_each_driver(|event_loop| {
        let handle = event_loop.handle();
        let loop_thread = std::thread::current().id();
        let task =
            std::thread::spawn(move || handle.spawn(async move { std::thread::current().id() }))
                .join()
                .unwrap();
        assert_eq!(event_loop.run_until_complete(task).unwrap(), loop_thread);
    });
}

#[test]
fn stop_ends_run_forever_which_can_run_again() {
    on_each_driver(|event_loop| {
        for _ in 0..2 {
            let handle = event_loop.handle();
            event_loop.call_soon(move || handle.stop());
            event_loop.run_forever();
        }
    });
}

#[test]
fn a_nested_run_panics_with_a_clear_message() {
    on_each_driver(|event_loop| {
        let message = event_loop.run_until_complete(async {
            let nested = std::panic::catch_unwind(|| {
                let mut inner = EventLoop::with_driver(corio_core::ParkDriver::new());
                inner.run_until_complete(async {});
            });
            panic_message(nested.expect_err("a nested run must panic"))
        });
        assert!(
            message.contains("already running on this thread"),
            "{message}"
        );
        // The outer loop still works.
        assert_eq!(event_loop.run_until_complete(async { 2 }), 2);
    });
}

#[test]
fn dropping_the_loop_cancels_pending_tasks_and_runs_their_destructors() {
    for (_, make) in util::drivers() {
        let drops = DropCounter::new();
        let mut event_loop = make();
        for _ in 0..3 {
            let counter = drops.token();
            event_loop
                .spawn_local(async move {
                    let _counter = counter;
                    std::future::pending::<()>().await;
                })
                .detach();
        }
        event_loop.run_until_complete(yield_now());
        assert_eq!(drops.count(), 0);
        drop(event_loop);
        assert_eq!(drops.count(), 3);
    }
}

#[test]
fn a_task_whose_awaits_are_always_ready_does_not_starve_the_others() {
    on_each_driver(|event_loop| {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let ready = corio_core::Promise::new();
        ready.set_result(()).unwrap();
        let greedy = event_loop.spawn_local(async move {
            let mut awaits = 0u64;
            // Without the coop budget this loop never returns to the event
            // loop, and the other task never gets to set the flag.
            while !flag.load(Ordering::SeqCst) {
                (&ready).await.unwrap();
                awaits += 1;
            }
            awaits
        });
        let setter = event_loop.spawn_local(async move { stop.store(true, Ordering::SeqCst) });
        event_loop.run_until_complete(setter).unwrap();
        let awaits = event_loop.run_until_complete(greedy).unwrap();
        assert!(awaits >= u64::from(corio_core::coop::BUDGET));
    });
}

#[test]
fn current_task_and_all_tasks_describe_the_loops_tasks() {
    on_each_driver(|event_loop| {
        let (name, listed) = event_loop.run_until_complete(async {
            let _idle = corio_executor::task::Builder::new()
                .name("idle")
                .spawn(std::future::pending::<()>());
            let named = corio_executor::task::Builder::new()
                .name("worker")
                .spawn(async {
                    let me = corio_executor::current_task().unwrap();
                    me.name().map(str::to_string)
                });
            let name = named.await.unwrap();
            let listed: Vec<String> = corio_executor::all_tasks()
                .iter()
                .map(|info| format!("{info:?}"))
                .collect();
            (name, listed)
        });
        assert_eq!(name.as_deref(), Some("worker"));
        assert_eq!(listed.len(), 2, "the main future, then the idle task");
        assert!(listed[0].contains("\"main\""), "{listed:?}");
        assert!(listed[1].contains("idle"), "{listed:?}");
        assert!(listed[1].contains("event_loop.rs"), "{listed:?}");
    });
}

#[test]
fn sleep_zero_yields_exactly_once() {
    on_each_driver(|event_loop| {
        let log = Log::default();
        let me = log.clone();
        event_loop.run_until_complete(async move {
            let other = me.clone();
            spawn_local(async move {
                other.push("other");
                yield_now().await;
                other.push("other again");
            })
            .detach();
            me.push("before");
            corio_timer::sleep(Duration::ZERO).await;
            me.push("after");
        });
        // One yield lets the other task run exactly one step.
        assert_eq!(log.take(), ["before", "other", "after"]);
    });
}

#[test]
fn virtual_time_jumps_over_an_hour_of_sleep() {
    let mut event_loop = corio_executor::Runtime::builder()
        .driver(corio_core::ParkDriver::new())
        .virtual_time(true)
        .build_event_loop()
        .unwrap();
    let wall = std::time::Instant::now();
    let start = event_loop.time();
    event_loop.run_until_complete(async {
        let a = spawn(corio_timer::sleep(Duration::from_secs(3600)));
        corio_timer::sleep(Duration::from_secs(1800)).await;
        a.await.unwrap();
    });
    assert!(event_loop.time() - start >= Duration::from_secs(3600));
    assert!(wall.elapsed() < Duration::from_secs(60));
}

/// Spawns a copy of itself from its destructor, forever.
struct Respawner(Arc<AtomicUsize>);

impl Drop for Respawner {
    fn drop(&mut self) {
        let count = self.0.clone();
        count.fetch_add(1, Ordering::SeqCst);
        spawn_local(async move {
            let _again = Respawner(count);
            std::future::pending::<()>().await;
        })
        .detach();
    }
}

#[test]
#[cfg_attr(
    corio_asan,
    ignore = "checks the documented leak of tasks spawned at shutdown, which LeakSanitizer reports"
)]
fn shutdown_ends_even_when_destructors_keep_spawning() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut event_loop = EventLoop::with_driver(corio_core::ParkDriver::new());
    let first = Respawner(drops.clone());
    event_loop
        .spawn_local(async move {
            let _first = first;
            std::future::pending::<()>().await;
        })
        .detach();
    event_loop.run_until_complete(yield_now());
    // Shutdown cancels a bounded number of generations, then leaks the rest
    // (saying so on stderr) instead of looping forever.
    drop(event_loop);
    let generations = drops.load(Ordering::SeqCst);
    assert!((1..=100).contains(&generations), "{generations}");
}

#[test]
fn stop_during_run_until_complete_waits_for_the_next_run_forever() {
    on_each_driver(|event_loop| {
        let handle = event_loop.handle();
        let value = event_loop.run_until_complete(async move {
            handle.stop();
            // The stop does not cut this future short.
            corio_timer::sleep(Duration::from_millis(5)).await;
            yield_now().await;
            9
        });
        assert_eq!(value, 9);
        // The pending stop makes the next run_forever run one iteration
        // (the ready callback) and return, instead of blocking.
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        event_loop.call_soon(move || flag.store(true, Ordering::SeqCst));
        event_loop.run_forever();
        assert!(ran.load(Ordering::SeqCst));
    });
}
