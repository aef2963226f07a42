//! `TaskGroup`: failures cancel siblings at once, `join` waits for every
//! child, dropping the group cancels, and asyncio's TaskGroup bugs
//! (gh-116720, gh-133747) stay fixed.

mod util;

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use corio_core::Task;
use corio_executor::{spawn_local, yield_now, Runtime, TaskGroup, TaskGroupHandle};
use corio_test_support::{panic_message, DropCounter};
use corio_timer::{sleep, timeout, Instant, TimeoutError};
use util::drivers;

/// Runs the future `test` makes on a fresh loop of each driver.
fn on_each_loop<F: Future<Output = ()>>(test: impl Fn() -> F) {
    for (name, make) in drivers() {
        eprintln!("-- driver: {name}");
        make().run_until_complete(test());
    }
}

/// Runs `test` on a loop with a virtual clock, where hours pass at once.
fn on_virtual_time(test: impl Future<Output = ()>) {
    Runtime::builder()
        .virtual_time(true)
        .build_event_loop()
        .expect("create a virtual-time loop")
        .run_until_complete(test);
}

/// Watches one child: how often it was polled, whether its future was
/// dropped, and whether its body ran to the end.
#[derive(Clone, Default)]
struct Probe {
    polls: Arc<AtomicUsize>,
    drops: DropCounter,
    finished: Arc<AtomicBool>,
}

impl Probe {
    /// A child that yields `rounds` times, counting its polls, then
    /// succeeds.
    fn yielding(&self, rounds: usize) -> impl Future<Output = Result<(), String>> + Send + 'static {
        let probe = self.clone();
        let guard = self.drops.token();
        async move {
            let _guard = guard;
            for _ in 0..rounds {
                probe.polls.fetch_add(1, Ordering::SeqCst);
                yield_now().await;
            }
            probe.finished.store(true, Ordering::SeqCst);
            Ok(())
        }
    }

    /// A child that sleeps for `duration`, then succeeds.
    fn sleeping(&self, duration: Duration) -> impl Future<Output = Result<(), String>> + Send {
        let probe = self.clone();
        let guard = self.drops.token();
        async move {
            let _guard = guard;
            probe.polls.fetch_add(1, Ordering::SeqCst);
            sleep(duration).await;
            probe.finished.store(true, Ordering::SeqCst);
            Ok(())
        }
    }

    fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }

    /// Asserts that the child was cancelled: dropped once, never finished.
    fn assert_cancelled(&self) {
        assert_eq!(self.drops.count(), 1, "dropped once");
        assert!(!self.finished.load(Ordering::SeqCst), "never finished");
    }
}

/// A child that yields `rounds` times, then fails with `error`.
async fn failing_after(rounds: usize, error: &str) -> Result<(), String> {
    for _ in 0..rounds {
        yield_now().await;
    }
    Err(error.to_string())
}

/// Asserts that a child's handle reports a cancellation.
async fn assert_task_cancelled<T: std::fmt::Debug>(task: Task<T>) {
    let error = task.await.expect_err("the child was cancelled");
    assert!(error.is_cancelled(), "{error:?}");
}

#[test]
fn join_returns_ok_once_every_child_succeeded() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        let tasks: Vec<Task<usize>> = (0..3)
            .map(|n| {
                group.spawn(async move {
                    for _ in 0..n {
                        yield_now().await;
                    }
                    Ok(n)
                })
            })
            .collect();
        assert_eq!(group.join().await, Ok(()));
        for (n, task) in tasks.into_iter().enumerate() {
            assert!(task.is_done(), "join returned only after every child");
            assert_eq!(task.await.unwrap(), n);
        }
    });
}

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn join_on_an_empty_group_is_ready_at_first_poll() {
    let waker = Waker::from(Arc::new(NoopWake));
    let join = pin!(TaskGroup::<String>::new().join());
    let polled = join.poll(&mut Context::from_waker(&waker));
    assert_eq!(polled, Poll::Ready(Ok(())));
}

#[test]
fn the_first_failure_cancels_every_sibling_at_once() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        let probes = [Probe::default(), Probe::default()];
        let siblings: Vec<Task<()>> = probes
            .iter()
            .map(|probe| group.spawn(probe.yielding(100)))
            .collect();
        let polls_at_failure = Arc::new(AtomicUsize::new(0));
        let failing = {
            let probes = probes.clone();
            let polls_at_failure = polls_at_failure.clone();
            group.spawn(async move {
                failing_after(3, "").await.ok();
                polls_at_failure.store(probes[0].polls() + probes[1].polls(), Ordering::SeqCst);
                Err::<(), _>("boom".to_string())
            })
        };
        assert_eq!(group.join().await, Err("boom".to_string()));
        // Cancelled siblings were dropped before `join` returned, and none
        // was polled after the failure.
        for probe in &probes {
            probe.assert_cancelled();
        }
        assert_eq!(
            probes[0].polls() + probes[1].polls(),
            polls_at_failure.load(Ordering::SeqCst)
        );
        for sibling in siblings {
            assert_task_cancelled(sibling).await;
        }
        // The failure went to `join`; the failing child's handle says so by
        // reporting a cancellation.
        assert_task_cancelled(failing).await;
    });
}

