//! The reactor: the [`Driver`] that waits for OS readiness events and wakes
//! the tasks waiting on the sources that became ready, and the [`Handle`] it
//! shares with its sources and unparkers.
//!
//! # Protocol
//!
//! * `park` blocks in [`mio::Poll::poll`] (retrying interruptions until the
//!   timeout), then dispatches: for each event it looks the token up in the
//!   [`Slab`] (a stale token finds nothing and the event is dropped), sets
//!   the event's readiness on the source's [`ScheduledIo`] and takes the
//!   wakers of the directions the event concerns. It wakes them after
//!   releasing the slab lock, so a woken task that registers or drops a
//!   source on another thread never waits for the dispatch.
//! * A `park` with a zero timeout and nothing registered returns at once:
//!   a loop checks for IO every few dozen polls even when it runs no socket.
//! * Unparking goes through a [`mio::Waker`] registered under
//!   [`WAKER_TOKEN`], behind the `unparked` flag: the first unpark since the
//!   last wake-up sets the flag and makes the system call, later ones find
//!   it set and return. `park` clears the flag when it sees the wake-up
//!   event, so the unparks before that point are answered by this very
//!   return from `park`, and the ones after it make a new wake-up.
//! * Registering ([`Handle::register`]) takes a slot, then registers the
//!   source with the poller under the slot's token for the interest asked;
//!   releasing ([`Handle::release`]) frees the slot, which retires the token.
//! * Dropping the reactor sets `is_shutdown`, so that no source registers
//!   any more, and shuts down every live [`ScheduledIo`], which wakes its
//!   waiters with an error: sockets may outlive their reactor.

use std::any::Any;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

use corio_core::{lock, Driver, Unpark};
use mio::event::Source;
use mio::{Interest, Token};

use crate::error::{no_reactor, reactor_gone};
use crate::scheduled_io::{ready_bits, ScheduledIo};
use crate::slab::{Slab, WAKER_TOKEN};

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
                empty: AtomicBool::new(true),
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
        if timeout == Some(Duration::ZERO) && self.handle.empty.load(Ordering::Relaxed) {
            // A loop checks for IO every few dozen polls even when it runs no
            // socket: with nothing registered there is nothing to dispatch,
            // so skip the system call. The flag spares those checks the slab's
            // lock (the multi-thread runtime's workers check in turn, and the
            // lock's line moved between them); a source registered meanwhile
            // is polled at the next check, as it would be after the lock.
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
        let ios: Vec<Arc<ScheduledIo>> = lock(&self.handle.slab).live().cloned().collect();
        for io in ios {
            io.shutdown();
        }
    }
}

/// The state the reactor shares with its sources and unparkers.
pub(crate) struct Handle {
    registry: mio::Registry,
    waker: mio::Waker,
    /// Set by the first `unpark` since the last wake-up was seen by `park`;
    /// later unparks find it set and need no system call.
    unparked: AtomicBool,
    is_shutdown: AtomicBool,
    slab: Mutex<Slab<Arc<ScheduledIo>>>,
    /// Whether the slab is empty, written under its lock after every change
    /// and read without it by a non-blocking `park`.
    empty: AtomicBool,
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

    /// Registers `source` with the poller for `interest`; returns its token
    /// and the readiness that the reactor will keep for it.
    pub(crate) fn register(
        &self,
        source: &mut impl Source,
        interest: Interest,
    ) -> io::Result<(Token, Arc<ScheduledIo>)> {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(reactor_gone());
        }
        let io = Arc::new(ScheduledIo::default());
        let token = self.change_slab(|slab| slab.insert(io.clone()))?;
        if let Err(error) = self.registry.register(source, token, interest) {
            self.change_slab(|slab| slab.remove(token));
            return Err(error);
        }
        Ok((token, io))
    }

    /// Removes `source` from the poller; call before the source is closed.
    pub(crate) fn deregister(&self, source: &mut impl Source) -> io::Result<()> {
        self.registry.deregister(source)
    }

    /// Frees the slot of `token`, so that later events for it are ignored.
    pub(crate) fn release(&self, token: Token) {
        let removed = self.change_slab(|slab| slab.remove(token));
        // The slab lock is released before the entry is dropped.
        drop(removed);
    }

    /// Changes the slab under its lock with `change`, then records whether
    /// it is empty.
    fn change_slab<R>(&self, change: impl FnOnce(&mut Slab<Arc<ScheduledIo>>) -> R) -> R {
        let mut slab = lock(&self.slab);
        let result = change(&mut slab);
        self.empty.store(slab.is_empty(), Ordering::Relaxed);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn dropping_the_reactor_refuses_new_sources() {
        let reactor = Reactor::new().unwrap();
        let handle = reactor.handle.clone();
        drop(reactor);
        let (mut ours, _theirs) = mio::net::UnixStream::pair().unwrap();
        let error = handle
            .register(&mut ours, Interest::READABLE)
            .err()
            .expect("a shut-down reactor registered a source");
        assert!(error.to_string().contains("has shut down"));
    }

    /// The events mask epoll holds for `fd` in the epoll instance `epoll`,
    /// from `/proc/self/fdinfo`.
    #[cfg(target_os = "linux")]
    fn epoll_events(epoll: i32, fd: i32) -> u32 {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{epoll}")).unwrap();
        for line in info.lines() {
            let mut words = line.split_whitespace();
            if words.next() != Some("tfd:") || words.next() != Some(fd.to_string().as_str()) {
                continue;
            }
            assert_eq!(words.next(), Some("events:"));
            return u32::from_str_radix(words.next().unwrap(), 16).unwrap();
        }
        panic!("descriptor {fd} is not registered with epoll {epoll}: {info}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_poller_gets_exactly_the_interest_asked_for() {
        use std::os::fd::AsRawFd;

        let reactor = Reactor::new().unwrap();
        let epoll = reactor.poll.as_raw_fd();
        let (mut reader, mut both) = mio::net::UnixStream::pair().unwrap();
        let (reader_token, _) = reactor
            .handle
            .register(&mut reader, Interest::READABLE)
            .unwrap();
        let (both_token, _) = reactor
            .handle
            .register(&mut both, Interest::READABLE | Interest::WRITABLE)
            .unwrap();
        let reader_events = epoll_events(epoll, reader.as_raw_fd());
        let both_events = epoll_events(epoll, both.as_raw_fd());
        let (epollin, epollout) = (libc::EPOLLIN as u32, libc::EPOLLOUT as u32);
        assert_eq!(reader_events & (epollin | epollout), epollin);
        assert_eq!(both_events & (epollin | epollout), epollin | epollout);
        reactor.handle.deregister(&mut reader).unwrap();
        reactor.handle.deregister(&mut both).unwrap();
        reactor.handle.release(reader_token);
        reactor.handle.release(both_token);
    }
}
