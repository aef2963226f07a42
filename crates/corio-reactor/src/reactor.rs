//! The reactor: registration of sources, per-source readiness, dispatch.
//!
//! # Protocol
//!
//! Every registered source owns a slot in the [`Slab`] of the reactor's shared
//! [`Handle`]. The slot's token is its index in the low [`INDEX_BITS`] bits and
//! the slot's generation above them. Releasing a slot bumps its generation, so
//! an event that mio reports for a token whose source was dropped (and whose
//! slot may already hold a new source) no longer matches and is ignored.
//!
//! Each slot holds a [`ScheduledIo`]: one atomic word with the readiness bits
//! and a tick, plus the wakers of the tasks waiting to read and to write.
//!
//! * `park` (the only writer of readiness besides shutdown) ORs the event's bits
//!   into the word and increments the tick, then takes the wakers of the
//!   directions the event concerns and wakes them.
//! * A socket operation observes the word (`poll_ready`), remembering the tick.
//!   When the OS then says `WouldBlock`, it clears the bits it observed, but only
//!   if the tick is still the one it saw (`clear_readiness`). If an event
//!   arrived in between, the tick moved and the readiness stays set, so that
//!   edge is never lost: mio is edge-triggered and would not report it again.
//! * A task that finds no readiness stores its waker under the waiter lock and
//!   reads the word again before returning `Pending`; `park` sets the word
//!   before taking that lock, so one of the two always sees the other.
//! * A stream read or write that moves fewer bytes than asked (but more than
//!   none) has drained the socket for that direction: it clears the plain
//!   readable or writable bit it observed under the same tick rule, so the
//!   next operation waits for the next edge instead of making a system call
//!   that would say `WouldBlock`. Error and closed bits stay.
//! * The closed bits are final and are never cleared.
//! * Releasing a source or dropping the reactor sets `SHUTDOWN` and wakes every
//!   waiter; operations on such a source fail with an `io::Error` instead of
//!   waiting forever.

use std::any::Any;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use corio_core::{Driver, Unpark};
use mio::event::Source;
use mio::{Interest, Token};

/// A [`Driver`] built on [`mio::Poll`]: it blocks the loop's thread until a
/// registered socket becomes ready, a timeout passes, or another thread calls
/// the unparker, and wakes the tasks waiting on ready sockets.
///
/// An executor owns it; sockets created while the executor has entered the
/// reactor's [`io_context`](Driver::io_context) register with it.
///
/// # Examples
///
/// ```
/// use corio_core::Driver;
/// use corio_reactor::Reactor;
/// use std::time::Duration;
///
/// let mut reactor = Reactor::new()?;
/// reactor.unparker().unpark();
/// // The unpark token makes this return at once.
/// reactor.park(None)?;
/// reactor.park(Some(Duration::from_millis(1)))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Reactor {
    poll: mio::Poll,
    events: mio::event::Events,
    handle: Arc<Handle>,
    to_wake: Vec<Waker>,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor").finish_non_exhaustive()
    }
}

/// The number of events one `park` takes from the OS at most.
const EVENTS_CAPACITY: usize = 1024;

