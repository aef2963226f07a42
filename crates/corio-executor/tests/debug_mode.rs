//! Debug mode (asyncio's): slow polls of tasks, callbacks and the main
//! future reported through the `on_debug_event` hook with the task's name,
//! id and spawn site; panics nobody retrieved; the task dump with the main
//! future and how long ago each task was polled. On both flavours.
//!
//! Timing is never asserted tightly: a slow poll blocks for 150 ms against a
//! 50 ms threshold (reported), a fast one is checked against a 1 s threshold
//! (not reported), and where the machine's load could make some other poll
//! slow, only the events of the poll under test are counted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corio_executor::task::Builder;
use corio_executor::{
    all_tasks, current_task, yield_now, DebugEvent, EventLoop, Runtime, TaskDump, TaskInfo,
};

/// Longer than [`THRESHOLD`] by a wide margin.
const BLOCK: Duration = Duration::from_millis(150);
const THRESHOLD: Duration = Duration::from_millis(50);

type Events = Arc<Mutex<Vec<DebugEvent>>>;

/// A builder in debug mode with `threshold` whose events are recorded.
fn recording(threshold: Duration) -> (corio_executor::Builder, Events) {
    let events = Events::default();
    let sink = events.clone();
    let builder = Runtime::builder()
        .slow_poll_threshold(threshold)
        .on_debug_event(move |event| sink.lock().unwrap().push(event.clone()));
    (builder, events)
}

fn event_loop(threshold: Duration) -> (EventLoop, Events) {
    let (builder, events) = recording(threshold);
    (builder.build_event_loop().unwrap(), events)
}

fn taken(events: &Events) -> Vec<DebugEvent> {
    std::mem::take(&mut *events.lock().unwrap())
}

#[test]
fn a_slow_task_poll_is_reported_once_with_name_id_and_spawn_site() {
    let (mut event_loop, events) = event_loop(THRESHOLD);
    let (id, line) = event_loop.run_until_complete(async {
        let line = line!() + 1;
        let task = Builder::new().name("blocker").spawn(async {
            std::thread::sleep(BLOCK);
            yield_now().await; // a second, fast poll: not reported
        });
        let id = task.id();
        task.await.unwrap();
        (id, line)
    });
    let events: Vec<_> = taken(&events)
        .into_iter()
        .filter(|event| matches!(event, DebugEvent::SlowPoll { .. }))
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let DebugEvent::SlowPoll { task, duration, .. } = &events[0] else {
        unreachable!();
    };
    assert!(*duration >= BLOCK, "{duration:?}");
    assert_eq!(task.name(), Some("blocker"));
    assert_eq!(task.id(), id);
    assert_eq!(task.location().file(), file!());
    assert_eq!(task.location().line(), line);
    let text = events[0].to_string();
    assert!(text.starts_with("slow poll: task blocker"), "{text}");
    assert!(text.contains("debug_mode.rs"), "{text}");
}

#[test]
fn a_slow_callback_is_reported_with_the_site_that_scheduled_it() {
    let (mut event_loop, events) = event_loop(THRESHOLD);
    let soon_line = line!() + 1;
    event_loop.call_soon(|| std::thread::sleep(BLOCK));
    let later_line = line!() + 1;
    event_loop.call_later(Duration::from_millis(1), || std::thread::sleep(BLOCK));
    let free_line = event_loop.run_until_complete(async {
        corio_timer::sleep(Duration::from_millis(5)).await;
        let line = line!() + 1;
        corio_executor::call_soon(|| std::thread::sleep(BLOCK));
        yield_now().await;
        line
    });
    let events: Vec<_> = taken(&events)
        .into_iter()
        .filter(|event| matches!(event, DebugEvent::SlowCallback { .. }))
        .collect();
    let sites: Vec<u32> = events
        .iter()
        .map(|event| match event {
            DebugEvent::SlowCallback { site, duration, .. } => {
                assert!(*duration >= BLOCK);
                assert_eq!(site.file(), file!());
                site.line()
            }
            other => panic!("not a slow callback: {other:?}"),
        })
        .collect();
    assert_eq!(sites, [soon_line, later_line, free_line], "{events:?}");
    assert!(events[0].to_string().starts_with("slow callback"));
}

#[test]
fn a_slow_poll_of_the_main_future_is_reported_as_main() {
    let (mut event_loop, events) = event_loop(THRESHOLD);
    let line = line!() + 1;
    event_loop.run_until_complete(async { std::thread::sleep(BLOCK) });
    let events = taken(&events);
    assert_eq!(events.len(), 1, "{events:?}");
    let DebugEvent::SlowMainPoll { task, duration, .. } = &events[0] else {
        panic!("not the main future: {:?}", events[0]);
    };
    assert!(*duration >= BLOCK);
    assert_eq!(task.name(), Some("main"));
    assert_eq!(task.location().line(), line);
}

