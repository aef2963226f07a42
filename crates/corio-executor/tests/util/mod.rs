//! Shared helpers of the event loop's tests: every test runs on each driver.

#![allow(dead_code)]

use corio_executor::EventLoop;

/// Makes a fresh event loop.
pub type MakeLoop = fn() -> EventLoop;

/// The drivers the loop's behaviour is checked on.
pub fn drivers() -> Vec<(&'static str, MakeLoop)> {
    vec![
        ("park", || {
            EventLoop::with_driver(corio_core::ParkDriver::new())
        }),
        ("default", || {
            EventLoop::new().expect("create the default event loop")
        }),
    ]
}

/// Runs `test` once on a fresh loop of each driver.
pub fn on_each_driver(test: impl Fn(&mut EventLoop)) {
    for (name, make) in drivers() {
        let mut event_loop = make();
        eprintln!("-- driver: {name}");
        test(&mut event_loop);
    }
}

/// A shared, ordered log of events.
#[derive(Clone, Default)]
pub struct Log(std::rc::Rc<std::cell::RefCell<Vec<String>>>);

impl Log {
    pub fn push(&self, entry: impl Into<String>) {
        self.0.borrow_mut().push(entry.into());
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}