#[test]
fn the_first_error_wins_and_a_later_one_never_runs() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        let second_ran = Arc::new(AtomicBool::new(false));
        let first = group.spawn(failing_after(0, "first"));
        let second = {
            let second_ran = second_ran.clone();
            group.spawn(async move {
                second_ran.store(true, Ordering::SeqCst);
                Err::<(), _>("second".to_string())
            })
        };
        assert_eq!(group.join().await, Err("first".to_string()));
        assert!(!second_ran.load(Ordering::SeqCst));
        assert_task_cancelled(first).await;
        assert_task_cancelled(second).await;
    });
}

#[test]
fn a_child_spawned_after_a_failure_is_cancelled_before_it_runs() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        assert_task_cancelled(group.spawn(failing_after(1, "early"))).await;
        let ran = Arc::new(AtomicBool::new(false));
        let late = {
            let ran = ran.clone();
            group.spawn(async move {
                ran.store(true, Ordering::SeqCst);
                Ok(())
            })
        };
        assert_eq!(group.join().await, Err("early".to_string()));
        assert_task_cancelled(late).await;
        assert!(!ran.load(Ordering::SeqCst));
    });
}

#[test]
fn a_panicking_child_cancels_its_siblings_and_join_resumes_the_panic() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        let probe = Probe::default();
        let sibling = group.spawn(probe.yielding(100));
        let panicking = group.spawn(async {
            yield_now().await;
            if true {
                panic!("child panicked: boom");
            }
            Ok(())
        });
        // The panic resumes in the task awaiting `join`; the loop goes on.
        let joiner = spawn_local(group.join()).await;
        let payload = joiner.expect_err("join panicked").into_panic();
        assert_eq!(panic_message(payload), "child panicked: boom");
        probe.assert_cancelled();
        assert_task_cancelled(sibling).await;
        assert_task_cancelled(panicking).await;
        assert_eq!(spawn_local(async { 7 }).await.unwrap(), 7);
    });
}

#[test]
fn spawn_local_runs_a_future_that_is_not_send() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        let shared = Rc::new(Cell::new(1));
        let task = {
            let shared = shared.clone();
            group.spawn_local(async move {
                yield_now().await;
                shared.set(shared.get() * 10);
                Ok(shared)
            })
        };
        group.join().await.unwrap();
        assert_eq!(task.await.unwrap().get(), 10);
        assert_eq!(shared.get(), 10);
    });
}

#[test]
fn children_spawn_siblings_and_join_waits_for_them() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        let handle: TaskGroupHandle<String> = group.handle();
        let grandchild = Probe::default();
        let parent = {
            let grandchild = grandchild.clone();
            group.spawn(async move {
                yield_now().await;
                Ok(handle.spawn(grandchild.yielding(5)))
            })
        };
        group.join().await.unwrap();
        assert!(grandchild.finished.load(Ordering::SeqCst));
        parent.await.unwrap().await.unwrap();
    });
}

#[test]
fn a_failing_grandchild_cancels_the_child_that_spawned_it() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        let handle = group.handle();
        let parent_resumed = Arc::new(AtomicBool::new(false));
        let parent = {
            let parent_resumed = parent_resumed.clone();
            group.spawn(async move {
                let grandchild = handle.spawn(failing_after(2, "grandchild"));
                let _ = grandchild.await;
                parent_resumed.store(true, Ordering::SeqCst);
                Ok(())
            })
        };
        assert_eq!(group.join().await, Err("grandchild".to_string()));
        assert!(!parent_resumed.load(Ordering::SeqCst));
        assert_task_cancelled(parent).await;
    });
}

#[test]
fn dropping_the_group_cancels_its_children_and_closes_its_handles() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        let handle = group.handle();
        let probes = [Probe::default(), Probe::default(), Probe::default()];
        let tasks: Vec<Task<()>> = probes
            .iter()
            .map(|probe| group.spawn(probe.yielding(100)))
            .collect();
        yield_now().await;
        drop(group);
        for task in tasks {
            assert_task_cancelled(task).await;
        }
        for probe in &probes {
            probe.assert_cancelled();
            assert_eq!(probe.polls(), 1, "not polled after the group was dropped");
        }
        let late = Probe::default();
        assert_task_cancelled(handle.spawn(late.yielding(1))).await;
        late.assert_cancelled();
        assert_eq!(late.polls(), 0);
    });
}

#[test]
fn dropping_the_join_future_cancels_the_children() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        let probe = Probe::default();
        let task = group.spawn(probe.yielding(100));
        let mut join = Box::pin(group.join());
        poll_fn(|cx| {
            assert!(join.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        drop(join);
        assert_task_cancelled(task).await;
        probe.assert_cancelled();
    });
}

