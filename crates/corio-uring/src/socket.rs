//! [`Socket`]: a std socket registered with the current loop's io_uring
//! driver, and the polls every socket type is made of.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

use corio_core::coop;

use crate::driver::Shared;
use crate::state::{Direction, Key, State};

/// A std socket (`T`) plus its slot in the driver. Dropping it hands the
/// descriptor to the driver, which closes it once no operation on it is in
/// flight.
pub(crate) struct Socket<T: AsRawFd + Into<OwnedFd>> {
    // Always `Some` until `drop`, which hands it to the driver.
    io: Option<T>,
    shared: Arc<Shared>,
    key: Key,
}

/// The error of a socket created where no io_uring driver runs.
pub(crate) fn no_driver() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, crate::Error::NoDriver)
}

impl<T: AsRawFd + Into<OwnedFd>> Socket<T> {
    /// Registers `io` (a nonblocking socket) with the current loop's driver.
    pub(crate) fn new(io: T) -> io::Result<Socket<T>> {
        let shared = Shared::current().ok_or_else(no_driver)?;
        let key = shared.lock().insert(io.as_raw_fd())?;
        Ok(Socket {
            io: Some(io),
            shared,
            key,
        })
    }

    pub(crate) fn get_ref(&self) -> &T {
        self.io
            .as_ref()
            .expect("the socket is only taken out in drop")
    }

    /// Runs `operation` on the state under its lock; `None` means "wait".
    /// A coop leaf: a result costs one unit of budget.
    fn poll_state<R>(
        &self,
        cx: &mut Context<'_>,
        operation: impl FnOnce(&mut State, Key, &Waker) -> Option<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        let permit = ready!(coop::poll_proceed(cx));
        let (result, queued) = {
            let mut state = self.shared.lock();
            let before = state.pending.len();
            let result = operation(&mut state, self.key, cx.waker());
            (result, state.pending.len() != before)
        };
        if queued {
            self.shared.queued();
        }
        match result {
            Some(result) => {
                permit.made_progress();
                Poll::Ready(result)
            }
            None => Poll::Pending,
        }
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_state(cx, |state, key, waker| state.read(key, waker, buf))
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(buf)])
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_state(cx, |state, key, waker| state.write(key, waker, bufs))
    }

    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_state(cx, |state, key, waker| state.flush(key, waker))
    }

    /// Flushes, then shuts the write side down.
    pub(crate) fn poll_close(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(cx))?;
        Poll::Ready(self.shutdown_write())
    }

    /// Shuts the write side down once what was written is sent.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        let result = self.shared.lock().shutdown_write(self.key);
        result
    }

    pub(crate) fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<OwnedFd>> {
        self.poll_state(cx, |state, key, waker| state.accept(key, waker))
    }

    /// Runs the nonblocking `operation` once the socket is ready for
    /// `direction`, until it stops saying `WouldBlock`.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut operation: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            ready!(self.poll_ready(cx, direction))?;
            match operation(self.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.shared.lock().clear_ready(self.key, direction);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    /// Waits until a one-shot poll saw the socket ready for `direction`.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<()>> {
        self.poll_state(cx, |state, key, waker| state.ready(key, waker, direction))
    }

    pub(crate) fn clear_ready(&self, direction: Direction) {
        self.shared.lock().clear_ready(self.key, direction);
    }
}

impl<T: AsRawFd + Into<OwnedFd>> Drop for Socket<T> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            let queued = {
                let mut state = self.shared.lock();
                let before = state.pending.len();
                state.release(self.key, io.into());
                state.pending.len() != before
            };
            if queued {
                self.shared.queued();
            }
        }
    }
}

impl<T: AsRawFd + Into<OwnedFd> + std::fmt::Debug> std::fmt::Debug for Socket<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get_ref().fmt(f)
    }
}
