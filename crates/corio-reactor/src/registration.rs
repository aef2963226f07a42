//! A mio source registered with the current loop's reactor: the one type
//! that owns the source, its slot in the reactor and its readiness (tokio's
//! `PollEvented`), and the loop every socket operation runs.
//!
//! # Protocol
//!
//! * A source registers for the interest it needs and no more: a listener
//!   or a signal pipe only reads, a stream or a UDP socket reads and writes.
//!   Waiting for a direction outside the interest would wait forever, so
//!   debug builds assert against it.
//! * Every operation ([`Registration::poll_io`],
//!   [`Registration::poll_stream_io`]) asks the cooperative budget first
//!   (a completed operation costs one unit), then loops: wait for readiness
//!   in its direction, try the system call, and on `WouldBlock` clear the
//!   readiness it saw (under the tick rule of
//!   [`scheduled_io`](crate::scheduled_io)) and wait again. `Interrupted`
//!   retries at once.
//! * A stream read or write that moves fewer bytes than asked, but more
//!   than none, clears the plain readable or writable bit it saw as well:
//!   the socket is drained for that direction (tokio's rule).
//! * Dropping the registration deregisters the source from the poller,
//!   closes it, frees its slot (retiring the token) and shuts its
//!   readiness down, which wakes anyone still waiting with an error.

use std::io;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use corio_core::coop;
use mio::event::Source;
use mio::{Interest, Token};

use crate::reactor::Handle;
use crate::scheduled_io::{Direction, ReadyEvent, ScheduledIo};

/// A mio source plus its registration with the reactor; deregisters the
/// source and frees its slot when dropped.
pub(crate) struct Registration<S: Source> {
    // Always `Some` until `drop`, which takes it to deregister it.
    source: Option<S>,
    interest: Interest,
    handle: Arc<Handle>,
    token: Token,
    io: Arc<ScheduledIo>,
}

impl<S: Source> Registration<S> {
    /// Registers `source` for `interest` with the reactor of the current
    /// thread's loop.
    pub(crate) fn new(mut source: S, interest: Interest) -> io::Result<Self> {
        let handle = Handle::current()?;
        let (token, io) = handle.register(&mut source, interest)?;
        Ok(Registration {
            source: Some(source),
            interest,
            handle,
            token,
            io,
        })
    }

    pub(crate) fn get_ref(&self) -> &S {
        self.source
            .as_ref()
            .expect("the source is only taken out in drop")
    }

    /// The interest the source is registered for.
    #[cfg(test)]
    pub(crate) fn interest(&self) -> Interest {
        self.interest
    }

    /// Runs `operation` once the source is ready for `direction`, until it
    /// stops saying `WouldBlock`. A coop leaf: costs one unit of budget when
    /// it completes.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        operation: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_operation(cx, direction, operation, |_| false)
    }

    /// Like [`poll_io`](Self::poll_io) for a byte-stream read or write of up
    /// to `requested` bytes. When `operation` moves fewer bytes than that but
    /// more than none, the socket is drained for `direction` (tokio's rule),
    /// so the readiness observed before the call is cleared, unless an event
    /// arrived meanwhile: the next call then waits for the next edge instead
    /// of making a system call that would say `WouldBlock`. A read of 0 (end
    /// of file) keeps the readiness, so later reads return 0 at once.
    ///
    /// Only for stream sockets: a datagram read returns one datagram however
    /// many more are queued, so its length says nothing about what is left.
    pub(crate) fn poll_stream_io(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        requested: usize,
        operation: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_operation(cx, direction, operation, |&moved| {
            moved > 0 && moved < requested
        })
    }

    /// The loop behind both: `drained` says whether a successful result
    /// shows that the socket has nothing more for `direction`.
    fn poll_operation<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut operation: impl FnMut(&S) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let permit = ready!(coop::poll_proceed(cx));
        loop {
            let event = ready!(self.poll_ready(cx, direction))?;
            match operation(self.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear_readiness(event);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                result => {
                    if result.as_ref().is_ok_and(&drained) {
                        self.io.clear_readiness(event.edge_only());
                    }
                    permit.made_progress();
                    return Poll::Ready(result);
                }
            }
        }
    }

    /// Waits until the source is ready for `direction` without doing IO.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        debug_assert!(
            match direction {
                Direction::Read => self.interest.is_readable(),
                Direction::Write => self.interest.is_writable(),
            },
            "waiting for {direction:?} on a source registered for {:?}",
            self.interest
        );
        self.io.poll_ready(cx, direction)
    }

    /// Forgets readiness seen in `event` (unless a newer event arrived).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event);
    }
}