#[test]
fn polls_under_the_threshold_are_not_reported() {
    let (mut event_loop, events) = event_loop(Duration::from_secs(1));
    event_loop.call_soon(|| {});
    event_loop.run_until_complete(async {
        let tasks: Vec<_> = (0..10)
            .map(|_| corio_executor::spawn(async { yield_now().await }))
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert!(taken(&events).is_empty());
}

#[test]
fn debug_mode_off_reports_nothing_and_records_no_poll_times() {
    let events = Events::default();
    let sink = events.clone();
    let mut event_loop = Runtime::builder()
        .debug(false)
        .on_debug_event(move |event| sink.lock().unwrap().push(event.clone()))
        .build_event_loop()
        .unwrap();
    let since = event_loop.run_until_complete(async {
        let task = corio_executor::spawn(async { std::thread::sleep(BLOCK) });
        let _ = task.await; // the slow poll is not reported
        drop(corio_executor::spawn(async { panic!("quiet") })); // neither is this
        yield_now().await;
        current_task().unwrap().since_last_poll()
    });
    assert_eq!(since, None);
    assert!(taken(&events).is_empty());
}

/// The one unretrieved-panic report in `events`: the task and its message.
fn unretrieved(events: &[DebugEvent]) -> Vec<(TaskInfo, Option<String>)> {
    events
        .iter()
        .filter_map(|event| match event {
            DebugEvent::UnretrievedPanic { task, message, .. } => {
                Some((task.clone(), message.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_panic_whose_task_is_dropped_unawaited_is_reported_once() {
    let (mut event_loop, events) = event_loop(Duration::from_secs(1));
    let (id, line) = event_loop.run_until_complete(async {
        let line = line!() + 1;
        let task = Builder::new().name("doomed").spawn(async {
            panic!("nobody reads this");
        });
        let id = task.id();
        while !task.is_done() {
            yield_now().await;
        }
        assert!(
            unretrieved(&events.lock().unwrap()).is_empty(),
            "not before the drop"
        );
        drop(task);
        (id, line)
    });
    let events = taken(&events);
    let reports = unretrieved(&events);
    assert_eq!(reports.len(), 1, "{events:?}");
    let (task, message) = &reports[0];
    assert_eq!(task.id(), id);
    assert_eq!(task.name(), Some("doomed"));
    assert_eq!(task.location().line(), line);
    assert_eq!(message.as_deref(), Some("nobody reads this"));
    // The panicking poll itself may also be reported as slow where printing
    // the panic is slow (a sanitizer symbolizing the backtrace): look for
    // the panic's report, not at the first event.
    let report = events
        .iter()
        .find(|event| matches!(event, DebugEvent::UnretrievedPanic { .. }))
        .expect("the report");
    let text = report.to_string();
    assert!(
        text.contains("never retrieved") && text.contains("doomed"),
        "{text}"
    );
    assert!(
        !text.contains("nobody reads this"),
        "the panic hook printed it: {text}"
    );
}

#[test]
fn a_panic_of_a_detached_task_is_reported_when_it_ends() {
    let (mut event_loop, events) = event_loop(Duration::from_secs(1));
    event_loop.run_until_complete(async {
        Builder::new()
            .name("fire-and-forget")
            .spawn(async {
                yield_now().await;
                panic!("after the detach");
            })
            .detach();
        for _ in 0..3 {
            yield_now().await;
        }
    });
    let reports = unretrieved(&taken(&events));
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].0.name(), Some("fire-and-forget"));
}

#[test]
fn a_panicking_blocking_closure_whose_task_is_dropped_is_reported() {
    let (mut event_loop, events) = event_loop(Duration::from_secs(1));
    event_loop.run_until_complete(async {
        let task = corio_executor::spawn_blocking(|| panic!("in the pool"));
        while !task.is_done() {
            corio_timer::sleep(Duration::from_millis(1)).await;
        }
    });
    let reports = unretrieved(&taken(&events));
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].1.as_deref(), Some("in the pool"));
}

#[test]
fn an_awaited_panic_is_not_reported() {
    let (mut event_loop, events) = event_loop(Duration::from_secs(1));
    let error = event_loop.run_until_complete(async {
        corio_executor::spawn(async { panic!("read by the awaiter") })
            .await
            .unwrap_err()
    });
    assert_eq!(error.panic_message(), Some("read by the awaiter"));
    assert!(taken(&events).is_empty());
}

#[test]
fn the_dump_lists_main_and_the_tasks_with_state_and_time_since_last_poll() {
    let (mut event_loop, _events) = event_loop(Duration::from_secs(1));
    let (tasks, table) = event_loop.run_until_complete(async {
        let _idle = Builder::new().name("idle").spawn(async {
            std::future::pending::<()>().await;
        });
        let _fresh = Builder::new()
            .name("pending")
            .spawn(std::future::pending::<()>());
        // Let `idle` run once, then wait: its last poll recedes.
        yield_now().await;
        std::thread::sleep(Duration::from_millis(30));
        let _late = Builder::new()
            .name("not-yet")
            .spawn(std::future::pending::<()>());
        let dump = TaskDump::capture();
        (dump.tasks().to_vec(), dump.to_string())
    });
    let names: Vec<_> = tasks.iter().map(|task| task.name().unwrap()).collect();
    assert_eq!(names, ["main", "idle", "pending", "not-yet"]);
    assert_eq!(tasks[0].state(), corio_core::TaskState::Running);
    assert_eq!(tasks[1].state(), corio_core::TaskState::Idle);
    assert_eq!(tasks[3].state(), corio_core::TaskState::Scheduled);
    assert!(tasks[1].since_last_poll().unwrap() >= Duration::from_millis(30));
    assert!(
        tasks[0].since_last_poll().unwrap() >= Duration::from_millis(30),
        "main's poll runs"
    );
    assert_eq!(tasks[3].since_last_poll(), None, "never polled");
    let idle = tasks[1].to_string();
    assert!(
        idle.starts_with("idle (id ") && idle.contains(" ms ago)"),
        "{idle}"
    );
    assert!(
        tasks[3].to_string().ends_with("last poll: never)"),
        "{}",
        tasks[3]
    );
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "4 tasks", "{table}");
    for column in ["ID", "STATE", "LAST POLL", "NAME", "SPAWNED AT"] {
        assert!(lines[1].contains(column), "{table}");
    }
    assert!(
        lines[2].contains("Running") && lines[2].contains("main"),
        "{table}"
    );
    assert!(
        lines[3].contains("Idle") && lines[3].contains(" ms ago"),
        "{table}"
    );
    assert!(
        lines[5].contains("never") && lines[5].contains("debug_mode.rs:"),
        "{table}"
    );
    // Columns line up: each row's name starts where the header's does.
    let name_column = lines[1].find("NAME").unwrap();
    assert_eq!(lines[3].find("idle"), Some(name_column), "{table}");
}

#[test]
fn current_task_in_the_main_future_is_main() {
    let mut event_loop = EventLoop::new().unwrap();
    let (main, listed) =
        event_loop.run_until_complete(async { (current_task().unwrap(), all_tasks()) });
    assert_eq!(main.name(), Some("main"));
    assert_eq!(main.state(), corio_core::TaskState::Running);
    assert_eq!(main.location().file(), file!());
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id(), main.id());
    assert!(all_tasks().is_empty(), "outside the loop");
}

#[test]
fn on_the_multi_thread_runtime_slow_polls_panics_and_main_are_reported_too() {
    let (builder, events) = recording(THRESHOLD);
    let runtime = builder.multi_thread().worker_threads(2).build().unwrap();
    let (main, listed) = runtime.block_on(async {
        Builder::new()
            .name("mt-blocker")
            .spawn(async { std::thread::sleep(BLOCK) })
            .await
            .unwrap();
        let doomed = Builder::new()
            .name("mt-doomed")
            .spawn(async { panic!("mt") });
        while !doomed.is_done() {
            yield_now().await;
        }
        drop(doomed);
        let _idle = corio_executor::spawn(std::future::pending::<()>());
        std::thread::sleep(BLOCK); // a slow poll of the main future
        (current_task().unwrap(), all_tasks())
    });
    assert_eq!(main.name(), Some("main"));
    assert_eq!(main.location().file(), file!(), "block_on's caller");
    assert_eq!(listed[0].id(), main.id());
    assert!(listed.len() >= 2, "{listed:?}");
    assert!(main.since_last_poll().unwrap() >= BLOCK);
    let events = taken(&events);
    let slow_task = events.iter().any(|event| {
        matches!(event, DebugEvent::SlowPoll { task, .. } if task.name() == Some("mt-blocker"))
    });
    assert!(slow_task, "{events:?}");
    let slow_main = events
        .iter()
        .any(|event| matches!(event, DebugEvent::SlowMainPoll { .. }));
    assert!(slow_main, "{events:?}");
    let reports = unretrieved(&events);
    assert_eq!(reports.len(), 1, "{events:?}");
    assert_eq!(reports[0].1.as_deref(), Some("mt"));
}

#[test]
fn a_panicking_hook_is_contained() {
    let called = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = called.clone();
    let mut event_loop = Runtime::builder()
        .slow_poll_threshold(THRESHOLD)
        .on_debug_event(move |_| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            panic!("a broken hook");
        })
        .build_event_loop()
        .unwrap();
    // The main future's slow poll calls the hook, which panics; the loop
    // goes on (the event is printed on standard error instead).
    let value = event_loop.run_until_complete(async {
        std::thread::sleep(BLOCK);
        yield_now().await;
        corio_executor::spawn(async { 5 }).await.unwrap()
    });
    assert_eq!(value, 5);
    assert!(called.load(std::sync::atomic::Ordering::SeqCst));
}
