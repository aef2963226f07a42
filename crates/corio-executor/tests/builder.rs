//! One way to configure a loop: `Runtime::builder()`, for a runtime or a bare
//! `EventLoop`, with or without the `io` feature.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corio_core::{Driver, ParkDriver, Unpark};
use corio_executor::{EventLoop, Runtime};

/// A `ParkDriver` that counts its parks.
struct CountingDriver {
    inner: ParkDriver,
    parks: Arc<AtomicUsize>,
}

impl Driver for CountingDriver {
    fn park(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.parks.fetch_add(1, Ordering::Relaxed);
        self.inner.park(timeout)
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.inner.unparker()
    }
}

/// A counting driver and its count.
fn counting_driver() -> (CountingDriver, Arc<AtomicUsize>) {
    let parks = Arc::new(AtomicUsize::new(0));
    let driver = CountingDriver {
        inner: ParkDriver::new(),
        parks: parks.clone(),
    };
    (driver, parks)
}

fn has_io_context(event_loop: &mut EventLoop) -> bool {
    event_loop.run_until_complete(async { corio_core::io_context().is_some() })
}

#[cfg(feature = "io")]
#[test]
fn the_default_driver_is_the_reactor_with_the_io_feature() {
    assert!(has_io_context(&mut EventLoop::new().unwrap()));
    let runtime = Runtime::builder().build().unwrap();
    assert!(runtime.block_on(async { corio_core::io_context().is_some() }));
}

#[cfg(not(feature = "io"))]
#[test]
fn the_default_driver_parks_the_thread_without_the_io_feature() {
    let mut event_loop = EventLoop::new().unwrap();
    assert!(!has_io_context(&mut event_loop));
    // Timers still work on the park driver.
    let start = std::time::Instant::now();
    event_loop.run_until_complete(corio_timer::sleep(Duration::from_millis(5)));
    assert!(start.elapsed() >= Duration::from_millis(5));
}

#[test]
fn a_driver_given_to_the_builder_drives_the_loop() {
    let (driver, parks) = counting_driver();
    let mut event_loop = Runtime::builder()
        .driver(driver)
        .build_event_loop()
        .unwrap();
    assert!(!has_io_context(&mut event_loop));
    event_loop.run_until_complete(corio_timer::sleep(Duration::from_millis(2)));
    assert!(
        parks.load(Ordering::Relaxed) > 0,
        "the loop parked its driver"
    );
}

#[test]
fn a_runtime_runs_on_the_driver_and_clock_it_was_given() {
    let (driver, parks) = counting_driver();
    let runtime = Runtime::builder()
        .current_thread()
        .driver(driver)
        .virtual_time(true)
        .build()
        .unwrap();
    let wall = std::time::Instant::now();
    runtime.block_on(corio_timer::sleep(Duration::from_secs(24 * 3600)));
    assert!(wall.elapsed() < Duration::from_secs(60));
    assert!(parks.load(Ordering::Relaxed) > 0);
}

#[test]
fn virtual_time_false_keeps_the_real_clock() {
    let mut event_loop = Runtime::builder()
        .virtual_time(true)
        .virtual_time(false)
        .build_event_loop()
        .unwrap();
    let wall = std::time::Instant::now();
    event_loop.run_until_complete(corio_timer::sleep(Duration::from_millis(5)));
    assert!(wall.elapsed() >= Duration::from_millis(5));
}

#[test]
fn tasks_run_the_same_in_debug_mode() {
    for builder in [
        Runtime::builder().debug(true),
        Runtime::builder().debug(false),
        Runtime::builder().slow_poll_threshold(Duration::ZERO),
    ] {
        let mut event_loop = builder.build_event_loop().unwrap();
        let polls = Rc::new(Cell::new(0));
        let counter = polls.clone();
        let task = event_loop.spawn_local(async move {
            for _ in 0..3 {
                counter.set(counter.get() + 1);
                corio_executor::yield_now().await;
            }
            "done"
        });
        assert_eq!(event_loop.run_until_complete(task).unwrap(), "done");
        assert_eq!(polls.get(), 3);
    }
}
