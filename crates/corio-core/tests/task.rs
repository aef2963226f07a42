//! Public behaviour of tasks: spawning, running, cancelling, joining.

mod util;

use std::future::{pending, poll_fn, Future};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;

use corio_core::{
    spawn, spawn_unchecked, Runnable, Task, TaskError, TaskId, TaskMeta, TaskRef, TaskState,
};
use corio_test_support::{block_on, counting_waker, poll_once, DropCounter};
use util::{exhaust_budget, Executor};

fn meta() -> TaskMeta {
    TaskMeta::new(std::panic::Location::caller())
}

#[test]
fn handles_are_send_sync_and_unpin_as_documented() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    fn unpin<T: Unpin>() {}
    send::<Runnable>();
    sync::<Runnable>();
    send::<TaskRef>();
    sync::<TaskRef>();
    send::<Task<u32>>();
    sync::<Task<u32>>();
    // `Cell<u32>` is `Send` but not `Sync`: the handle is still both, since
    // only `&mut Task` reads the output.
    sync::<Task<std::cell::Cell<u32>>>();
    unpin::<Task<std::marker::PhantomPinned>>();
    send::<TaskError>();
    send::<TaskId>();
    sync::<TaskId>();
}

#[test]
fn a_task_runs_to_completion_and_the_handle_yields_its_output() {
    let executor = Executor::new();
    let task = executor.spawn(async { 40 + 2 });
    assert!(!task.is_done());
    assert_eq!(executor.run_all(), 1);
    assert!(task.is_done());
    assert_eq!(block_on(task).unwrap(), 42);
    assert_eq!(executor.live_tasks(), 0);
}

#[test]
fn a_panic_becomes_panicked_with_its_payload() {
    let executor = Executor::new();
    let task = executor.spawn(async {
        panic!("boom {}", std::hint::black_box(7));
    });
    let (runnable_ran, _) = (executor.run_all(), ());
    assert_eq!(runnable_ran, 1);
    let error = block_on(task).unwrap_err();
    assert!(error.is_panic() && !error.is_cancelled());
    assert_eq!(error.to_string(), "task panicked: boom 7");
    let payload = error.into_panic();
    assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom 7");
}

#[test]
fn a_panic_while_dropping_the_future_is_caught_too() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop panicked");
        }
    }
    let executor = Executor::new();
    let guard = PanicOnDrop;
    let task = executor.spawn(async move {
        let _guard = guard;
        5
    });
    executor.run_all();
    let error = block_on(task).unwrap_err();
    assert_eq!(error.to_string(), "task panicked: drop panicked");

    let guard = PanicOnDrop;
    let task = executor.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    });
    assert!(task.cancel());
    executor.run_all();
    assert!(block_on(task).unwrap_err().is_panic());
}

#[test]
fn cancel_before_the_first_poll_never_runs_the_body() {
    let executor = Executor::new();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let task = executor.spawn(async move { flag.store(true, SeqCst) });
    assert!(task.cancel());
    assert!(
        task.cancel(),
        "cancelling twice before it takes effect still succeeds"
    );
    executor.run_all();
    assert!(!ran.load(SeqCst));
    assert!(task.is_cancelled() && task.is_done());
    assert!(!task.cancel(), "a finished task cannot be cancelled");
    assert!(block_on(task).unwrap_err().is_cancelled());
}

#[test]
fn cancel_of_an_idle_task_drops_the_future_once_on_the_runnables_thread() {
    struct RecordDrop(Arc<Mutex<Vec<thread::ThreadId>>>);
    impl Drop for RecordDrop {
        fn drop(&mut self) {
            self.0.lock().unwrap().push(thread::current().id());
        }
    }
    let executor = Executor::new();
    let drops = Arc::new(Mutex::new(Vec::new()));
    let guard = RecordDrop(drops.clone());
    let task = executor.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    });
    executor.run_all();
    assert!(!task.is_done());
    // Cancel from another thread: that only schedules the task.
    let task = thread::spawn(move || {
        assert!(task.cancel());
        task
    })
    .join()
    .unwrap();
    assert!(drops.lock().unwrap().is_empty());
    assert_eq!(executor.len(), 1);
    let runnable = executor.pop().unwrap();
    assert!(runnable.run(), "running a cancelled task finishes it");
    assert_eq!(*drops.lock().unwrap(), vec![thread::current().id()]);
    assert!(block_on(task).unwrap_err().is_cancelled());
    assert_eq!(executor.live_tasks(), 0);
}

