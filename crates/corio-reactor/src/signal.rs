//! Waiting for OS signals.
//!
//! # Implementation
//!
//! The first call installs a `SIGINT` handler (with `sigaction`) that counts
//! the signal and writes a byte to a process-wide nonblocking pipe. Each
//! waiting future registers its own duplicate of the pipe's read end with
//! the reactor of its loop, so that every loop's poller sees the write, and
//! completes once the count has moved past the value it started from.

use std::future::poll_fn;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{ready, Poll};

use corio_core::coop;
use mio::Interest;

use crate::registration::Registration;
use crate::scheduled_io::Direction;
use crate::sys::{install_sigint_handler, SIGINT_COUNT};

/// Waits for the next Ctrl-C (`SIGINT`) delivered to the process.
///
/// The first call replaces the default action of `SIGINT` (terminating the
/// process) for the rest of the process's life: after it, Ctrl-C only
/// completes these futures. Signals that arrive before the first poll are
/// not seen.
///
/// # Errors
///
/// Returns an error when no corio reactor runs on this thread, or the OS
/// error when the pipe or the handler cannot be set up.
///
/// # Examples
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// corio_reactor::signal::ctrl_c().await?;
/// println!("shutting down");
/// # Ok(()) }
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let waiter = Waiter::new();
    let start = SIGINT_COUNT.load(Ordering::Acquire);
    let pipe = Registration::new(
        mio::unix::pipe::Receiver::from(read_end()?),
        Interest::READABLE,
    )?;
    poll_fn(|cx| {
        let permit = ready!(coop::poll_proceed(cx));
        loop {
            if SIGINT_COUNT.load(Ordering::Acquire) != start {
                permit.made_progress();
                waiter.drain_if_last(&pipe);
                return Poll::Ready(Ok(()));
            }
            let event = ready!(pipe.poll_ready(cx, Direction::Read))?;
            pipe.clear_readiness(event);
        }
    })
    .await
}

/// The process-wide self-pipe: its read end, and the write end that the
/// handler writes to, which stays open for the rest of the process.
struct SelfPipe {
    receiver: mio::unix::pipe::Receiver,
    _sender: mio::unix::pipe::Sender,
}

static PIPE: Mutex<Option<SelfPipe>> = Mutex::new(None);

/// Returns a new descriptor for the self-pipe's read end, setting up the
/// pipe and the handler on first use.
fn read_end() -> io::Result<std::os::fd::OwnedFd> {
    let mut pipe = corio_core::lock(&PIPE);
    if pipe.is_none() {
        let (sender, receiver) = mio::unix::pipe::new()?;
        install_sigint_handler(sender.as_raw_fd())?;
        *pipe = Some(SelfPipe {
            receiver,
            _sender: sender,
        });
    }
    let Some(pipe) = pipe.as_ref() else {
        unreachable!("the pipe was set up above");
    };
    pipe.receiver.as_fd().try_clone_to_owned()
}

/// How many `ctrl_c` futures are waiting right now.
static WAITERS: AtomicUsize = AtomicUsize::new(0);

/// Counts one waiting future while it lives.
struct Waiter;

impl Waiter {
    fn new() -> Waiter {
        WAITERS.fetch_add(1, Ordering::AcqRel);
        Waiter
    }

    /// Empties the pipe, unless other futures wait: their pollers may not
    /// have seen the bytes yet, and an edge-triggered poller skips a
    /// descriptor that is no longer readable. Every waiter counts itself
    /// before reading its start count, so a signal drained here is one any
    /// later waiter already counts as past.
    fn drain_if_last(&self, pipe: &Registration<mio::unix::pipe::Receiver>) {
        if WAITERS.load(Ordering::Acquire) != 1 {
            return;
        }
        let mut sink = [0u8; 64];
        while let Ok(read) = pipe.get_ref().read(&mut sink) {
            if read == 0 {
                break;
            }
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        WAITERS.fetch_sub(1, Ordering::AcqRel);
    }
}
