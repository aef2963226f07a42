//! `wait` and `wait_timeout` on corio's loop with a virtual clock: each
//! `ReturnWhen`, panics as exceptions, the split at the deadline, and pending
//! tasks that are not cancelled.

use std::time::Duration;

use corio::time::Instant;
use corio::{ReturnWhen, Task};

/// A task that sleeps `seconds`, then returns them (or panics, if `panics`).
fn sleeper(seconds: u64, outcome: Outcome) -> Task<u64> {
    corio::spawn(async move {
        corio::sleep(Duration::from_secs(seconds)).await;
        assert!(
            outcome == Outcome::Returns,
            "the task of {seconds} s panics"
        );
        seconds
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    Returns,
    Panics,
}

fn sleepers(seconds: &[u64]) -> Vec<Task<u64>> {
    seconds
        .iter()
        .map(|&seconds| sleeper(seconds, Outcome::Returns))
        .collect()
}

/// What each done task gives when awaited (at once: it is done), after
/// checking that no pending task has finished.
async fn outcomes(done: Vec<Task<u64>>, pending: &[Task<u64>]) -> Vec<Result<u64, String>> {
    assert!(pending.iter().all(|task| !task.is_done()));
    let mut outcomes = Vec::new();
    for task in done {
        assert!(task.is_done(), "a task in `done` has finished");
        outcomes.push(task.await.map_err(|error| error.to_string()));
    }
    outcomes
}

/// Awaits the pending tasks: they were not cancelled, and finish later.
async fn finish(pending: Vec<Task<u64>>) -> Vec<u64> {
    let mut outputs = Vec::new();
    for task in pending {
        outputs.push(task.await.expect("a pending task was not cancelled"));
    }
    outputs
}

fn seconds_since(start: Instant) -> u64 {
    Instant::now().duration_since(start).as_secs()
}

#[corio::test(virtual_time)]
async fn first_completed_returns_the_first_task_to_finish_and_cancels_nothing() {
    let start = Instant::now();
    let (done, pending) = corio::wait(sleepers(&[3, 1, 2]), ReturnWhen::FirstCompleted).await;
    assert_eq!(seconds_since(start), 1);
    assert_eq!(outcomes(done, &pending).await, [Ok(1)]);
    assert_eq!(
        finish(pending).await,
        [3, 2],
        "pending keeps the order given"
    );
    assert_eq!(seconds_since(start), 3);
}

#[corio::test(virtual_time)]
async fn first_exception_returns_when_a_task_panics() {
    let start = Instant::now();
    let tasks = vec![
        sleeper(1, Outcome::Returns),
        sleeper(2, Outcome::Panics),
        sleeper(3, Outcome::Returns),
    ];
    let (done, pending) = corio::wait(tasks, ReturnWhen::FirstException).await;
    assert_eq!(seconds_since(start), 2);
    assert!(done[1].is_panicked() && !done[0].is_panicked());
    assert_eq!(
        outcomes(done, &pending).await,
        [
            Ok(1),
            Err("task panicked: the task of 2 s panics".to_string())
        ]
    );
    assert_eq!(finish(pending).await, [3]);
}

#[corio::test(virtual_time)]
async fn first_exception_without_a_panic_waits_for_all_and_a_cancel_is_no_exception() {
    let start = Instant::now();
    let tasks = sleepers(&[2, 1, 3]);
    tasks[2].cancel();
    let (done, pending) = corio::wait(tasks, ReturnWhen::FirstException).await;
    assert_eq!(seconds_since(start), 2);
    assert!(pending.is_empty());
    assert_eq!(
        outcomes(done, &pending).await,
        [Err("task was cancelled".to_string()), Ok(1), Ok(2)],
        "done is in the order the tasks finished"
    );
}

#[corio::test(virtual_time)]
async fn all_completed_returns_every_task_in_the_order_they_finished() {
    let start = Instant::now();
    let (done, pending) = corio::wait(sleepers(&[3, 1, 2]), ReturnWhen::AllCompleted).await;
    assert_eq!(seconds_since(start), 3);
    assert!(pending.is_empty());
    assert_eq!(outcomes(done, &pending).await, [Ok(1), Ok(2), Ok(3)]);
}

#[corio::test(virtual_time)]
async fn wait_timeout_returns_at_the_deadline_with_what_finished_so_far() {
    let start = Instant::now();
    let tasks = sleepers(&[10, 1, 5, 2]);
    let (done, pending) =
        corio::wait_timeout(tasks, ReturnWhen::AllCompleted, Duration::from_secs(3)).await;
    assert_eq!(seconds_since(start), 3);
    assert_eq!(outcomes(done, &pending).await, [Ok(1), Ok(2)]);
    assert_eq!(finish(pending).await, [10, 5], "the pending tasks ran on");
    assert_eq!(seconds_since(start), 10);
}

#[corio::test(virtual_time)]
async fn wait_timeout_returns_before_the_deadline_when_the_condition_is_met() {
    let start = Instant::now();
    let tasks = sleepers(&[4, 1]);
    let (done, pending) =
        corio::wait_timeout(tasks, ReturnWhen::FirstCompleted, Duration::from_secs(3)).await;
    assert_eq!(seconds_since(start), 1);
    assert_eq!(outcomes(done, &pending).await, [Ok(1)]);
    assert_eq!(finish(pending).await, [4]);
}

#[corio::test]
async fn wait_on_no_tasks_returns_at_once() {
    for when in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstException,
        ReturnWhen::AllCompleted,
    ] {
        let (done, pending) = corio::wait(Vec::<Task<()>>::new(), when).await;
        assert!(done.is_empty() && pending.is_empty());
    }
}