#[test]
fn dropping_a_runnable_unrun_cancels_the_task() {
    let futures = DropCounter::new();
    let token = futures.token();
    let (runnable, task) = spawn(
        async move {
            let _token = token;
        },
        drop,
        meta(),
    );
    drop(runnable);
    assert_eq!(futures.count(), 1);
    assert!(task.is_cancelled());
    assert!(block_on(task).unwrap_err().is_cancelled());
}

#[test]
fn cancel_while_running_drops_the_output_and_reports_cancelled() {
    let executor = Executor::new();
    let outputs = DropCounter::new();
    let cell: Arc<Mutex<Option<TaskRef>>> = Arc::default();
    let me = cell.clone();
    let produced = outputs.clone();
    let task = executor.spawn(async move {
        let task_ref = me.lock().unwrap().take().unwrap();
        assert!(task_ref.cancel());
        assert_eq!(task_ref.state(), TaskState::Running);
        produced.token()
    });
    let runnable = executor.pop().unwrap();
    *cell.lock().unwrap() = Some(runnable.task_ref());
    assert!(runnable.run());
    assert_eq!(
        outputs.count(),
        1,
        "the output of the cancelled poll is dropped"
    );
    assert!(block_on(task).unwrap_err().is_cancelled());
}

#[test]
fn a_detached_task_keeps_running_and_its_output_is_dropped() {
    let executor = Executor::new();
    let outputs = DropCounter::new();
    let produced = outputs.clone();
    let step = Arc::new(AtomicUsize::new(0));
    let seen = step.clone();
    let waker_slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let slot = waker_slot.clone();
    let task = executor.spawn(poll_fn(move |cx| {
        if seen.fetch_add(1, SeqCst) == 0 {
            *slot.lock().unwrap() = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(produced.token())
    }));
    executor.run_all();
    task.detach();
    waker_slot.lock().unwrap().take().unwrap().wake();
    executor.run_all();
    assert_eq!(step.load(SeqCst), 2);
    assert_eq!(outputs.count(), 1);
    assert_eq!(executor.live_tasks(), 0);
}

#[test]
fn joining_after_completion_is_ready_at_once() {
    let executor = Executor::new();
    let mut task = executor.spawn(async { "done" });
    executor.run_all();
    let (waker, wakes) = counting_waker();
    assert!(matches!(
        poll_once(&mut task, &waker),
        Poll::Ready(Ok("done"))
    ));
    assert_eq!(wakes.count(), 0);
}

#[test]
fn the_join_waker_is_woken_on_completion_from_another_thread() {
    let executor = Executor::new();
    let gate = Arc::new(AtomicBool::new(false));
    let open = gate.clone();
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let inner_slot = slot.clone();
    let mut task = executor.spawn(poll_fn(move |cx| {
        if open.load(SeqCst) {
            return Poll::Ready(9);
        }
        *inner_slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }));
    executor.run_all();
    let (first, first_wakes) = counting_waker();
    let (second, second_wakes) = counting_waker();
    assert!(poll_once(&mut task, &first).is_pending());
    assert!(poll_once(&mut task, &second).is_pending());
    let worker = {
        let executor = executor.clone();
        thread::spawn(move || {
            gate.store(true, SeqCst);
            slot.lock().unwrap().take().unwrap().wake();
            executor.run_all();
        })
    };
    worker.join().unwrap();
    assert_eq!(first_wakes.count(), 0, "the replaced waker is not woken");
    assert_eq!(second_wakes.count(), 1);
    assert!(matches!(poll_once(&mut task, &second), Poll::Ready(Ok(9))));
}

#[test]
fn a_wake_during_the_poll_reschedules_exactly_once() {
    let executor = Executor::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let count = polls.clone();
    let task = executor.spawn(poll_fn(move |cx| {
        if count.fetch_add(1, SeqCst) < 3 {
            cx.waker().wake_by_ref();
            let clone = cx.waker().clone();
            clone.wake();
            return Poll::Pending;
        }
        Poll::Ready(())
    }));
    let runnable = executor.pop().unwrap();
    assert!(!runnable.run());
    assert_eq!(executor.len(), 1, "two wakes during one poll schedule once");
    executor.run_all();
    assert_eq!(polls.load(SeqCst), 4);
    assert!(task.is_done());
}

#[test]
fn a_detached_idle_task_whose_wakers_are_gone_frees_its_future() {
    let executor = Executor::new();
    let futures = DropCounter::new();
    let token = futures.token();
    let task = executor.spawn(async move {
        let _token = token;
        pending::<()>().await;
    });
    executor.run_all();
    drop(task);
    assert_eq!(futures.count(), 1);
    assert_eq!(executor.live_tasks(), 0);
}

#[test]
fn task_ref_reports_identity_and_state() {
    let here = std::panic::Location::caller();
    let (runnable, task) = spawn(
        pending::<()>(),
        drop,
        TaskMeta::new(here).with_name("watcher"),
    );
    let task_ref = runnable.task_ref();
    assert_eq!(task_ref.id(), task.id());
    assert_eq!(task.name(), Some("watcher"));
    assert_eq!(task_ref.location().line(), here.line());
    assert_eq!(task_ref.state(), TaskState::Scheduled);
    assert!(!runnable.run());
    assert_eq!(task_ref.state(), TaskState::Idle);
    let debug = format!("{task_ref:?}");
    assert!(debug.contains("watcher") && debug.contains("Idle") && debug.contains(file!()));
    // The scheduler here drops the runnable, which cancels the task.
    assert!(task_ref.cancel());
    assert_eq!(task_ref.state(), TaskState::Cancelled);
    assert!(task_ref.is_done());
}

#[test]
fn ids_are_unique_and_increasing() {
    let ids: Vec<TaskId> = (0..10)
        .map(|_| spawn(async {}, drop, meta()).1.id())
        .collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(ids[0].as_u64() >= 1);
}

#[test]
fn spawn_unchecked_runs_a_non_send_future_on_its_thread() {
    let shared = std::rc::Rc::new(std::cell::Cell::new(0));
    let inner = shared.clone();
    let executor = Executor::new();
    // SAFETY: the runnable is run and dropped on this thread only.
    let (runnable, task) = unsafe {
        spawn_unchecked(
            async move {
                inner.set(inner.get() + 1);
                std::rc::Rc::strong_count(&inner)
            },
            executor.schedule(),
            meta(),
        )
    };
    assert!(runnable.run());
    assert_eq!(shared.get(), 1);
    assert_eq!(block_on(task).unwrap(), 2);
}

#[test]
fn polling_the_handle_is_a_coop_leaf() {
    let executor = Executor::new();
    let mut task = executor.spawn(async {});
    executor.run_all();
    let (waker, wakes) = counting_waker();
    corio_core::coop::with_budget(|| {
        exhaust_budget(&waker);
        assert!(poll_once(&mut task, &waker).is_pending());
        assert_eq!(wakes.count(), 1);
    });
    assert!(poll_once(&mut task, &waker).is_ready());
}

#[test]
fn a_scheduler_that_runs_inline_is_sound() {
    // The hook runs the task right away, so the wake that schedules it also
    // completes and frees it while the hook is still on the stack.
    let futures = DropCounter::new();
    let token = futures.token();
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let inner_slot = slot.clone();
    let polls = Arc::new(AtomicUsize::new(0));
    let count = polls.clone();
    let (runnable, task) = spawn(
        poll_fn(move |cx| {
            let _ = &token;
            if count.fetch_add(1, SeqCst) == 0 {
                *inner_slot.lock().unwrap() = Some(cx.waker().clone());
                return Poll::Pending;
            }
            Poll::Ready(())
        }),
        |runnable: Runnable| {
            runnable.run();
        },
        meta(),
    );
    assert!(!runnable.run());
    drop(task);
    let waker = slot.lock().unwrap().take().unwrap();
    waker.wake();
    assert_eq!(polls.load(SeqCst), 2);
    assert_eq!(futures.count(), 1);
}

#[allow(dead_code)]
fn task_is_a_future_of_result<T>(task: Task<T>) -> impl Future<Output = Result<T, TaskError>> {
    task
}

/// The id and message of each report a hook received.
type Reports = Arc<Mutex<Vec<(TaskId, String)>>>;

/// A debug-mode hook that records the id and message of each report.
fn recording_hook() -> (corio_core::UnretrievedPanicHook, Reports) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let hook: corio_core::UnretrievedPanicHook = Arc::new(move |report| {
        let message = report.message().unwrap_or("<opaque>").to_string();
        sink.lock().unwrap().push((report.id(), message));
    });
    (hook, seen)
}