impl<S: Source> Drop for Registration<S> {
    fn drop(&mut self) {
        if let Some(mut source) = self.source.take() {
            // Failing to deregister leaves nothing to undo: closing the
            // descriptor right after removes it from the poller anyway.
            let _ = self.handle.deregister(&mut source);
        }
        self.handle.release(self.token);
        self.io.shutdown();
    }
}

impl<S: Source + std::fmt::Debug> std::fmt::Debug for Registration<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get_ref().fmt(f)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::test_util::{entered_reactor, park_until, poll_once};
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    /// A registered stream socket and the plain blocking socket at its other end.
    fn registered_pair() -> (Registration<mio::net::UnixStream>, UnixStream) {
        let (ours, theirs) = mio::net::UnixStream::pair().unwrap();
        let ours = Registration::new(ours, Interest::READABLE | Interest::WRITABLE).unwrap();
        (ours, UnixStream::from(std::os::fd::OwnedFd::from(theirs)))
    }

    /// Polls one stream read into `buf`, counting the system calls in `calls`.
    fn poll_read(
        io: &Registration<mio::net::UnixStream>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        calls: &mut usize,
    ) -> Poll<io::Result<usize>> {
        io.poll_stream_io(cx, Direction::Read, buf.len(), |mut source| {
            *calls += 1;
            source.read(buf)
        })
    }

    /// Polls one stream write of `buf`, counting the system calls in `calls`.
    fn poll_write(
        io: &Registration<mio::net::UnixStream>,
        cx: &mut Context<'_>,
        buf: &[u8],
        calls: &mut usize,
    ) -> Poll<io::Result<usize>> {
        io.poll_stream_io(cx, Direction::Write, buf.len(), |mut source| {
            *calls += 1;
            source.write(buf)
        })
    }

    #[test]
    fn a_short_read_waits_for_the_next_edge_without_a_system_call() {
        let (mut reactor, _context) = entered_reactor();
        let (io, mut theirs) = registered_pair();
        let mut buf = [0; 64];
        let mut calls = 0;
        theirs.write_all(b"hello").unwrap();
        let read = park_until(&mut reactor, |cx| poll_read(&io, cx, &mut buf, &mut calls));
        assert_eq!(read.unwrap(), 5);
        let before = calls;
        // The short read drained the socket: no `recv` that would say EAGAIN.
        assert!(poll_once(|cx| poll_read(&io, cx, &mut buf, &mut calls)).is_pending());
        assert_eq!(calls, before, "a drained socket was read again");
        // The next edge is not lost.
        theirs.write_all(b"more").unwrap();
        let read = park_until(&mut reactor, |cx| poll_read(&io, cx, &mut buf, &mut calls));
        assert_eq!(read.unwrap(), 4);
        assert_eq!(&buf[..4], b"more");
        // Data then end-of-file: the short read keeps the closed bit, and
        // end-of-file stays readable without waiting.
        theirs.write_all(b"last").unwrap();
        theirs.shutdown(std::net::Shutdown::Write).unwrap();
        let mut seen = Vec::new();
        loop {
            let read = park_until(&mut reactor, |cx| poll_read(&io, cx, &mut buf, &mut calls));
            let read = read.unwrap();
            if read == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..read]);
        }
        assert_eq!(seen, b"last");
        for _ in 0..3 {
            let again = poll_once(|cx| poll_read(&io, cx, &mut buf, &mut calls));
            assert!(
                matches!(again, Poll::Ready(Ok(0))),
                "end-of-file was forgotten"
            );
        }
    }

    #[test]
    fn a_short_write_waits_for_room_without_a_system_call() {
        let (mut reactor, _context) = entered_reactor();
        let (io, mut theirs) = registered_pair();
        let chunk = vec![7u8; 1 << 20];
        let mut calls = 0;
        // Write until the kernel takes less than asked: the buffer is full.
        let mut written = 0;
        loop {
            let wrote = park_until(&mut reactor, |cx| poll_write(&io, cx, &chunk, &mut calls));
            let wrote = wrote.unwrap();
            written += wrote;
            if wrote < chunk.len() {
                break;
            }
        }
        let before = calls;
        assert!(poll_once(|cx| poll_write(&io, cx, &chunk, &mut calls)).is_pending());
        assert_eq!(calls, before, "a full socket was written again");
        // Draining the peer brings a new edge, and the write goes through.
        let mut sink = vec![0; 1 << 16];
        let mut drained = 0;
        while drained < written {
            drained += theirs.read(&mut sink).unwrap();
        }
        let wrote = park_until(&mut reactor, |cx| poll_write(&io, cx, &chunk, &mut calls));
        assert!(wrote.unwrap() > 0);
    }
}
