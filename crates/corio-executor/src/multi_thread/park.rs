//! How one worker sleeps and is woken: a parker with a sticky token, that
//! blocks either on its own condition variable or, for the one worker that
//! holds it, in the runtime's shared driver (the IO reactor).
//!
//! # Protocol
//!
//! `state` is one of `EMPTY`, `PARKED_CONDVAR`, `PARKED_DRIVER`, `NOTIFIED`
//! (every access `SeqCst`).
//!
//! - **unpark** swaps in `NOTIFIED` and acts on what it replaced: nothing for
//!   `EMPTY` or `NOTIFIED` (the token waits for the next park); for
//!   `PARKED_CONDVAR` it takes and releases the mutex (so the sleeper is
//!   either not yet waiting, and will see the token, or waiting, and gets the
//!   notification) and notifies the condition variable; for `PARKED_DRIVER`
//!   it unparks the driver, whose own token is sticky too.
//! - **park** consumes a `NOTIFIED` token at once. Otherwise it moves
//!   `EMPTY` to `PARKED_*` with a compare-exchange (failing only because a
//!   token arrived, which it then consumes), blocks, and on return swaps
//!   `EMPTY` back in, consuming any token that came meanwhile. In the
//!   condition-variable case the move happens under the mutex, and the wait
//!   loops until it consumes a token or its timeout passes.
//!
//! A token left in the driver by an unpark that raced with the holder's
//! return makes some later `park` of the driver return early: a spurious
//! wake-up, which workers tolerate (they look at their queues again).

use std::time::Duration;

use corio_core::{Driver, Unpark};

use std::sync::Arc;

use super::sync::{AtomicUsize, Condvar, Mutex, Ordering};

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// One thread's parker (see the module documentation).
pub(crate) struct Parker {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
    /// Wakes the shared driver when this thread sleeps in it.
    driver: Option<Arc<dyn Unpark>>,
}

impl Parker {
    /// A parker whose thread may sleep in a driver with unparker `driver`.
    pub(crate) fn new(driver: Option<Arc<dyn Unpark>>) -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            mutex: Mutex::new(()),
            condvar: Condvar::new(),
            driver,
        }
    }

    /// Makes the current or the next `park` return.
    pub(crate) fn unpark(&self) {
        match self.state.swap(NOTIFIED, Ordering::SeqCst) {
            PARKED_CONDVAR => {
                drop(self.mutex.lock().unwrap_or_else(|p| p.into_inner()));
                self.condvar.notify_one();
            }
            PARKED_DRIVER => {
                if let Some(driver) = &self.driver {
                    driver.unpark();
                }
            }
            _ => {}
        }
    }

    /// Consumes a pending token; returns `true` if there was one.
    fn take_token(&self) -> bool {
        self.state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Moves `EMPTY` to `parked`; `false` (with the token consumed) when a
    /// token arrived first.
    fn announce(&self, parked: usize) -> bool {
        match self
            .state
            .compare_exchange(EMPTY, parked, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(_) => {
                self.state.swap(EMPTY, Ordering::SeqCst);
                false
            }
        }
    }

    /// Sleeps in `driver` until unparked, an event, or `timeout`.
    pub(crate) fn park_in_driver(&self, driver: &mut dyn Driver, timeout: Option<Duration>) {
        if self.take_token() || !self.announce(PARKED_DRIVER) {
            return;
        }
        if let Err(error) = driver.park(timeout) {
            eprintln!("corio: a worker's driver failed to park: {error}");
            std::thread::sleep(Duration::from_millis(1));
        }
        self.state.swap(EMPTY, Ordering::SeqCst);
    }

    /// Sleeps on the condition variable until unparked or `timeout`.
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        if self.take_token() {
            return;
        }
        let mut guard = self.mutex.lock().unwrap_or_else(|p| p.into_inner());
        if !self.announce(PARKED_CONDVAR) {
            return;
        }
        let deadline = timeout.and_then(|timeout| std::time::Instant::now().checked_add(timeout));
        loop {
            guard = match deadline {
                None => self.condvar.wait(guard).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        break;
                    }
                    wait_timeout(&self.condvar, guard, deadline - now)
                }
            };
            if self.take_token() {
                return;
            }
        }
        drop(guard);
        // Timed out: leave `PARKED_CONDVAR`, consuming a token that raced.
        self.state.swap(EMPTY, Ordering::SeqCst);
    }
}