#[test]
fn cancelling_one_child_is_not_a_failure() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        let cancelled = group.spawn(std::future::pending::<Result<(), String>>());
        let other = group.spawn(async {
            yield_now().await;
            Ok(2)
        });
        assert!(cancelled.cancel());
        assert_eq!(group.join().await, Ok(()));
        assert_task_cancelled(cancelled).await;
        assert_eq!(other.await.unwrap(), 2);
    });
}

#[test]
fn spawning_outside_a_runtime_panics_and_leaves_no_child_behind() {
    let group = TaskGroup::<String>::new();
    let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        group.spawn(async { Ok(()) }).detach();
    }));
    let message = panic_message(spawned.expect_err("no runtime"));
    assert!(message.contains("inside a corio runtime"), "{message}");
    let waker = Waker::from(Arc::new(NoopWake));
    let join = pin!(group.join());
    assert_eq!(
        join.poll(&mut Context::from_waker(&waker)),
        Poll::Ready(Ok(()))
    );
}

/// gh-116720: an inner group must not swallow the cancellation of the outer
/// group's child that holds it.
#[test]
fn gh_116720_a_nested_group_does_not_swallow_the_parents_cancellation() {
    on_virtual_time(async {
        let start = Instant::now();
        let outer = TaskGroup::<String>::new();
        let inner_probes = [Probe::default(), Probe::default(), Probe::default()];
        let inner_tasks = Rc::new(RefCell::new(Vec::new()));
        let holder_resumed = Rc::new(Cell::new(false));
        let holder = {
            let inner_probes = inner_probes.clone();
            let inner_tasks = inner_tasks.clone();
            let holder_resumed = holder_resumed.clone();
            outer.spawn_local(async move {
                let inner = TaskGroup::<String>::new();
                for probe in &inner_probes {
                    let task = inner.spawn(probe.sleeping(Duration::from_secs(3600)));
                    inner_tasks.borrow_mut().push(task);
                }
                let result = inner.join().await;
                holder_resumed.set(true);
                result
            })
        };
        outer
            .spawn(async {
                sleep(Duration::from_millis(1)).await;
                Err::<(), _>("outer".to_string())
            })
            .detach();
        assert_eq!(outer.join().await, Err("outer".to_string()));
        assert!(start.elapsed() < Duration::from_secs(1), "join was prompt");
        assert!(!holder_resumed.get());
        assert_task_cancelled(holder).await;
        let inner_tasks = std::mem::take(&mut *inner_tasks.borrow_mut());
        assert_eq!(inner_tasks.len(), 3);
        for task in inner_tasks {
            assert_task_cancelled(task).await;
        }
        for probe in &inner_probes {
            probe.assert_cancelled();
        }
    });
}

/// gh-133747: a timeout around a group whose child fails first reports the
/// child's error, not a timeout.
#[test]
fn gh_133747_a_timeout_around_a_failing_group_reports_the_childs_error() {
    on_virtual_time(async {
        let group = TaskGroup::<String>::new();
        let probe = Probe::default();
        let sibling = group.spawn(probe.sleeping(Duration::from_secs(3600)));
        group
            .spawn(async {
                sleep(Duration::from_millis(10)).await;
                Err::<(), _>("child".to_string())
            })
            .detach();
        let outcome = timeout(Duration::from_secs(1), group.join()).await;
        assert_eq!(outcome, Ok(Err("child".to_string())));
        assert_task_cancelled(sibling).await;
        probe.assert_cancelled();
    });
}

/// gh-133747: when the deadline comes first, the timeout reports it and
/// every child is cancelled.
#[test]
fn gh_133747_a_deadline_before_any_failure_times_out_and_cancels_every_child() {
    on_virtual_time(async {
        let group = TaskGroup::<String>::new();
        let probes = [Probe::default(), Probe::default()];
        let tasks: Vec<Task<()>> = probes
            .iter()
            .map(|probe| group.spawn(probe.sleeping(Duration::from_secs(3600))))
            .collect();
        let failing_late = group.spawn(async {
            sleep(Duration::from_secs(60)).await;
            Err::<(), _>("too late".to_string())
        });
        let outcome = timeout(Duration::from_millis(10), group.join()).await;
        assert_eq!(outcome, Err(TimeoutError));
        for task in tasks {
            assert_task_cancelled(task).await;
        }
        assert_task_cancelled(failing_late).await;
        for probe in &probes {
            probe.assert_cancelled();
        }
    });
}

#[test]
fn the_group_its_handle_and_its_join_future_are_send() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}
    let group = TaskGroup::<std::io::Error>::new();
    assert_send_sync(&group);
    assert_send_sync(&group.handle());
    let join = group.join();
    assert_send(&join);
}

#[test]
fn debug_output_names_the_phase_and_the_live_children() {
    on_each_loop(|| async {
        let group = TaskGroup::<String>::new();
        let task = group.spawn(std::future::pending::<Result<(), String>>());
        assert_eq!(
            format!("{group:?}"),
            r#"TaskGroup { phase: "open", live: 1 }"#
        );
        drop(group);
        assert_task_cancelled(task).await;
    });
}
