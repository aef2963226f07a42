//! The seed article's low-level form: create a loop, create a task on it, and
//! run the loop until the task is complete.

use std::time::Duration;

async fn example_coroutine_function() -> u32 {
    corio::sleep(Duration::from_millis(5)).await;
    42
}

fn main() -> std::io::Result<()> {
    let mut event_loop = corio::EventLoop::new()?;
    let task = event_loop.spawn_local(example_coroutine_function());
    let result = event_loop
        .run_until_complete(task)
        .expect("the task completes");
    println!("run_until_complete returned {result}");
    assert_eq!(result, 42);
    Ok(())
}
