//! `#[corio::main]` and `#[corio::test]`.

use std::time::Duration;

#[corio::test]
async fn corio_test_runs_the_body_on_a_loop() {
    let task = corio::spawn(async { 21 * 2 });
    assert_eq!(task.await.unwrap(), 42);
    let main = corio::current_task().expect("the body is the main task");
    assert_eq!(main.name(), Some("main"));
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

#[corio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corio_test_runs_on_a_multi_thread_runtime() {
    let name = corio::spawn(async { std::thread::current().name().map(String::from) })
        .await
        .unwrap();
    assert!(name.unwrap().starts_with("corio-worker-"));
    corio::sleep(Duration::from_millis(1)).await;
}

mod with_multi_thread_main {
    #[corio::main(flavor = "multi_thread", worker_threads = 3)]
    pub async fn main() -> bool {
        let on_worker = corio::spawn(async {
            std::thread::current()
                .name()
                .is_some_and(|name| name.starts_with("corio-worker-"))
        });
        on_worker.await.unwrap()
    }
}

#[test]
fn corio_main_runs_on_a_multi_thread_runtime() {
    assert!(with_multi_thread_main::main());
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

/// The line just above `#[corio::test]` of `spans_inside_a_test_body_are_the_bodys_own`.
/// Lines inside the body are checked against this anchor, outside the macro:
/// `line!()` alone would agree with a location the macro had moved, since the
/// old expansion moved both to the attribute's line.
const TEST_ANCHOR: u32 = line!();
#[corio::test]
async fn spans_inside_a_test_body_are_the_bodys_own() {
    let task = corio::spawn(async { corio::current_task().expect("inside a task") });
    let _pending = corio::spawn(std::future::pending::<()>());
    let info = task.await.unwrap();
    assert_eq!(info.location().file(), file!());
    assert_eq!(info.location().line(), TEST_ANCHOR + 3, "{info}");
    let pending = corio::all_tasks(); // the body itself (`main`), then the task
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[1].location().line(), TEST_ANCHOR + 4);
    assert_eq!(line!(), TEST_ANCHOR + 11);
    let panicked_at = panic_line(|| panic!("a panic in the body"));
    assert_eq!(panicked_at, TEST_ANCHOR + 12);
}

/// The line just above `#[corio::main]` in `main_spans`.
const MAIN_ANCHOR: u32 = line!();
mod main_spans {
    #[corio::main]
    pub async fn main() -> (u32, &'static std::panic::Location<'static>) {
        let info = corio::spawn(async { corio::current_task().unwrap() }).await;
        (line!(), info.unwrap().location())
    }
}

#[test]
fn spans_inside_a_main_body_are_the_bodys_own() {
    let (line, location) = main_spans::main();
    assert_eq!(line, MAIN_ANCHOR + 5);
    assert_eq!(location.file(), file!());
    assert_eq!(location.line(), MAIN_ANCHOR + 4);
}

thread_local! {
    /// Set while `panic_line` runs its closure: the hook records the panic's
    /// line here instead of printing it.
    static CAUGHT_PANIC_LINE: std::cell::Cell<Option<Option<u32>>> =
        const { std::cell::Cell::new(None) };
}

/// Runs `body`, which must panic, and returns the line the panic reports.
fn panic_line(body: impl FnOnce()) -> u32 {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match CAUGHT_PANIC_LINE.get() {
            Some(_) => CAUGHT_PANIC_LINE.set(Some(info.location().map(|l| l.line()))),
            None => previous(info),
        }));
    });
    CAUGHT_PANIC_LINE.set(Some(None));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    let line = CAUGHT_PANIC_LINE.take();
    assert!(outcome.is_err(), "the body did not panic");
    line.flatten().expect("the panic has a location")
}

/// Each misuse in `tests/ui` is one `compile_error!` whose caret points at
/// the offending token (the `.stderr` snapshots show it).
#[test]
fn misuses_are_compile_errors_at_the_offending_token() {
    trybuild::TestCases::new().compile_fail("ui/*.rs");
}
