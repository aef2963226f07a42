//! `TaskGroup`: asyncio's structured concurrency. The first child that fails
//! cancels its siblings; `join` waits for every child and reports that
//! failure; dropping the group cancels its children.
//!
//! # Protocol
//!
//! A group is one `Arc` holding a `std` mutex around its [`State`]; the
//! mutex is never held across an await, and nothing runs under it but the
//! bookkeeping below: no user code (no future is polled or dropped, no error
//! or panic payload is dropped, no waker is woken, no task is cancelled while
//! it is held).
//!
//! - **Spawning** (`enrol`, then `adopt`): `live` goes up by one and, while
//!   the group is open, a slot of `children` is reserved for the child. The
//!   child's future is wrapped in a [`Child`] that carries its
//!   [`Membership`] (the group and the slot) and is spawned on the current
//!   runtime (the event loop, or the multi-thread runtime: on any worker for
//!   `spawn`, pinned to the current worker for `spawn_local`), which hands
//!   back the `Task` and a `TaskRef`; the `TaskRef` fills the reserved slot.
//!   If the group closed in between (or was closed from the start), the
//!   `TaskRef` is cancelled at once instead. On the event loop a child is
//!   never polled between the two steps (the loop polls a new task only
//!   after its spawner yields), so its body never runs; on the multi-thread
//!   runtime another worker may poll it at once, so a child may also fail
//!   or finish before it is adopted: its failure cancels what is registered
//!   and closes the group (so `adopt` cancels it too), and a finished child
//!   marks its reserved slot `Finished`, which `adopt` then frees (a slot is
//!   never reused while its child's spawner still holds it).
//! - **Failure** (`Child::poll`): the first child whose future returns `Err`
//!   or panics (the panic is caught in the wrapper) moves the group to
//!   `Failed` with that failure, takes every `TaskRef` out of `children`, and
//!   cancels all of them after unlocking, its own included: siblings that are
//!   queued are dropped instead of polled, idle ones are queued to be
//!   dropped, and the failing child returns `Pending`, so the core drops its
//!   future right after this poll and its `Task` reports `Cancelled`. No
//!   sibling on this loop is polled after the failure was observed. A later
//!   failure (possible only in a child that was in the middle of a poll on
//!   another thread's loop at that moment) finds the group closed, is dropped,
//!   and its child ends cancelled like the others, since every child was
//!   cancelled when the group closed.
//! - **Finishing** (`Membership::drop`): whenever a child's future is dropped
//!   (completed, cancelled by anyone, or dropped with its loop), `live` goes
//!   down by one and its slot is freed; the joiner is woken when `live`
//!   reaches zero. The wrapper's future field drops before its membership,
//!   so a child counts as finished only once its future is gone.
//! - **Joining** (`poll_join`): ready once `live` is zero; it takes the
//!   failure (if any) and closes the group. An `Err` is returned, a panic is
//!   resumed with [`std::panic::resume_unwind`] on the joiner.
//! - **Closing** (`TaskGroup`'s `Drop`, which also runs when a `join` future
//!   is dropped before completing): the group moves to `Closed`, and every
//!   child still registered is cancelled, as on failure.
//!
//! Once the group is no longer open, `children` stays empty: a slot index a
//! later `Membership::drop` carries finds nothing and is ignored.

use std::any::Any;
use std::fmt;
use std::future::{poll_fn, Future};
use std::mem;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use corio_core::{Task, TaskMeta, TaskRef};

use crate::context::{spawn_local_with_ref, spawn_send_with_ref};

