//! A completion-based IO driver for corio on Linux's io_uring, and its
//! sockets.
//!
//! [`UringDriver`] implements [`corio_core::Driver`] like the mio reactor
//! does, so an executor runs on it unchanged: give it to
//! `Builder::driver`, or set `CORIO_DRIVER=uring` for the facade's loops.
//! The facade's `corio::net` types then use the sockets of [`net`]; user code
//! does not change.
//!
//! * Reads are multishot receives into a ring of buffers the driver owns:
//!   one submission serves every read of a connection until it ends, and a
//!   read copies the queued bytes out without a system call.
//! * Writes are copied into buffers the driver owns and sent, one send in
//!   flight per socket (short sends resubmit the rest); over 256 KiB in
//!   flight, `poll_write` waits.
//! * Accepts are multishot; connects and UDP sockets use one-shot polls and
//!   plain system calls.
//! * Every submission of a loop iteration goes to the kernel in the one
//!   `io_uring_enter` that also waits for completions (and for the timeout
//!   the executor asks, and for cross-thread wake-ups through an eventfd).
//!
//! Cancellation is dropping: a dropped read or write future owns no buffer
//! the kernel uses, bytes received and not read stay queued for the next
//! read, and a dropped socket is closed once the kernel has finished every
//! operation on it.
//!
//! # Example
//!
//! ```
//! use corio_core::Driver;
//! use corio_uring::{net::UdpSocket, UringDriver};
//! use std::future::Future;
//! use std::pin::pin;
//! use std::sync::Arc;
//! use std::task::{Context, Poll, Wake, Waker};
//!
//! struct Nothing;
//! impl Wake for Nothing {
//!     fn wake(self: Arc<Self>) {}
//! }
//!
//! let Ok(mut driver) = UringDriver::new() else {
//!     return Ok(()); // no io_uring here
//! };
//! let _context = corio_core::enter_io_context(driver.io_context());
//! let mut echo = pin!(async {
//!     let a = UdpSocket::bind("127.0.0.1:0").await?;
//!     let b = UdpSocket::bind("127.0.0.1:0").await?;
//!     a.send_to(b"hello", b.local_addr()?).await?;
//!     let mut buf = [0; 16];
//!     let (len, from) = b.recv_from(&mut buf).await?;
//!     assert_eq!((&buf[..len], from), (&b"hello"[..], a.local_addr()?));
//!     std::io::Result::Ok(())
//! });
//! let waker = Waker::from(Arc::new(Nothing));
//! let mut cx = Context::from_waker(&waker);
//! loop {
//!     if let Poll::Ready(result) = echo.as_mut().poll(&mut cx) {
//!         break result?;
//!     }
//!     driver.park(None)?;
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Implementation
//!
//! `sys.rs` is the only module with `unsafe` code (the ring, the provided
//! buffers, entries that carry pointers; its docs argue why every pointer
//! outlives its operation); `state.rs` is the per-socket state machine that
//! completions drive; `driver.rs` the [`Driver`](corio_core::Driver);
//! `socket.rs` and `net.rs` the sockets.

#![cfg(target_os = "linux")]

mod driver;
mod socket;
mod state;
mod sys;

pub mod net;

pub use driver::UringDriver;

/// The errors of the io_uring driver's own making (OS errors come back as
/// they are).
///
/// # Examples
///
/// ```
/// let error = corio_uring::Error::NoDriver;
/// assert!(error.to_string().contains("io_uring"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A socket was created where no io_uring driver runs.
    #[error("no corio io_uring driver runs on this thread (create io_uring sockets inside a loop built with `UringDriver`)")]
    NoDriver,
    /// The driver of the socket's loop was dropped.
    #[error("the io_uring driver of this socket's loop is gone")]
    DriverGone,
}

/// Whether the current thread's loop runs on an io_uring driver, so that
/// the sockets of [`net`] can be created here.
///
/// # Examples
///
/// ```
/// // Outside any loop there is no driver.
/// assert!(!corio_uring::is_current());
/// ```
pub fn is_current() -> bool {
    driver::Shared::current().is_some()
}
