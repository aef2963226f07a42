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
        mut operation: impl FnMut(&S) -> io::Result<R>,
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
