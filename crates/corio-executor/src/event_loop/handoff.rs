//! The cross-thread hand-off: how other threads give the loop work, and how
//! the loop goes to sleep without losing any of it.
//!
//! Work from another thread (a spawn through [`LoopHandle::spawn`], a wake of
//! a task, a `call_soon_threadsafe` callback, a wake of the main future) goes
//! into one lock-free injection queue that only the loop's thread pops. Two
//! flags of [`Handoff`] make that cheap on both sides, and two flags of
//! `Shared` carry `stop` and the end of the loop's life.
//!
//! # Protocol
//!
//! **`remote_pending`**: "something was pushed since the loop last looked".
//! A pusher sets it (`Release`) after its push lands; the loop clears it with
//! `swap(false, Acquire)` before it pops. Reading it first with a plain
//! `Relaxed` load lets an iteration with nothing handed over skip the queue,
//! whose empty pop costs a `SeqCst` fence. If the swap reads a pusher's
//! `true`, it synchronizes with that pusher, so its item is visible to the
//! pops that follow; a push whose flag store comes after the swap sets the
//! flag again, and a later look drains it. A stale `false` only delays an
//! item until the next look, never loses it: the idle path below looks again.
//!
//! **`notified`**: "the loop has been (or is being) unparked". A pusher
//! swaps it to `true` (`Release`) after its push; only the pusher that swaps
//! it from `false` calls the driver's `unpark`, so a burst of pushes costs
//! one unpark. The loop resets it only when it is about to park (nothing
//! ready), with `swap(false, Acquire)`, and then pops everything in the
//! queue once more (`Handoff::prepare_to_park`, which also clears
//! `remote_pending`, a mere hint before an unconditional drain) before it
//! parks. Why no push is lost: take a push P and the loop's reset R, both
//! read-modify-writes of `notified`, so they are ordered in its modification
//! order.
//!
//! - P before R: R reads P's `true` or a later read-modify-write's, which
//!   continues P's release sequence, so R synchronizes with P. P's push then
//!   happened before the pops after R, which take P's item before parking.
//! - P after R: P reads R's `false`, and unparks; or it reads the `true` of a
//!   push that came after R, which read `false` and unparks. Unpark is
//!   sticky (the driver contract: an unpark before `park` makes `park`
//!   return at once), so the park that follows R returns, and the loop pops
//!   P's item in a following look.
//!
//! The reset must be a read-modify-write with `Acquire` (a plain store would
//! not synchronize with P), and it must come before the last look (a reset
//! after it leaves a push between the two with `notified == true` and no
//! unpark). The loom models at the end of this file check both, on the code
//! below; breaking either makes them fail.
//!
//! **`stopping`** (in `Shared`): set by [`LoopHandle::stop`] (`Release`),
//! which then unparks unconditionally, so no handshake is needed; cleared by
//! the loop (`swap(false, AcqRel)`) when `run_forever` honours it at the end
//! of an iteration, and read before parking so that a pending stop is not
//! slept through.
//!
//! **`closed`** (in `Shared`): set once by the loop (`Release`) at the end of
//! shutdown, after every task it owned has finished on its thread. A pusher
//! that sees it (`Acquire`) drops its work instead of queueing it. A push
//! that races with shutdown and lands after the loop's last drain stays in
//! the queue until `Shared` is dropped, on any thread; that is sound because
//! such an item is a `Send` spawn or callback, or the runnable of a task
//! whose future is already gone.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use corio_core::{Runnable, Task, TaskMeta, Unpark};

use super::callbacks::{Callback, CallbackHandle};
use super::run::MainWake;
use super::{Local, Ready};
use crate::loom::{AtomicBool, Injector, Ordering};
use crate::task_map::Visibility;

/// The injection queue and the two flags of its protocol (see the module
/// documentation), generic over what is handed over so that the loom models
/// run this code.
pub(crate) struct Handoff<T> {
    injector: Injector<T>,
    remote_pending: AtomicBool,
    notified: AtomicBool,
}