#[test]
fn an_unread_panic_is_reported_once_when_the_task_is_dropped() {
    let (hook, seen) = recording_hook();
    let meta = meta().with_name("lost").with_debug(hook);
    let (runnable, task) = spawn(async { panic!("never retrieved") }, drop, meta);
    assert!(runnable.run());
    assert!(seen.lock().unwrap().is_empty(), "not before the Task goes");
    let id = task.id();
    assert_eq!(task.name(), Some("lost"));
    drop(task);
    assert_eq!(*seen.lock().unwrap(), [(id, "never retrieved".to_string())]);
}

#[test]
fn a_panic_of_a_task_dropped_before_it_ended_is_reported_when_it_ends() {
    let (hook, seen) = recording_hook();
    let (runnable, task) = spawn(async { panic!("detached") }, drop, meta().with_debug(hook));
    let id = task.id();
    task.detach();
    assert!(seen.lock().unwrap().is_empty());
    assert!(runnable.run());
    assert_eq!(*seen.lock().unwrap(), [(id, "detached".to_string())]);
}

#[test]
fn an_awaited_panic_a_success_and_a_cancellation_are_not_reported() {
    let (hook, seen) = recording_hook();
    let (runnable, task) = spawn(
        async { panic!("read") },
        drop,
        meta().with_debug(hook.clone()),
    );
    runnable.run();
    assert!(block_on(task).unwrap_err().is_panic());
    let (runnable, task) = spawn(async { 5 }, drop, meta().with_debug(hook.clone()));
    runnable.run();
    drop(task);
    let (runnable, task) = spawn(pending::<()>(), drop, meta().with_debug(hook));
    task.cancel();
    runnable.run();
    drop(task);
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
}

#[test]
fn a_panic_waited_for_but_not_read_is_reported() {
    let (hook, seen) = recording_hook();
    let (runnable, mut task) = spawn(
        async { panic!("only waited") },
        drop,
        meta().with_debug(hook),
    );
    runnable.run();
    block_on(poll_fn(|cx| task.poll_done(cx)));
    assert!(task.is_panicked());
    drop(task);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn a_panicking_hook_is_contained_and_tasks_without_a_hook_report_nothing() {
    let hook: corio_core::UnretrievedPanicHook = Arc::new(|_| panic!("the hook itself"));
    let (runnable, task) = spawn(async { panic!("first") }, drop, meta().with_debug(hook));
    runnable.run();
    drop(task); // the hook's panic does not unwind out of the drop
    let (runnable, task) = spawn(async { panic!("plain") }, drop, meta());
    assert_eq!(runnable.task_ref().poll_stamp(), None);
    runnable.set_poll_stamp(9); // no debug word: ignored
    runnable.run();
    drop(task);
}