/// A group of tasks that succeed or fail together (asyncio's `TaskGroup`).
///
/// Spawn children with [`spawn`](TaskGroup::spawn) or
/// [`spawn_local`](TaskGroup::spawn_local); each child is a future of
/// `Result<T, E>`. Then [`join`](TaskGroup::join) the group: it waits for
/// every child, including children spawned while it waits.
///
/// - The first child that fails, by returning `Err` or by panicking, cancels
///   every sibling at once: from that child's own poll, so that no sibling
///   on the loop is polled again. `join` still waits until every child has
///   finished (the cancelled ones are dropped on their loop), then returns
///   that first `Err`, or resumes that first panic with
///   [`std::panic::resume_unwind`] (like [`std::thread::scope`]); the loop
///   itself never goes down.
/// - A failure belongs to the group, not to the child's handle: the failing
///   child's [`Task`] reports [`TaskError::Cancelled`](corio_core::TaskError).
///   Only the first failure is reported; later ones are dropped (as in
///   `try_gather`).
/// - Dropping the group, or the future returned by `join` before it
///   completes, cancels every child. A child spawned once the group has
///   failed, been dropped or been joined is cancelled at once: its body
///   never runs.
/// - Cancelling one child through its `Task` is not a failure: its siblings
///   go on.
/// - On the multi-thread runtime children run on any worker (`spawn_local`
///   pins them to the spawner's worker). A sibling in the middle of a poll on
///   another worker when the failure happens finishes that poll, then is
///   dropped; a child's future is dropped before its `Task` stores the
///   value, so right after `join` returns a child's `Task` may still be a
///   moment away from [`is_done`](Task::is_done) (awaiting it waits). A
///   child spawned at the very moment a sibling fails may run one poll
///   before its spawner registers (and so cancels) it.
///
/// Children spawn siblings through a [`TaskGroupHandle`] (from
/// [`handle`](TaskGroup::handle)), asyncio's `tg.create_task` from inside a
/// task. `TaskGroup` is `Send` and `Sync` when `E` is `Send`.
///
/// # Examples
///
/// ```
/// use corio_executor::{EventLoop, TaskGroup};
///
/// let mut event_loop = EventLoop::new().unwrap();
/// let total = event_loop.run_until_complete(async {
///     let group = TaskGroup::<String>::new();
///     let a = group.spawn(async { Ok(1) });
///     let b = group.spawn(async { Ok(2) });
///     group.join().await?;
///     Ok::<_, String>(a.await.unwrap() + b.await.unwrap())
/// });
/// assert_eq!(total, Ok(3));
/// ```
///
/// The first failure cancels the rest:
///
/// ```
/// use corio_executor::{EventLoop, TaskGroup};
///
/// let mut event_loop = EventLoop::new().unwrap();
/// event_loop.run_until_complete(async {
///     let group = TaskGroup::new();
///     let forever = group.spawn(std::future::pending::<Result<(), &str>>());
///     let failing = group.spawn(async { Err::<(), _>("no route to host") });
///     assert_eq!(group.join().await, Err("no route to host"));
///     assert!(forever.await.unwrap_err().is_cancelled());
///     assert!(failing.await.unwrap_err().is_cancelled());
/// });
/// ```
///
/// Children must be `Send` for [`spawn`](TaskGroup::spawn); use
/// [`spawn_local`](TaskGroup::spawn_local) for the others:
///
/// ```compile_fail
/// let group = corio_executor::TaskGroup::<()>::new();
/// let shared = std::rc::Rc::new(1);
/// let _task = group.spawn(async move { Ok(*shared) });
/// ```
pub struct TaskGroup<E> {
    handle: TaskGroupHandle<E>,
}

/// A cloneable handle that spawns children into a [`TaskGroup`], for the
/// children themselves (asyncio's `tg.create_task` from inside a task).
///
/// A handle does not keep the group open: once the group has failed, been
/// dropped or been joined, what a handle spawns is cancelled at once.
///
/// # Examples
///
/// ```
/// use corio_executor::{EventLoop, TaskGroup};
///
/// let mut event_loop = EventLoop::new().unwrap();
/// let value = event_loop.run_until_complete(async {
///     let group = TaskGroup::<()>::new();
///     let handle = group.handle();
///     let parent = group.spawn(async move {
///         // `join` waits for this grandchild too.
///         Ok(handle.spawn(async { Ok(21) }))
///     });
///     group.join().await.unwrap();
///     parent.await.unwrap().await.unwrap() * 2
/// });
/// assert_eq!(value, 42);
/// ```
pub struct TaskGroupHandle<E> {
    shared: Arc<Mutex<State<E>>>,
}

/// The group's state, behind its mutex (see the module's protocol).
struct State<E> {
    phase: Phase<E>,
    /// Children whose future has not been dropped yet.
    live: usize,
    /// The children, by slot. Empty once the group is no longer open.
    children: Vec<Slot>,
    /// The free slots of `children`.
    free: Vec<usize>,
    /// The waker of the task awaiting `join`.
    joiner: Option<Waker>,
}

/// One slot of `children`.
enum Slot {
    /// Free, listed in `free`.
    Vacant,
    /// Reserved for a child being spawned, whose task is not adopted yet.
    Reserved,
    /// A registered child.
    Child(TaskRef),
    /// A child that finished before it was adopted (on the multi-thread
    /// runtime another worker may run it at once): `adopt` frees the slot.
    Finished,
}

impl Slot {
    fn take_child(&mut self) -> Option<TaskRef> {
        match mem::replace(self, Slot::Vacant) {
            Slot::Child(task_ref) => Some(task_ref),
            other => {
                *self = other;
                None
            }
        }
    }
}