impl Reactor {
    /// Creates a reactor with its own OS poller (an epoll or kqueue instance).
    ///
    /// # Errors
    ///
    /// Returns the OS error when the poller or its wake-up handle cannot be
    /// created (for example when the process is out of file descriptors).
    ///
    /// # Examples
    ///
    /// ```
    /// let reactor = corio_reactor::Reactor::new()?;
    /// # let _ = reactor;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Reactor> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(&registry, WAKER_TOKEN)?;
        Ok(Reactor {
            poll,
            events: mio::event::Events::with_capacity(EVENTS_CAPACITY),
            handle: Arc::new(Handle {
                registry,
                waker,
                unparked: AtomicBool::new(false),
                is_shutdown: AtomicBool::new(false),
                slab: Mutex::new(Slab::default()),
            }),
            to_wake: Vec::new(),
        })
    }

    fn poll_retrying_interrupts(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let mut timeout = timeout;
        loop {
            match self.poll.poll(&mut self.events, timeout) {
                Ok(()) => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {
                    if let Some(deadline) = deadline {
                        timeout = Some(deadline.saturating_duration_since(Instant::now()));
                    }
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn dispatch(&mut self) {
        {
            let slab = lock(&self.handle.slab);
            for event in self.events.iter() {
                if event.token() == WAKER_TOKEN {
                    // Unparks from now on need a new wake-up; the ones before
                    // this point are answered by this very return from park.
                    self.handle.unparked.store(false, Ordering::Release);
                    continue;
                }
                let Some(io) = slab.get(event.token()) else {
                    // A stale event for a released (and maybe reused) slot.
                    continue;
                };
                let ready = ready_bits(event);
                io.set_readiness(ready);
                io.take_wakers(ready, &mut self.to_wake);
            }
        }
        for waker in self.to_wake.drain(..) {
            waker.wake();
        }
    }
}

impl Driver for Reactor {
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) && lock(&self.handle.slab).is_empty() {
            // A loop checks for IO every few dozen polls even when it runs no
            // socket: with nothing registered there is nothing to dispatch,
            // so skip the system call.
            return Ok(());
        }
        self.poll_retrying_interrupts(timeout)?;
        self.dispatch();
        Ok(())
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.handle.clone()
    }

    fn io_context(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        Some(self.handle.clone())
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        // Sockets may outlive their reactor: wake everyone waiting on one, so
        // that they see the shutdown as an error instead of hanging.
        self.handle.is_shutdown.store(true, Ordering::Release);
        let ios: Vec<Arc<ScheduledIo>> = lock(&self.handle.slab).live().collect();
        for io in ios {
            io.shutdown();
        }
    }
}

/// The token of the reactor's own wake-up handle; never given to a source.
const WAKER_TOKEN: Token = Token(usize::MAX);

/// The number of low token bits that hold the slot index.
const INDEX_BITS: u32 = 24;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// The largest slot index plus one; the all-ones index is never used, so that
/// no token equals [`WAKER_TOKEN`].
const MAX_SLOTS: usize = INDEX_MASK;

fn token_for(index: usize, generation: usize) -> Token {
    Token(index | (generation << INDEX_BITS))
}

fn generation_of(token: Token) -> usize {
    token.0 >> INDEX_BITS
}

/// The generation that follows `generation`, wrapping within the bits above
/// the index.
fn next_generation(generation: usize) -> usize {
    generation.wrapping_add(1) & (usize::MAX >> INDEX_BITS)
}

/// The state the reactor shares with its sockets and unparkers.
pub(crate) struct Handle {
    registry: mio::Registry,
    waker: mio::Waker,
    /// Set by the first `unpark` since the last wake-up was seen by `park`;
    /// later unparks find it set and need no system call.
    unparked: AtomicBool,
    is_shutdown: AtomicBool,
    slab: Mutex<Slab>,
}

impl Unpark for Handle {
    fn unpark(&self) {
        if self.unparked.swap(true, Ordering::AcqRel) {
            return;
        }
        if self.waker.wake().is_err() {
            // Let the next unpark try again rather than believing it is done.
            self.unparked.store(false, Ordering::Release);
        }
    }
}

impl Handle {
    /// Returns the reactor of the current thread's loop.
    pub(crate) fn current() -> io::Result<Arc<Handle>> {
        let context = corio_core::io_context().ok_or_else(no_reactor)?;
        context.downcast::<Handle>().map_err(|_| no_reactor())
    }

    fn register(
        self: &Arc<Self>,
        source: &mut impl Source,
        interest: Interest,
    ) -> io::Result<Registration> {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(reactor_gone());
        }
        let io = Arc::new(ScheduledIo::default());
        let token = lock(&self.slab).insert(io.clone())?;
        if let Err(error) = self.registry.register(source, token, interest) {
            lock(&self.slab).remove(token);
            return Err(error);
        }
        Ok(Registration {
            handle: self.clone(),
            token,
            io,
        })
    }
}

fn no_reactor() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, ReactorError::NoReactor)
}

fn reactor_gone() -> io::Error {
    io::Error::other(ReactorError::Shutdown)
}