#[cfg(not(loom))]
fn wait_timeout<'a>(
    condvar: &Condvar,
    guard: super::sync::MutexGuard<'a, ()>,
    timeout: Duration,
) -> super::sync::MutexGuard<'a, ()> {
    condvar
        .wait_timeout(guard, timeout)
        .unwrap_or_else(|p| p.into_inner())
        .0
}

/// Loom has no timed waits; the models never park with a timeout.
#[cfg(loom)]
fn wait_timeout<'a>(
    _condvar: &Condvar,
    _guard: super::sync::MutexGuard<'a, ()>,
    _timeout: Duration,
) -> super::sync::MutexGuard<'a, ()> {
    unreachable!("the loom models park without a timeout")
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Parker;
    use std::time::{Duration, Instant};

    #[test]
    fn an_unpark_before_park_is_kept() {
        let parker = Parker::new(None);
        parker.unpark();
        parker.park(None);
    }

    #[test]
    fn park_with_a_timeout_returns_after_it() {
        let parker = Parker::new(None);
        let start = Instant::now();
        parker.park(Some(Duration::from_millis(5)));
        assert!(start.elapsed() >= Duration::from_millis(5));
    }

    #[test]
    fn an_unpark_from_another_thread_wakes_the_parked_thread() {
        let parker = std::sync::Arc::new(Parker::new(None));
        let waker = parker.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            waker.unpark();
        });
        parker.park(None);
        thread.join().unwrap();
    }
}

/// Loom model of the idle protocol (`idle.rs`) with these parkers: a task
/// pushed onto the injection queue while the last worker parks is never
/// lost. A lost wake-up leaves a worker parked forever with the task queued,
/// which loom reports as a deadlock.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::super::idle::Idle;
    use super::super::sync::{fence, Arc, Mutex, Ordering};
    use super::Parker;
    use std::collections::VecDeque;

    struct Model {
        injector: Mutex<VecDeque<u32>>,
        idle: Idle,
        parkers: Vec<Parker>,
    }

    impl Model {
        fn new(workers: usize) -> Model {
            Model {
                injector: Mutex::new(VecDeque::new()),
                idle: Idle::new(workers),
                parkers: (0..workers).map(|_| Parker::new(None)).collect(),
            }
        }

        fn pop(&self) -> Option<u32> {
            self.injector.lock().unwrap().pop_front()
        }

        /// What a spawn from outside does: push, notify.
        fn push(&self, task: u32) {
            self.injector.lock().unwrap().push_back(task);
            self.notify();
        }

        fn notify(&self) {
            if let Some(worker) = self.idle.worker_to_notify() {
                self.parkers[worker].unpark();
            }
        }

        /// A worker's loop, as `worker.rs` runs it, until it has run one
        /// task.
        fn worker(&self, index: usize) -> u32 {
            let mut searching = false;
            loop {
                if !searching {
                    searching = self.idle.try_start_searching();
                }
                if let Some(task) = self.pop() {
                    if searching && self.idle.stop_searching() {
                        self.notify();
                    }
                    return task;
                }
                if self.idle.park(index, searching) {
                    fence(Ordering::SeqCst);
                    if !self.injector.lock().unwrap().is_empty() {
                        self.notify();
                    }
                }
                self.parkers[index].park(None);
                searching = self.idle.unpark(index);
            }
        }
    }

    #[test]
    fn loom_a_push_while_the_last_worker_parks_is_not_lost() {
        loom::model(|| {
            let model = Arc::new(Model::new(1));
            let pusher = {
                let model = model.clone();
                loom::thread::spawn(move || model.push(7))
            };
            assert_eq!(model.worker(0), 7);
            pusher.join().unwrap();
        });
    }

    #[test]
    fn loom_two_workers_two_pushes_both_run() {
        loom::model(|| {
            let model = Arc::new(Model::new(2));
            let other = {
                let model = model.clone();
                loom::thread::spawn(move || model.worker(1))
            };
            model.push(1);
            model.push(2);
            let mine = model.worker(0);
            let theirs = other.join().unwrap();
            let mut got = [mine, theirs];
            got.sort_unstable();
            assert_eq!(got, [1, 2]);
        });
    }
}