enum Phase<E> {
    /// Children run; new ones are registered.
    Open,
    /// A child failed; its failure waits for `join`.
    Failed(Failure<E>),
    /// Joined or dropped: new children are cancelled at once.
    Closed,
}

/// How a child failed.
enum Failure<E> {
    Error(E),
    Panic(Box<dyn Any + Send>),
}

/// What a closing transition took out of the state, to be cancelled and
/// dropped after the lock is released.
#[must_use = "the children must be cancelled"]
struct Cancellation<E> {
    children: Vec<Slot>,
    dropped_failure: Option<Failure<E>>,
}

impl<E> Cancellation<E> {
    /// Cancels every child taken out of the group, then drops what was taken.
    fn run(self) {
        for slot in &self.children {
            if let Slot::Child(child) = slot {
                child.cancel();
            }
        }
        drop(self.dropped_failure);
    }
}

impl<E> TaskGroup<E> {
    /// Creates an empty, open group.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = corio_executor::TaskGroup::<std::io::Error>::new();
    /// # drop(group);
    /// ```
    pub fn new() -> TaskGroup<E> {
        let state = State {
            phase: Phase::Open,
            live: 0,
            children: Vec::new(),
            free: Vec::new(),
            joiner: None,
        };
        TaskGroup {
            handle: TaskGroupHandle {
                shared: Arc::new(Mutex::new(state)),
            },
        }
    }

    /// Spawns a `Send` child on the current loop, like
    /// [`spawn`](crate::spawn); it starts after the spawner yields.
    ///
    /// The returned [`Task`] gives the child's value; it reports
    /// [`TaskError::Cancelled`](corio_core::TaskError) when the child was
    /// cancelled, or when it failed (its `Err` or panic goes to
    /// [`join`](TaskGroup::join)). Dropping the `Task` does not detach the
    /// child from the group.
    ///
    /// # Panics
    ///
    /// Panics when called outside a corio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// event_loop.run_until_complete(async {
    ///     let group = corio_executor::TaskGroup::<()>::new();
    ///     let task = group.spawn(async { Ok("value") });
    ///     group.join().await.unwrap();
    ///     assert_eq!(task.await.unwrap(), "value");
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Spawns a child that need not be `Send` on the current thread's loop,
    /// like [`spawn_local`](crate::spawn_local); otherwise the same as
    /// [`TaskGroup::spawn`].
    ///
    /// # Panics
    ///
    /// Panics when called outside a corio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// event_loop.run_until_complete(async {
    ///     let group = corio_executor::TaskGroup::<()>::new();
    ///     let shared = Rc::new(5);
    ///     let task = group.spawn_local(async move { Ok(*shared) });
    ///     group.join().await.unwrap();
    ///     assert_eq!(task.await.unwrap(), 5);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_local<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: 'static,
    {
        self.handle.spawn_local(future)
    }

    /// Returns a handle that spawns into this group, for its children.
    ///
    /// # Examples
    ///
    /// See [`TaskGroupHandle`].
    pub fn handle(&self) -> TaskGroupHandle<E> {
        self.handle.clone()
    }

    /// Waits until every child has finished, then returns the first failure:
    /// `Err` with the first child's error, or the first child's panic,
    /// resumed here. `Ok(())` when no child failed, and at once for a group
    /// without children.
    ///
    /// The group is consumed: dropping this future before it completes drops
    /// the group, which cancels the children (so a `timeout` around `join`
    /// cancels them when the deadline passes).
    ///
    /// # Errors
    ///
    /// Returns the error of the first child that returned `Err`.
    ///
    /// # Panics
    ///
    /// Resumes the panic of the first child that panicked, once every child
    /// has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let result = event_loop.run_until_complete(async {
    ///     let group = corio_executor::TaskGroup::new();
    ///     group.spawn(async { Ok(()) }).detach();
    ///     group.spawn(async { Err::<(), _>(7) }).detach();
    ///     group.join().await
    /// });
    /// assert_eq!(result, Err(7));
    /// ```
    pub async fn join(self) -> Result<(), E> {
        poll_fn(|cx| self.handle.poll_join(cx)).await
    }
}

impl<E> Default for TaskGroup<E> {
    fn default() -> TaskGroup<E> {
        TaskGroup::new()
    }
}

impl<E> Drop for TaskGroup<E> {
    fn drop(&mut self) {
        let cancellation = self.handle.lock().close();
        cancellation.run();
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.handle.debug_fields(f, "TaskGroup")
    }
}

