//! The readiness of one registered source and the tasks waiting on it
//! (tokio's `ScheduledIo` scheme).
//!
//! # The readiness word
//!
//! One `AtomicUsize` per source:
//!
//! | bits  | meaning                                                        |
//! | ----- | -------------------------------------------------------------- |
//! | 0     | [`READABLE`]                                                   |
//! | 1     | [`WRITABLE`]                                                   |
//! | 2     | [`READ_CLOSED`]: the peer will send nothing more (final)       |
//! | 3     | [`WRITE_CLOSED`]: nothing more can be sent (final)             |
//! | 4     | [`ERROR`]: the OS reported an error on the source              |
//! | 5     | [`SHUTDOWN`]: the registration or the reactor is gone (final)  |
//! | 16-23 | the tick, which every event moves on by one (wrapping)         |
//!
//! Beside the word, under a mutex, are two waiter lists: the wakers of the
//! tasks waiting to read and of those waiting to write. A [`Direction`]
//! picks the bits and the list an operation cares about; an error concerns
//! both directions.
//!
//! # Who sets and who clears what
//!
//! * The reactor's `park` (the only writer of readiness besides shutdown)
//!   ORs an event's bits into the word and moves the tick on
//!   ([`ScheduledIo::set_readiness`]), then takes the wakers of the
//!   directions the event concerns and wakes them
//!   ([`ScheduledIo::take_wakers`]).
//! * An operation observes the word ([`ScheduledIo::poll_ready`]), which
//!   hands it a [`ReadyEvent`]: the bits it saw and the tick they were seen
//!   at. When the OS then says `WouldBlock`, the operation gives the event
//!   back to [`ScheduledIo::clear_readiness`], which clears those bits only
//!   if the tick is still the one seen (the tick rule). If an event arrived
//!   in between, the tick moved and the readiness stays set, so that edge is
//!   never lost: mio is edge-triggered and would not report it again.
//! * A stream read or write that moves fewer bytes than asked (but more than
//!   none) has drained the socket for that direction: it clears the plain
//!   readable or writable bit it observed ([`ReadyEvent::edge_only`]) under
//!   the same tick rule, so the next operation waits for the next edge
//!   instead of making a system call that would say `WouldBlock`. Error and
//!   closed bits stay.
//! * A task that finds no readiness stores its waker under the waiter lock
//!   and reads the word again before returning `Pending`; `park` sets the
//!   word before taking that lock, so one of the two always sees the other.
//! * The closed bits are final: [`ScheduledIo::clear_readiness`] never
//!   clears them.
//! * Dropping the registration or the reactor sets [`SHUTDOWN`] and wakes
//!   every waiter ([`ScheduledIo::shutdown`]); from then on the word takes
//!   no more readiness and operations fail with an `io::Error` instead of
//!   waiting forever.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use corio_core::lock;

use crate::error::reactor_gone;

// Readiness bits of the word; see the module docs.
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

/// The readiness bits a mio event reports.
pub(crate) fn ready_bits(event: &mio::event::Event) -> usize {
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
pub(crate) struct ScheduledIo {
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
    pub(crate) fn set_readiness(&self, ready: usize) {
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
    pub(crate) fn take_wakers(&self, ready: usize, out: &mut Vec<Waker>) {
        let mut waiters = lock(&self.waiters);
        if ready & Direction::Read.mask() != 0 {
            out.append(&mut waiters.readers);
        }
        if ready & Direction::Write.mask() != 0 {
            out.append(&mut waiters.writers);
        }
    }

    /// Marks the source as gone for good and wakes every waiter.
    pub(crate) fn shutdown(&self) {
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

    /// Returns the readiness for `direction`, or stores the task's waker
    /// and returns `Pending` when there is none.
    pub(crate) fn poll_ready(
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

    /// Clears the readiness seen in `event`, unless an event arrived since
    /// (the tick rule); final bits stay.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use corio_test_support::{counting_waker, noop_waker};

    #[test]
    fn readiness_set_after_observation_survives_a_clear() {
        let io = ScheduledIo::default();
        let waker = noop_waker();
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
        let waker = noop_waker();
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
        let (read_waker, reads) = counting_waker();
        let (write_waker, writes) = counting_waker();
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
        assert_eq!(reads.count(), 0);
        assert_eq!(writes.count(), 1);
        assert!(io
            .poll_ready(&mut Context::from_waker(&read_waker), Direction::Read)
            .is_pending());
    }

    #[test]
    fn closed_bits_are_final() {
        let io = ScheduledIo::default();
        let waker = noop_waker();
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
        let (waker, count) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        // The same task polling again does not queue a second waker.
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        io.shutdown();
        assert_eq!(count.count(), 1);
        assert!(matches!(
            io.poll_ready(&mut cx, Direction::Read),
            Poll::Ready(Err(_))
        ));
    }
}