/// What a pusher must do after [`Handoff::push`].
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Notify {
    /// This push is the first since the loop last prepared to park: unpark it.
    Unpark,
    /// An earlier push has unparked the loop, or the loop is awake and will
    /// look at the queue before it parks.
    AlreadyNotified,
}

impl<T> Handoff<T> {
    pub(crate) fn new() -> Handoff<T> {
        Handoff {
            injector: Injector::new(),
            remote_pending: AtomicBool::new(false),
            notified: AtomicBool::new(false),
        }
    }

    /// Queues `item` for the loop (any thread).
    pub(crate) fn push(&self, item: T) -> Notify {
        self.injector.push(item);
        self.remote_pending.store(true, Ordering::Release);
        if self.notified.swap(true, Ordering::Release) {
            Notify::AlreadyNotified
        } else {
            Notify::Unpark
        }
    }

    /// Gives `accept` what was handed over, if the flag says anything was
    /// (the loop's thread, every iteration).
    #[inline]
    pub(crate) fn drain_flagged(&self, accept: impl FnMut(T)) {
        let pending = &self.remote_pending;
        if pending.load(Ordering::Relaxed) && pending.swap(false, Ordering::Acquire) {
            self.drain_all(accept);
        }
    }

    /// Gives `accept` everything in the queue (the loop's thread).
    pub(crate) fn drain_all(&self, mut accept: impl FnMut(T)) {
        while let Some(item) = self.injector.pop() {
            accept(item);
        }
    }

    /// Announces that the loop may park, then gives `accept` what was handed
    /// over before the announcement (the loop's thread). A push after it
    /// unparks the driver.
    pub(crate) fn prepare_to_park(&self, accept: impl FnMut(T)) {
        // A read-modify-write with `Acquire`: see "P before R" in the module
        // documentation.
        let _ = self.notified.swap(false, Ordering::Acquire);
        // The drain below is unconditional, so the flag is only a hint here.
        self.remote_pending.store(false, Ordering::Relaxed);
        self.drain_all(accept);
    }
}

/// The loop's state that other threads reach through wakers and handles.
pub(crate) struct Shared {
    pub(super) handoff: Handoff<Remote>,
    pub(super) unparker: Arc<dyn Unpark>,
    pub(super) stopping: AtomicBool,
    pub(super) closed: AtomicBool,
    /// Debug mode, if on.
    pub(super) debug: Option<Arc<crate::debug::Debug>>,
}

/// Work handed over from another thread.
pub(super) enum Remote {
    Spawn(Runnable),
    Wake(Runnable),
    /// Boxed whole, so that an entry stays two words.
    Callback(Box<ThreadsafeCallback>),
    Main(Arc<MainWake>),
}

/// A `call_soon_threadsafe` callback on its way to the loop.
pub(super) struct ThreadsafeCallback {
    cancelled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    site: &'static std::panic::Location<'static>,
    f: Box<dyn FnOnce() + Send>,
}

/// A handle to an [`EventLoop`](super::EventLoop) that can be used from any
/// thread.
///
/// # Examples
///
/// ```
/// use corio_executor::EventLoop;
///
/// let mut event_loop = EventLoop::new().unwrap();
/// let handle = event_loop.handle();
/// let task = std::thread::spawn(move || handle.spawn(async { 1 + 1 }))
///     .join()
///     .unwrap();
/// assert_eq!(event_loop.run_until_complete(task).unwrap(), 2);
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    pub(super) shared: Arc<Shared>,
}

impl Shared {
    pub(super) fn new(
        unparker: Arc<dyn Unpark>,
        debug: Option<Arc<crate::debug::Debug>>,
    ) -> Shared {
        Shared {
            handoff: Handoff::new(),
            unparker,
            stopping: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            debug,
        }
    }

    /// Makes a `Send` task whose wake-ups are scheduled on this loop.
    pub(super) fn spawn_task<F>(
        self: &Arc<Self>,
        future: F,
        meta: TaskMeta,
    ) -> (Runnable, Task<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = crate::debug::task_meta(self.debug.as_deref(), meta);
        let shared = self.clone();
        corio_core::spawn(future, move |runnable| shared.schedule(runnable), meta)
    }

