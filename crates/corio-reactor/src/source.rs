//! A mio source registered with the current loop's reactor, and the loop
//! every socket operation runs: ask the budget, wait for readiness, try the
//! system call, and on `WouldBlock` clear the readiness it saw and wait again.

use std::io;
use std::task::{ready, Context, Poll};

use corio_core::coop;
use mio::event::Source;

use crate::reactor::{Direction, ReadyEvent, Registration};

/// A mio source plus its registration; deregisters the source when dropped.
pub(crate) struct Registered<S: Source> {
    // Always `Some` until `drop`, which takes it to deregister it.
    source: Option<S>,
    registration: Registration,
}

impl<S: Source> Registered<S> {
    /// Registers `source` for reading and writing with the current reactor.
    pub(crate) fn new(mut source: S) -> io::Result<Self> {
        let registration = Registration::new(&mut source)?;
        Ok(Registered {
            source: Some(source),
            registration,
        })
    }

    pub(crate) fn get_ref(&self) -> &S {
        self.source
            .as_ref()
            .expect("the source is only taken out in drop")
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
            let event = ready!(self.registration.poll_ready(cx, direction))?;
            match operation(self.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.registration.clear_readiness(event);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                result => {
                    if result.as_ref().is_ok_and(&drained) {
                        self.registration.clear_readiness(event.edge_only());
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
        self.registration.poll_ready(cx, direction)
    }

    /// Forgets readiness seen in `event` (unless a newer event arrived).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.registration.clear_readiness(event);
    }
}

impl<S: Source> Drop for Registered<S> {
    fn drop(&mut self) {
        if let Some(mut source) = self.source.take() {
            // Failing to deregister leaves nothing to undo: closing the
            // descriptor right after removes it from the poller anyway.
            let _ = self.registration.deregister(&mut source);
        }
    }
}

impl<S: Source + std::fmt::Debug> std::fmt::Debug for Registered<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get_ref().fmt(f)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::Reactor;
    use corio_core::Driver;
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    /// Polls one stream operation of `requested` bytes, counting how many
    /// times the system call runs.
    fn poll_counted<S: Source>(
        io: &Registered<S>,
        direction: Direction,
        requested: usize,
        calls: &mut usize,
        mut operation: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        io.poll_stream_io(&mut cx, direction, requested, |source| {
            *calls += 1;
            operation(source)
        })
    }

    /// Parks until `poll` is ready.
    fn park_until<T>(reactor: &mut Reactor, mut poll: impl FnMut() -> Poll<T>) -> T {
        loop {
            if let Poll::Ready(value) = poll() {
                return value;
            }
            reactor.park(None).unwrap();
        }
    }

    #[test]
    fn a_short_read_waits_for_the_next_edge_without_a_system_call() {
        let mut reactor = Reactor::new().unwrap();
        let _context = corio_core::enter_io_context(reactor.io_context());
        let (ours, theirs) = mio::net::UnixStream::pair().unwrap();
        let io = Registered::new(ours).unwrap();
        let mut theirs = std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(theirs));
        let mut buf = [0; 64];
        let mut calls = 0;
        theirs.write_all(b"hello").unwrap();
        let read = park_until(&mut reactor, || {
            poll_counted(&io, Direction::Read, 64, &mut calls, |mut s| {
                s.read(&mut buf)
            })
        });
        assert_eq!(read.unwrap(), 5);
        let before = calls;
        // The short read drained the socket: no `recv` that would say EAGAIN.
        assert!(poll_counted(&io, Direction::Read, 64, &mut calls, |mut s| s
            .read(&mut buf))
        .is_pending());
        assert_eq!(calls, before, "a drained socket was read again");
        // The next edge is not lost.
        theirs.write_all(b"more").unwrap();
        let read = park_until(&mut reactor, || {
            poll_counted(&io, Direction::Read, 64, &mut calls, |mut s| {
                s.read(&mut buf)
            })
        });
        assert_eq!(read.unwrap(), 4);
        assert_eq!(&buf[..4], b"more");
        // Data then end-of-file: the short read keeps the closed bit, and
        // end-of-file stays readable without waiting.
        theirs.write_all(b"last").unwrap();
        theirs.shutdown(std::net::Shutdown::Write).unwrap();
        let mut seen = Vec::new();
        loop {
            let read = park_until(&mut reactor, || {
                poll_counted(&io, Direction::Read, 64, &mut calls, |mut s| {
                    s.read(&mut buf)
                })
            })
            .unwrap();
            if read == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..read]);
        }
        assert_eq!(seen, b"last");
        for _ in 0..3 {
            let again = poll_counted(&io, Direction::Read, 64, &mut calls, |mut s| {
                s.read(&mut buf)
            });
            assert!(
                matches!(again, Poll::Ready(Ok(0))),
                "end-of-file was forgotten"
            );
        }
    }

    #[test]
    fn a_short_write_waits_for_room_without_a_system_call() {
        let mut reactor = Reactor::new().unwrap();
        let _context = corio_core::enter_io_context(reactor.io_context());
        let (ours, theirs) = mio::net::UnixStream::pair().unwrap();
        let io = Registered::new(ours).unwrap();
        let mut theirs = std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(theirs));
        let chunk = vec![7u8; 1 << 20];
        let mut calls = 0;
        // Write until the kernel takes less than asked: the buffer is full.
        let mut written = 0;
        loop {
            let wrote = park_until(&mut reactor, || {
                poll_counted(&io, Direction::Write, chunk.len(), &mut calls, |mut s| {
                    s.write(&chunk)
                })
            })
            .unwrap();
            written += wrote;
            if wrote < chunk.len() {
                break;
            }
        }
        let before = calls;
        assert!(
            poll_counted(&io, Direction::Write, chunk.len(), &mut calls, |mut s| {
                s.write(&chunk)
            })
            .is_pending()
        );
        assert_eq!(calls, before, "a full socket was written again");
        // Draining the peer brings a new edge, and the write goes through.
        let mut sink = vec![0; 1 << 16];
        let mut drained = 0;
        while drained < written {
            drained += theirs.read(&mut sink).unwrap();
        }
        let wrote = park_until(&mut reactor, || {
            poll_counted(&io, Direction::Write, chunk.len(), &mut calls, |mut s| {
                s.write(&chunk)
            })
        });
        assert!(wrote.unwrap() > 0);
    }
}