impl<E> TaskGroupHandle<E> {
    /// Spawns a `Send` child into the group; see [`TaskGroup::spawn`].
    ///
    /// # Panics
    ///
    /// Panics when called outside a corio runtime.
    ///
    /// # Examples
    ///
    /// See [`TaskGroupHandle`].
    #[track_caller]
    pub fn spawn<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.spawn_with(future, |child, meta| {
            spawn_send_with_ref("TaskGroup::spawn", child, meta)
        })
    }

    /// Spawns a child that need not be `Send` into the group; see
    /// [`TaskGroup::spawn_local`].
    ///
    /// # Panics
    ///
    /// Panics when called outside a corio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let mut event_loop = corio_executor::EventLoop::new().unwrap();
    /// let count = Rc::new(Cell::new(0));
    /// event_loop.run_until_complete(async {
    ///     let group = corio_executor::TaskGroup::<()>::new();
    ///     let handle = group.handle();
    ///     let inner = count.clone();
    ///     group.spawn_local(async move {
    ///         handle.spawn_local(async move { inner.set(inner.get() + 1); Ok(()) }).detach();
    ///         Ok(())
    ///     }).detach();
    ///     group.join().await.unwrap();
    /// });
    /// assert_eq!(count.get(), 1);
    /// ```
    #[track_caller]
    pub fn spawn_local<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: 'static,
    {
        self.spawn_with(future, |child, meta| {
            spawn_local_with_ref("TaskGroup::spawn_local", child, meta)
        })
    }

    /// Enrols a child, spawns it with `spawn`, and registers its task (or
    /// cancels it at once if the group is no longer open).
    #[track_caller]
    fn spawn_with<F, T>(
        &self,
        future: F,
        spawn: impl FnOnce(Child<F, E>, TaskMeta) -> (Task<T>, TaskRef),
    ) -> Task<T> {
        let meta = TaskMeta::new(Location::caller());
        let slot = self.lock().enrol();
        let child = Child {
            future,
            membership: Membership {
                group: self.clone(),
                slot,
            },
        };
        let (task, task_ref) = spawn(child, meta);
        let refused = self.lock().adopt(slot, task_ref);
        if let Some(task_ref) = refused {
            task_ref.cancel();
        }
        task
    }

    fn lock(&self) -> MutexGuard<'_, State<E>> {
        corio_core::lock(&self.shared)
    }

    /// The body of `TaskGroup::join`'s future.
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        let mut state = self.lock();
        if state.live > 0 {
            match &state.joiner {
                Some(joiner) if joiner.will_wake(cx.waker()) => {}
                _ => state.joiner = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        let phase = mem::replace(&mut state.phase, Phase::Closed);
        drop(state);
        match phase {
            Phase::Open | Phase::Closed => Poll::Ready(Ok(())),
            Phase::Failed(Failure::Error(error)) => Poll::Ready(Err(error)),
            Phase::Failed(Failure::Panic(payload)) => resume_unwind(payload),
        }
    }

    fn debug_fields(&self, f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
        let state = self.lock();
        let phase = match state.phase {
            Phase::Open => "open",
            Phase::Failed(_) => "failed",
            Phase::Closed => "closed",
        };
        f.debug_struct(name)
            .field("phase", &phase)
            .field("live", &state.live)
            .finish()
    }
}

impl<E> Clone for TaskGroupHandle<E> {
    fn clone(&self) -> TaskGroupHandle<E> {
        TaskGroupHandle {
            shared: self.shared.clone(),
        }
    }
}

impl<E> fmt::Debug for TaskGroupHandle<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.debug_fields(f, "TaskGroupHandle")
    }
}

impl<E> State<E> {
    /// Counts a new child; returns its reserved slot while the group is
    /// open.
    fn enrol(&mut self) -> Option<usize> {
        self.live += 1;
        if !matches!(self.phase, Phase::Open) {
            return None;
        }
        match self.free.pop() {
            Some(slot) => {
                self.children[slot] = Slot::Reserved;
                Some(slot)
            }
            None => {
                self.children.push(Slot::Reserved);
                Some(self.children.len() - 1)
            }
        }
    }

    /// Fills `slot` with the child's task; gives the task back when the
    /// group is no longer open (to be cancelled) or the child has already
    /// finished (cancelling it then does nothing).
    fn adopt(&mut self, slot: Option<usize>, task_ref: TaskRef) -> Option<TaskRef> {
        let Some(index) = slot else {
            return Some(task_ref);
        };
        match self.children.get_mut(index) {
            Some(entry @ Slot::Reserved) => {
                *entry = Slot::Child(task_ref);
                None
            }
            Some(entry @ Slot::Finished) => {
                *entry = Slot::Vacant;
                self.free.push(index);
                Some(task_ref)
            }
            _ => Some(task_ref),
        }
    }