    /// The schedule hook of every task of this loop.
    pub(crate) fn schedule(self: &Arc<Self>, runnable: Runnable) {
        let queued = self.on_this_loop(runnable, |local, runnable| {
            local.ready.borrow_mut().push_back(Ready::Task(runnable))
        });
        if let Err(runnable) = queued {
            self.push_remote(Remote::Wake(runnable));
        }
    }

    /// Runs `on_loop` with `value` when this thread is running this loop;
    /// otherwise gives `value` back, for the injection queue.
    pub(super) fn on_this_loop<T, R>(
        self: &Arc<Self>,
        value: T,
        on_loop: impl FnOnce(&Local, T) -> R,
    ) -> Result<R, T> {
        crate::context::with_local(|local| match local {
            Some(local) if Arc::ptr_eq(&local.shared, self) => Ok(on_loop(local, value)),
            _ => Err(value),
        })
    }

    /// Hands `remote` over to the loop from another thread.
    pub(super) fn push_remote(&self, remote: Remote) {
        if self.closed.load(Ordering::Acquire) {
            // The loop has shut down: every task it owned has finished and
            // its future was dropped on the loop's thread, so the work can be
            // dropped here. A remote spawn resolves as cancelled.
            drop(remote);
            return;
        }
        if self.handoff.push(remote) == Notify::Unpark {
            self.unparker.unpark();
        }
    }
}

impl Local {
    /// Moves what other threads handed over into the ready queue, if they
    /// handed over anything since the last look.
    pub(super) fn drain_remote(&self) {
        self.shared
            .handoff
            .drain_flagged(|remote| self.accept_remote(remote));
    }

    /// Moves everything in the injection queue into the ready queue.
    pub(super) fn drain_remote_now(&self) {
        self.shared
            .handoff
            .drain_all(|remote| self.accept_remote(remote));
    }

    /// Announces that the loop may park and moves what was handed over
    /// before that into the ready queue.
    pub(super) fn prepare_to_park(&self) {
        self.shared
            .handoff
            .prepare_to_park(|remote| self.accept_remote(remote));
    }

    fn accept_remote(&self, remote: Remote) {
        match remote {
            Remote::Spawn(runnable) => {
                self.adopt(runnable, Visibility::Listed);
            }
            Remote::Wake(runnable) => self.ready.borrow_mut().push_back(Ready::Task(runnable)),
            Remote::Callback(callback) => {
                let ThreadsafeCallback { cancelled, site, f } = *callback;
                let callback = Callback { cancelled, site, f };
                self.ready
                    .borrow_mut()
                    .push_back(Ready::Callback(Box::new(callback)))
            }
            Remote::Main(marker) => self.ready.borrow_mut().push_back(Ready::Main(marker)),
        }
    }
}

impl LoopHandle {
    /// Stops the loop: `run_forever` returns after the current iteration.
    ///
    /// A stop requested while the loop runs `run_until_complete` does not cut
    /// that future short; it is kept, and the next `run_forever` runs one
    /// iteration and returns (asyncio's behaviour for a stop before
    /// `run_forever`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// std::thread::spawn(move || handle.stop());
    /// event_loop.run_forever();
    /// ```
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.unparker.unpark();
    }

    /// Schedules `callback` on the loop from any thread, waking the loop if
    /// it is parked (asyncio's `call_soon_threadsafe`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// let stopper = handle.clone();
    /// std::thread::spawn(move || {
    ///     handle.call_soon_threadsafe(move || stopper.stop());
    /// });
    /// event_loop.run_forever();
    /// ```
    #[track_caller]
    pub fn call_soon_threadsafe(&self, callback: impl FnOnce() + Send + 'static) -> CallbackHandle {
        let handle = CallbackHandle::new();
        self.shared
            .push_remote(Remote::Callback(Box::new(ThreadsafeCallback {
                cancelled: handle.cancelled.clone(),
                site: std::panic::Location::caller(),
                f: Box::new(callback),
            })));
        handle
    }

    /// Spawns a `Send` future on the loop from any thread.
    ///
    /// If the loop has already shut down, the task is cancelled at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let task = event_loop.handle().spawn(async { 3 });
    /// assert_eq!(event_loop.run_until_complete(task).unwrap(), 3);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with_meta(future, TaskMeta::new(Location::caller()))
    }

    pub(crate) fn spawn_with_meta<F>(&self, future: F, meta: TaskMeta) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let spawned = self
            .shared
            .on_this_loop((future, meta), |local, (future, meta)| {
                local.spawn_send(future, meta)
            });
        spawned.unwrap_or_else(|(future, meta)| {
            let (runnable, task) = self.shared.spawn_task(future, meta);
            self.shared.push_remote(Remote::Spawn(runnable));
            task
        })
    }
}