/// The reasons the reactor itself refuses an operation.
#[derive(Debug, thiserror::Error)]
enum ReactorError {
    #[error(
        "no corio IO reactor is running on this thread: create and use sockets inside a task \
         of a corio event loop whose driver is a corio_reactor::Reactor"
    )]
    NoReactor,
    #[error("the corio IO reactor this socket was registered with has shut down")]
    Shutdown,
    #[error("the corio IO reactor cannot register more than {MAX_SLOTS} sources at once")]
    TooManySources,
}

/// Slots of registered sources, reused through a free list.
#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

struct Slot {
    generation: usize,
    io: Option<Arc<ScheduledIo>>,
}

impl Slab {
    fn insert(&mut self, io: Arc<ScheduledIo>) -> io::Result<Token> {
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index];
            slot.io = Some(io);
            return Ok(token_for(index, slot.generation));
        }
        let index = self.slots.len();
        if index >= MAX_SLOTS {
            return Err(io::Error::other(ReactorError::TooManySources));
        }
        self.slots.push(Slot {
            generation: 0,
            io: Some(io),
        });
        Ok(token_for(index, 0))
    }

    fn get(&self, token: Token) -> Option<&Arc<ScheduledIo>> {
        let slot = self.slots.get(token.0 & INDEX_MASK)?;
        if slot.generation != generation_of(token) {
            return None;
        }
        slot.io.as_ref()
    }

    fn remove(&mut self, token: Token) -> Option<Arc<ScheduledIo>> {
        let index = token.0 & INDEX_MASK;
        let slot = self.slots.get_mut(index)?;
        if slot.generation != generation_of(token) || slot.io.is_none() {
            return None;
        }
        slot.generation = next_generation(slot.generation);
        self.free.push(index);
        slot.io.take()
    }

    fn is_empty(&self) -> bool {
        self.free.len() == self.slots.len()
    }

    fn live(&self) -> impl Iterator<Item = Arc<ScheduledIo>> + '_ {
        self.slots.iter().filter_map(|slot| slot.io.clone())
    }
}

// Readiness bits of the state word of a `ScheduledIo`.
const READABLE: usize = 1 << 0;
const WRITABLE: usize = 1 << 1;
const READ_CLOSED: usize = 1 << 2;
const WRITE_CLOSED: usize = 1 << 3;
const ERROR: usize = 1 << 4;
/// The source was released or its reactor dropped; never cleared.
const SHUTDOWN: usize = 1 << 5;
/// Bits that, once set, stay set: the OS will not report them again.
const FINAL: usize = READ_CLOSED | WRITE_CLOSED;
const READY_MASK: usize = READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED | ERROR;
/// The tick lives in the bits above the readiness.
const TICK_SHIFT: u32 = 16;
const TICK_MASK: usize = 0xff << TICK_SHIFT;

fn ready_bits(event: &mio::event::Event) -> usize {
    let mut ready = 0;
    if event.is_readable() || event.is_priority() {
        ready |= READABLE;
    }
    if event.is_writable() {
        ready |= WRITABLE;
    }
    if event.is_read_closed() {
        ready |= READ_CLOSED;
    }
    if event.is_write_closed() {
        ready |= WRITE_CLOSED;
    }
    if event.is_error() {
        ready |= ERROR;
    }
    ready
}

/// Which half of a source an operation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }
}

/// Readiness observed by `poll_ready`, to be handed back to
/// `clear_readiness` when the OS answers `WouldBlock`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadyEvent {
    tick: usize,
    ready: usize,
}

impl ReadyEvent {
    /// The same observation narrowed to the plain readable and writable bits,
    /// for clearing after a short read or write: the OS has been drained, but
    /// an error or a close it reported must still reach the next operation.
    pub(crate) fn edge_only(self) -> ReadyEvent {
        ReadyEvent {
            tick: self.tick,
            ready: self.ready & (READABLE | WRITABLE),
        }
    }
}

/// The readiness and waiters of one registered source.
#[derive(Default)]
struct ScheduledIo {
    state: AtomicUsize,
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    readers: Vec<Waker>,
    writers: Vec<Waker>,
}

