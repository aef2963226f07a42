//! Callbacks: `call_soon`, `call_later`, `call_at` and the handle that
//! cancels them.
//!
//! A `call_soon` callback is an entry of the ready queue (boxed, so that an
//! entry stays two words); one from another thread goes through the
//! hand-off (`LoopHandle::call_soon_threadsafe`). `call_later` and `call_at`
//! are small internal tasks that sleep on the timer wheel and then run the
//! callback: they get the wheel's (deadline, registration) order for free,
//! and `all_tasks` does not list them.

use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corio_core::{TaskError, TaskMeta, TaskRef};
use corio_timer::Instant;

use super::{EventLoop, Local, Ready};
use crate::debug::Debug;
use crate::task_map::Visibility;

/// A scheduled callback, returned by `call_soon`, `call_later` and `call_at`.
///
/// # Examples
///
/// ```
/// use corio_executor::EventLoop;
/// use std::time::Duration;
///
/// let mut event_loop = EventLoop::new().unwrap();
/// let handle = event_loop.call_later(Duration::from_secs(3600), || panic!("never runs"));
/// assert!(handle.cancel());
/// event_loop.run_until_complete(async {});
/// ```
#[derive(Clone, Debug)]
pub struct CallbackHandle {
    pub(super) cancelled: Arc<AtomicBool>,
    task: Option<TaskRef>,
}

/// A `call_soon` callback in the ready queue.
pub(super) struct Callback {
    pub(super) cancelled: Arc<AtomicBool>,
    /// Where it was scheduled, for debug mode's slow-callback report.
    pub(super) site: &'static Location<'static>,
    pub(super) f: Box<dyn FnOnce()>,
}

impl CallbackHandle {
    /// A handle of a callback that is not a task (`call_soon`).
    pub(super) fn new() -> CallbackHandle {
        CallbackHandle {
            cancelled: Arc::new(AtomicBool::new(false)),
            task: None,
        }
    }

    /// Cancels the callback. Returns `false` when it was already cancelled.
    ///
    /// A callback that has already run is not affected.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.call_soon(|| panic!("cancelled before it runs"));
    /// assert!(handle.cancel());
    /// assert!(!handle.cancel());
    /// event_loop.run_until_complete(async {});
    /// ```
    pub fn cancel(&self) -> bool {
        let first = !self.cancelled.swap(true, Ordering::AcqRel);
        if let Some(task) = &self.task {
            task.cancel();
        }
        first
    }

    /// Returns `true` once [`CallbackHandle::cancel`] has been called.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.call_soon(|| {});
    /// assert!(!handle.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

impl Callback {
    /// Runs the callback unless it was cancelled (timed in debug mode).
    pub(super) fn run(self, debug: Option<&Debug>) {
        if !self.cancelled.load(Ordering::Acquire) {
            run_callback(self.f, self.site, debug);
        }
    }
}

/// Runs `callback` (scheduled at `site`), timed in debug mode.
fn run_callback(
    callback: Box<dyn FnOnce()>,
    site: &'static Location<'static>,
    debug: Option<&Debug>,
) {
    match debug {
        None => run_caught(callback),
        Some(debug) => debug.run_callback(site, || run_caught(callback)),
    }
}

/// Runs `callback`, reporting a panic on standard error instead of letting
/// it unwind into the loop (asyncio's "exception in callback").
fn run_caught(callback: Box<dyn FnOnce()>) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(callback)) {
        let error = TaskError::Panicked(payload);
        eprintln!(
            "corio: exception in callback: {}",
            error
                .panic_message()
                .unwrap_or("<non-string panic payload>")
        );
    }
}

impl Local {
    /// `call_soon` of a callback scheduled at `site`.
    pub(crate) fn call_soon(
        &self,
        site: &'static Location<'static>,
        callback: impl FnOnce() + 'static,
    ) -> CallbackHandle {
        let handle = CallbackHandle::new();
        self.ready
            .borrow_mut()
            .push_back(Ready::Callback(Box::new(Callback {
                cancelled: handle.cancelled.clone(),
                site,
                f: Box::new(callback),
            })));
        handle
    }
}

impl EventLoop {
    /// Schedules `callback` to run in a later loop iteration, after what is
    /// already ready (asyncio's `call_soon`).
    ///
    /// A panic in the callback is reported on standard error; the loop goes
    /// on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let ran = Rc::new(Cell::new(false));
    /// let flag = ran.clone();
    /// event_loop.call_soon(move || flag.set(true));
    /// event_loop.run_until_complete(corio_executor::yield_now());
    /// assert!(ran.get());
    /// ```
    #[track_caller]
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) -> CallbackHandle {
        self.local.call_soon(Location::caller(), callback)
    }

    /// Schedules `callback` to run once `delay` has passed (asyncio's
    /// `call_later`). Callbacks due at the same time run in the order they
    /// were scheduled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// event_loop.call_later(Duration::from_millis(5), move || handle.stop());
    /// event_loop.run_forever();
    /// ```
    #[track_caller]
    pub fn call_later(&self, delay: Duration, callback: impl FnOnce() + 'static) -> CallbackHandle {
        let when = self.time() + delay;
        self.call_at(when, callback)
    }

    /// Schedules `callback` to run at `when` on the loop's clock (asyncio's
    /// `call_at`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// let when = event_loop.time() + Duration::from_millis(2);
    /// event_loop.call_at(when, move || handle.stop());
    /// event_loop.run_forever();
    /// ```
    #[track_caller]
    pub fn call_at(&self, when: Instant, callback: impl FnOnce() + 'static) -> CallbackHandle {
        let cancelled = Arc::new(AtomicBool::new(false));
        let flag = cancelled.clone();
        let site = Location::caller();
        let debug = self.local.shared.debug.clone();
        let future = async move {
            corio_timer::sleep_until(when).await;
            if !flag.load(Ordering::Acquire) {
                run_callback(Box::new(callback), site, debug.as_deref());
            }
        };
        let meta = TaskMeta::new(site).with_name("call_at");
        let (task, key) = self
            .local
            .spawn_on_thread(future, meta, Visibility::Internal);
        let task_ref = self.local.tasks.borrow().get(key).cloned();
        task.detach();
        CallbackHandle {
            cancelled,
            task: task_ref,
        }
    }
}