impl std::fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopHandle").finish_non_exhaustive()
    }
}

/// Loom models of the protocol: the loop's side is what `maintain` does when
/// nothing is ready (prepare to park, park unless something arrived, look at
/// the queue again), with a sticky park token (a mutex and a condition
/// variable, like the core's `ParkDriver`) as the driver. A lost wake-up
/// leaves the loop waiting forever, which loom reports as a deadlock.
#[cfg(all(test, loom))]
mod tests {
    use super::{Handoff, Notify};
    use loom::sync::{Arc, Condvar, Mutex};
    use loom::thread;

    /// The loop's handoff and the driver it parks in.
    #[derive(Default)]
    struct Model {
        handoff: Handoff<u32>,
        token: Mutex<bool>,
        unparked: Condvar,
    }

    impl Default for Handoff<u32> {
        fn default() -> Self {
            Handoff::new()
        }
    }

    impl Model {
        /// Pushes `item` as `Shared::push_remote` does.
        fn push(&self, item: u32) {
            if self.handoff.push(item) == Notify::Unpark {
                *self.token.lock().unwrap() = true;
                self.unparked.notify_one();
            }
        }

        /// Blocks until unparked, then consumes the token.
        fn park(&self) {
            let mut token = self.token.lock().unwrap();
            while !*token {
                token = self.unparked.wait(token).unwrap();
            }
            *token = false;
        }

        /// The loop's idle passes until `want` items have arrived.
        fn idle_until(&self, want: usize) -> Vec<u32> {
            let mut got = Vec::new();
            while got.len() < want {
                let before = got.len();
                self.handoff.prepare_to_park(|item| got.push(item));
                if got.len() == before {
                    self.park();
                }
                self.handoff.drain_all(|item| got.push(item));
            }
            got
        }
    }

    /// Runs `pushes` on threads of their own against a loop that idles until
    /// it has every item; checks that it gets each exactly once.
    fn check(busy_first: bool, pushes: &'static [&'static [u32]]) {
        loom::model(move || {
            let model = Arc::new(Model::default());
            let pushers: Vec<_> = pushes
                .iter()
                .map(|items| {
                    let model = model.clone();
                    thread::spawn(move || items.iter().for_each(|&item| model.push(item)))
                })
                .collect();
            let mut got = Vec::new();
            if busy_first {
                // A busy iteration looks only at the flag.
                model.handoff.drain_flagged(|item| got.push(item));
            }
            let want: usize = pushes.iter().map(|items| items.len()).sum();
            let rest = model.idle_until(want - got.len());
            got.extend(rest);
            got.sort_unstable();
            let mut expected: Vec<u32> = pushes
                .iter()
                .flat_map(|items| items.iter().copied())
                .collect();
            expected.sort_unstable();
            assert_eq!(got, expected);
            for pusher in pushers {
                pusher.join().unwrap();
            }
        });
    }

    #[test]
    fn loom_a_push_while_the_loop_is_about_to_park_is_never_lost() {
        check(false, &[&[1]]);
    }

    #[test]
    fn loom_pushes_that_share_one_unpark_are_all_seen() {
        check(false, &[&[1], &[2]]);
    }

    #[test]
    fn loom_a_busy_loop_then_an_idle_one_sees_every_push() {
        check(true, &[&[1, 2]]);
    }
}
