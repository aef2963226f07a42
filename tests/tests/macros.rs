//! `#[corio::main]` and `#[corio::test]`.

use std::time::Duration;

#[corio::test]
async fn corio_test_runs_the_body_on_a_loop() {
    let task = corio::spawn(async { 21 * 2 });
    assert_eq!(task.await.unwrap(), 42);
    assert!(corio::current_task().is_none());
}

#[corio::test(virtual_time)]
async fn virtual_time_makes_a_day_of_sleep_instant() {
    let wall = std::time::Instant::now();
    let start = corio::time::Instant::now();
    corio::sleep(Duration::from_secs(86_400)).await;
    assert!(start.elapsed() >= Duration::from_secs(86_400));
    assert!(wall.elapsed() < Duration::from_secs(60));
}

#[corio::test]
async fn corio_test_can_return_a_result() -> Result<(), String> {
    corio::yield_now().await;
    Ok(())
}

mod with_main {
    #[corio::main]
    pub async fn main() -> u32 {
        corio::spawn(async { 7 }).await.unwrap()
    }
}

#[test]
fn corio_main_runs_an_async_main_to_completion() {
    assert_eq!(with_main::main(), 7);
}