impl ScheduledIo {
    /// Adds `ready` to the readiness and moves the tick on.
    fn set_readiness(&self, ready: usize) {
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                if state & SHUTDOWN != 0 {
                    return None;
                }
                let tick = (state & TICK_MASK).wrapping_add(1 << TICK_SHIFT) & TICK_MASK;
                Some((state & !TICK_MASK) | tick | ready)
            });
    }

    /// Moves the wakers of the directions `ready` concerns into `out`.
    fn take_wakers(&self, ready: usize, out: &mut Vec<Waker>) {
        let mut waiters = lock(&self.waiters);
        if ready & Direction::Read.mask() != 0 {
            out.append(&mut waiters.readers);
        }
        if ready & Direction::Write.mask() != 0 {
            out.append(&mut waiters.writers);
        }
    }

    fn shutdown(&self) {
        self.state.fetch_or(SHUTDOWN, Ordering::AcqRel);
        let mut to_wake = Vec::new();
        self.take_wakers(READY_MASK, &mut to_wake);
        for waker in to_wake {
            waker.wake();
        }
    }

    /// Returns the readiness for `direction` as of now, or `None`.
    fn observe(&self, direction: Direction) -> Option<io::Result<ReadyEvent>> {
        let state = self.state.load(Ordering::Acquire);
        if state & SHUTDOWN != 0 {
            return Some(Err(reactor_gone()));
        }
        let ready = state & direction.mask();
        if ready == 0 {
            return None;
        }
        Some(Ok(ReadyEvent {
            tick: state & TICK_MASK,
            ready,
        }))
    }

    fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        if let Some(result) = self.observe(direction) {
            return Poll::Ready(result);
        }
        let mut waiters = lock(&self.waiters);
        let list = match direction {
            Direction::Read => &mut waiters.readers,
            Direction::Write => &mut waiters.writers,
        };
        if !list.iter().any(|waker| waker.will_wake(cx.waker())) {
            list.push(cx.waker().clone());
        }
        // `park` may have set the readiness between the first look and the
        // lock; it takes the wakers only after setting it, so look again.
        match self.observe(direction) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }

    fn clear_readiness(&self, event: ReadyEvent) {
        let clear = event.ready & !FINAL;
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                if state & TICK_MASK != event.tick {
                    // An event arrived since the caller looked: keep it.
                    return None;
                }
                Some(state & !clear)
            });
    }
}

/// A source's membership in a reactor; releases its slot when dropped.
pub(crate) struct Registration {
    handle: Arc<Handle>,
    token: Token,
    io: Arc<ScheduledIo>,
}

impl Registration {
    /// Registers `source` for reading and writing with the reactor of the
    /// current thread's loop.
    pub(crate) fn new(source: &mut impl Source) -> io::Result<Registration> {
        Handle::current()?.register(source, Interest::READABLE | Interest::WRITABLE)
    }

    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        self.io.poll_ready(cx, direction)
    }

    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event);
    }

    /// Removes `source` from the OS poller; call before the source is closed.
    pub(crate) fn deregister(&self, source: &mut impl Source) -> io::Result<()> {
        self.handle.registry.deregister(source)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let removed = lock(&self.handle.slab).remove(self.token);
        drop(removed);
        self.io.shutdown();
    }
}