    /// Records `failure` if it is the group's first and closes the group to
    /// new children; returns what to cancel and drop.
    fn fail(&mut self, failure: Failure<E>) -> Cancellation<E> {
        if !matches!(self.phase, Phase::Open) {
            return Cancellation {
                children: Vec::new(),
                dropped_failure: Some(failure),
            };
        }
        self.phase = Phase::Failed(failure);
        self.take_children(None)
    }

    /// Closes the group (it was dropped); returns what to cancel and drop.
    fn close(&mut self) -> Cancellation<E> {
        let dropped_failure = match mem::replace(&mut self.phase, Phase::Closed) {
            Phase::Failed(failure) => Some(failure),
            Phase::Open | Phase::Closed => None,
        };
        self.take_children(dropped_failure)
    }

    fn take_children(&mut self, dropped_failure: Option<Failure<E>>) -> Cancellation<E> {
        self.free = Vec::new();
        Cancellation {
            children: mem::take(&mut self.children),
            dropped_failure,
        }
    }

    /// Forgets a child whose future was dropped; returns its task reference
    /// and, when it was the last child, the joiner to wake.
    fn leave(&mut self, slot: Option<usize>) -> (Option<TaskRef>, Option<Waker>) {
        self.live -= 1;
        let mut task_ref = None;
        if let Some(index) = slot {
            match self.children.get_mut(index) {
                // Not adopted yet: `adopt` frees the slot.
                Some(entry @ Slot::Reserved) => *entry = Slot::Finished,
                Some(entry) => {
                    task_ref = entry.take_child();
                    self.free.push(index);
                }
                // The group is no longer open.
                None => {}
            }
        }
        let joiner = match self.live {
            0 => self.joiner.take(),
            _ => None,
        };
        (task_ref, joiner)
    }
}

pin_project_lite::pin_project! {
    /// A child's future as spawned: the user's future, then its membership,
    /// which is dropped after it.
    struct Child<F, E> {
        #[pin]
        future: F,
        membership: Membership<E>,
    }
}

/// A child's place in its group; leaving it when dropped.
struct Membership<E> {
    group: TaskGroupHandle<E>,
    slot: Option<usize>,
}

impl<F, T, E> Future for Child<F, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        if this.membership.slot.is_none() {
            // Spawned into a group that was no longer open: its spawner
            // cancels it right after spawning; on the multi-thread runtime
            // another worker may poll it first, and its body must not run.
            return Poll::Pending;
        }
        let future = this.future;
        let failure = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(value))) => return Poll::Ready(value),
            Ok(Poll::Ready(Err(error))) => Failure::Error(error),
            Err(payload) => Failure::Panic(payload),
        };
        let cancellation = this.membership.group.lock().fail(failure);
        cancellation.run();
        // This task was cancelled with its siblings (now, or when the group
        // closed before), so the core drops its future after this poll and
        // its `Task` reports `Cancelled`.
        Poll::Pending
    }
}

impl<E> Drop for Membership<E> {
    fn drop(&mut self) {
        let (task_ref, joiner) = self.group.lock().leave(self.slot);
        drop(task_ref);
        if let Some(joiner) = joiner {
            joiner.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn the_group_and_its_handle_are_send_and_sync() {
        assert_send_sync::<TaskGroup<std::io::Error>>();
        assert_send_sync::<TaskGroupHandle<std::io::Error>>();
    }

    #[test]
    fn slots_are_reused_and_forgotten_once_closed() {
        let group = TaskGroup::<()>::new();
        let mut state = group.handle.lock();
        assert_eq!(state.enrol(), Some(0));
        assert_eq!(state.enrol(), Some(1));
        // Slot 0's child finished before it was adopted: the slot is freed
        // only once its spawner adopts it.
        let (task_ref, joiner) = state.leave(Some(0));
        assert!(task_ref.is_none() && joiner.is_none());
        assert_eq!(state.enrol(), Some(2));
        let (runnable, _task) =
            corio_core::spawn(async {}, drop, TaskMeta::new(Location::caller()));
        assert!(state.adopt(Some(0), runnable.task_ref()).is_some());
        assert_eq!(state.enrol(), Some(0));
        let cancellation = state.close();
        assert_eq!(cancellation.children.len(), 3);
        assert_eq!(state.enrol(), None);
        assert_eq!(state.live, 4);
    }
}
