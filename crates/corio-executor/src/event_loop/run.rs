//! The run loop: `run_until_complete`, `run_forever`, and one iteration
//! (asyncio's `_run_once`).
//!
//! An iteration first takes what other threads handed over, then does the
//! loop's maintenance when nothing is ready (blocking in the driver) or when
//! [`EVENT_INTERVAL`](super::EVENT_INTERVAL) polls have passed since the last
//! one, then runs the entries that were ready at its start, once each and in
//! order: what they wake or spawn runs in the next iteration. The future of
//! `run_until_complete` is polled inline (it need not be `'static`), as a
//! `Ready::Main` marker in the ready queue, so FIFO order holds for it too.

use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use corio_core::{coop, Runnable};

use super::handoff::{Remote, Shared};
use super::maintenance::Pace;
use super::{Current, EventLoop, Local, Ready};
use crate::info::MainTask;

/// Whether a run of the loop ends at a [`LoopHandle::stop`](super::LoopHandle::stop).
#[derive(Clone, Copy)]
pub(super) enum Stop {
    /// `run_forever`: a stop ends the run after the current iteration.
    Honour,
    /// `run_until_complete`: a stop waits for the next `run_forever`, as in
    /// asyncio, which then runs one iteration and returns.
    Defer,
}

/// The waker of the future passed to `run_until_complete`: waking it queues
/// one `Ready::Main` marker.
pub(super) struct MainWake {
    shared: Arc<Shared>,
    queued: AtomicBool,
    /// The main future as `all_tasks` lists it (in the same allocation, so
    /// that a `run_until_complete` allocates once).
    pub(super) task: MainTask,
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let queued = self.shared.on_this_loop(self.clone(), |local, main| {
            local.ready.borrow_mut().push_back(Ready::Main(main))
        });
        if let Err(main) = queued {
            self.shared.push_remote(Remote::Main(main));
        }
    }
}

/// Forgets the main task when `run_until_complete` returns or unwinds.
struct MainGuard<'a> {
    local: &'a Local,
}

impl Drop for MainGuard<'_> {
    fn drop(&mut self) {
        self.local.main.borrow_mut().take();
    }
}

impl EventLoop {
    /// Runs the loop until `future` completes and returns its output.
    ///
    /// Tasks that are still pending stay on the loop and go on in the next
    /// call to `run_until_complete` or `run_forever`.
    ///
    /// # Panics
    ///
    /// Panics when a loop is already running on this thread, and resumes the
    /// panic of `future` if it panics.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let answer = event_loop.run_until_complete(async { 42 });
    /// assert_eq!(answer, 42);
    /// ```
    #[track_caller]
    pub fn run_until_complete<F: Future>(&mut self, future: F) -> F::Output {
        let _running = self.local.enter_running();
        let mut future = pin!(future);
        let main = Arc::new(MainWake {
            shared: self.local.shared.clone(),
            queued: AtomicBool::new(true),
            task: MainTask::new(Location::caller()),
        });
        let _main = self.local.set_main(main.clone());
        let waker = Waker::from(main.clone());
        self.local
            .ready
            .borrow_mut()
            .push_back(Ready::Main(main.clone()));
        let mut output = None;
        let local = &self.local;
        local.run(Some(&main), &mut || {
            let mut cx = Context::from_waker(&waker);
            let previous = local.current.replace(Current::Main);
            let poll = || coop::with_budget(|| future.as_mut().poll(&mut cx));
            let polled = main.task.poll(local.debug(), poll);
            local.current.set(previous);
            match polled {
                Poll::Ready(value) => {
                    output = Some(value);
                    true
                }
                Poll::Pending => false,
            }
        });
        output.expect("the loop returns only once the main future is complete")
    }

    /// Runs the loop until [`LoopHandle::stop`](super::LoopHandle::stop) is
    /// called.
    ///
    /// The loop finishes the iteration in which `stop` was called, then
    /// returns; it can be run again afterwards.
    ///
    /// # Panics
    ///
    /// Panics when a loop is already running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// event_loop.call_soon(move || handle.stop());
    /// event_loop.run_forever();
    /// ```
    pub fn run_forever(&mut self) {
        let _running = self.local.enter_running();
        self.local.run(None, &mut || false);
    }
}

impl Local {
    /// Lists `main` as the loop's main task until the guard drops.
    fn set_main(&self, main: Arc<MainWake>) -> MainGuard<'_> {
        *self.main.borrow_mut() = Some(main);
        MainGuard { local: self }
    }

    /// The loop proper. `poll_main` polls the main future and returns `true`
    /// once it is complete; `main` identifies its live wake marker, and
    /// without one the run ends at a stop instead.
    fn run(&self, main: Option<&Arc<MainWake>>, poll_main: &mut dyn FnMut() -> bool) {
        let stop = match main {
            None => Stop::Honour,
            Some(_) => Stop::Defer,
        };
        loop {
            self.drain_remote();
            if self.ready.borrow().is_empty() {
                self.maintain(Pace::Idle, stop);
            } else if self.polls_since_maintenance.get() >= super::EVENT_INTERVAL {
                self.maintain(Pace::Busy, stop);
            }
            let batch = self.ready.borrow().len();
            for _ in 0..batch {
                let Some(entry) = self.ready.borrow_mut().pop_front() else {
                    break;
                };
                self.polls_since_maintenance
                    .set(self.polls_since_maintenance.get() + 1);
                match entry {
                    Ready::Task(runnable) => self.run_task(runnable),
                    Ready::Callback(callback) => callback.run(self.debug()),
                    Ready::Main(marker) => {
                        let is_current = main.is_some_and(|main| Arc::ptr_eq(main, &marker));
                        if is_current {
                            marker.queued.store(false, Ordering::Release);
                            if poll_main() {
                                return;
                            }
                        }
                    }
                }
            }
            if matches!(stop, Stop::Honour) && self.shared.stopping.swap(false, Ordering::AcqRel) {
                return;
            }
        }
    }

    /// Polls a task once within a coop budget, as the current task, and
    /// forgets it once it has finished.
    pub(super) fn run_task(&self, runnable: Runnable) {
        let tag = runnable.tag();
        let key = crate::task_map::key_of(tag);
        let previous = self.current.replace(Current::Task(key));
        let finished = match self.debug() {
            None => coop::with_budget(|| runnable.run()),
            // A `call_at` task times its callback itself.
            Some(_) if crate::task_map::is_internal(tag) => coop::with_budget(|| runnable.run()),
            Some(debug) => debug.run_task(runnable),
        };
        self.current.set(previous);
        if finished {
            self.tasks.borrow_mut().remove(key);
        }
    }
}