// Every mutex here guards data that no code leaves half-written (a slab whose
// operations cannot panic midway, lists of wakers), so a poisoned lock still
// holds valid data: recover it instead of panicking.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<CountWakes>, Waker) {
        let count = Arc::new(CountWakes(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn tokens_round_trip_index_and_generation() {
        let token = token_for(5, 9);
        assert_eq!(token.0 & INDEX_MASK, 5);
        assert_eq!(generation_of(token), 9);
        assert_ne!(
            token_for(MAX_SLOTS - 1, usize::MAX >> INDEX_BITS),
            WAKER_TOKEN
        );
        assert_eq!(next_generation(usize::MAX >> INDEX_BITS), 0);
    }

    #[test]
    fn a_reused_slot_ignores_the_old_token() {
        let mut slab = Slab::default();
        let first = slab.insert(Arc::default()).unwrap();
        assert!(slab.remove(first).is_some());
        let second = slab.insert(Arc::default()).unwrap();
        assert_eq!(first.0 & INDEX_MASK, second.0 & INDEX_MASK);
        assert_ne!(first, second);
        assert!(slab.get(first).is_none());
        assert!(slab.get(second).is_some());
        assert!(slab.remove(first).is_none(), "a stale token frees nothing");
        assert!(slab.get(second).is_some());
    }

    #[test]
    fn readiness_set_after_observation_survives_a_clear() {
        let io = ScheduledIo::default();
        let (_, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        io.set_readiness(READABLE);
        let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("readable source reported not ready");
        };
        // A new edge arrives between the read that said WouldBlock and the clear.
        io.set_readiness(READABLE);
        io.clear_readiness(event);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_ready());
        // Without an edge in between the clear takes effect.
        let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("readiness vanished");
        };
        io.clear_readiness(event);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
    }

    #[test]
    fn clearing_after_a_short_operation_keeps_errors_closes_and_new_edges() {
        let io = ScheduledIo::default();
        let (_, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        io.set_readiness(READABLE | ERROR);
        let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("readable source reported not ready");
        };
        io.clear_readiness(event.edge_only());
        assert_eq!(io.state.load(Ordering::SeqCst) & READY_MASK, ERROR);
        io.set_readiness(READABLE | READ_CLOSED);
        let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("readable source reported not ready");
        };
        // An edge between the short read and the clear survives it.
        io.set_readiness(READABLE);
        io.clear_readiness(event.edge_only());
        assert_eq!(
            io.state.load(Ordering::SeqCst) & READY_MASK,
            READABLE | READ_CLOSED | ERROR
        );
        let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("readiness vanished");
        };
        io.clear_readiness(event.edge_only());
        assert_eq!(
            io.state.load(Ordering::SeqCst) & READY_MASK,
            READ_CLOSED | ERROR
        );
    }

    #[test]
    fn read_and_write_waiters_are_woken_separately() {
        let io = ScheduledIo::default();
        let (reads, read_waker) = counting_waker();
        let (writes, write_waker) = counting_waker();
        assert!(io
            .poll_ready(&mut Context::from_waker(&read_waker), Direction::Read)
            .is_pending());
        assert!(io
            .poll_ready(&mut Context::from_waker(&write_waker), Direction::Write)
            .is_pending());
        let mut to_wake = Vec::new();
        io.set_readiness(WRITABLE);
        io.take_wakers(WRITABLE, &mut to_wake);
        to_wake.drain(..).for_each(Waker::wake);
        assert_eq!(reads.0.load(Ordering::SeqCst), 0);
        assert_eq!(writes.0.load(Ordering::SeqCst), 1);
        assert!(io
            .poll_ready(&mut Context::from_waker(&read_waker), Direction::Read)
            .is_pending());
    }

    #[test]
    fn closed_bits_are_final() {
        let io = ScheduledIo::default();
        let (_, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        io.set_readiness(READABLE | READ_CLOSED);
        let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("closed source reported not ready");
        };
        io.clear_readiness(event);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_ready());
    }

    #[test]
    fn shutdown_wakes_waiters_with_an_error() {
        let io = ScheduledIo::default();
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        // The same task polling again does not queue a second waker.
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        io.shutdown();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            io.poll_ready(&mut cx, Direction::Read),
            Poll::Ready(Err(_))
        ));
    }

    #[test]
    fn sockets_without_a_context_get_a_clear_error() {
        let error = match Handle::current() {
            Ok(_) => panic!("a reactor was found outside any loop"),
            Err(error) => error,
        };
        assert_eq!(error.kind(), io::ErrorKind::Unsupported);
        assert!(error.to_string().contains("no corio IO reactor"));
        let _guard = corio_core::enter_io_context(Some(Arc::new(1u8)));
        assert!(
            Handle::current().is_err(),
            "a foreign context is not a reactor"
        );
    }

    #[test]
    fn unparks_coalesce_and_are_not_lost() {
        let mut reactor = Reactor::new().unwrap();
        let unparker = reactor.unparker();
        unparker.unpark();
        unparker.unpark();
        reactor.park(None).unwrap();
        assert!(!reactor.handle.unparked.load(Ordering::SeqCst));
        // After the coalesced wake-up was consumed, a new unpark wakes again.
        unparker.unpark();
        reactor.park(None).unwrap();
    }
}
