//! `corio::TaskGroup` through the facade: children spawned from inside
//! children, and a timeout around `join`.

use std::time::Duration;

use corio::time::{sleep, timeout, TimeoutError};
use corio::{TaskGroup, TaskGroupHandle};

/// A child that spawns `depth` generations of descendants into the group
/// through its handle, each returning its own depth. Not an `async fn`: a
/// recursive one cannot prove itself `Send`, and the written bound can.
#[allow(clippy::manual_async_fn)]
fn descend(
    handle: TaskGroupHandle<String>,
    depth: u32,
) -> impl std::future::Future<Output = Result<u32, String>> + Send {
    async move {
        if depth > 0 {
            let next = handle.clone();
            handle.spawn(descend(next, depth - 1)).detach();
        }
        corio::yield_now().await;
        Ok(depth)
    }
}

#[corio::test]
async fn children_spawned_by_children_are_joined() {
    let group = TaskGroup::<String>::new();
    let root = group.spawn(descend(group.handle(), 5));
    assert_eq!(group.join().await, Ok(()));
    assert_eq!(root.await.unwrap(), 5);
}

#[corio::test(virtual_time)]
async fn a_timeout_around_join_cancels_every_child() {
    let group = TaskGroup::<String>::new();
    let sleepers: Vec<_> = (0..3)
        .map(|_| {
            group.spawn(async {
                sleep(Duration::from_secs(3600)).await;
                Ok(())
            })
        })
        .collect();
    let outcome = timeout(Duration::from_secs(1), group.join()).await;
    assert_eq!(outcome, Err(TimeoutError));
    for sleeper in sleepers {
        assert!(sleeper.await.unwrap_err().is_cancelled());
    }
}

#[corio::test(virtual_time)]
async fn a_timeout_around_a_failing_group_gives_the_childs_error() {
    let group = TaskGroup::<String>::new();
    group
        .spawn(async {
            sleep(Duration::from_millis(5)).await;
            Err::<(), _>("refused".to_string())
        })
        .detach();
    let outcome = timeout(Duration::from_secs(1), group.join()).await;
    assert_eq!(outcome, Ok(Err("refused".to_string())));
}
