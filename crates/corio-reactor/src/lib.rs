//! The mio-based IO driver of corio and its sockets.
//!
//! Most users want the [`corio`](https://docs.rs/corio) facade, whose event
//! loop runs this reactor; this crate is for executor authors and for anyone
//! replacing or studying the IO layer.
//!
//! An executor blocks in [`Reactor::park`](corio_core::Driver::park) when it
//! has nothing to run. The reactor waits for OS readiness events and wakes
//! the tasks waiting on the sockets that became ready. Sockets find the
//! reactor of the loop they are created on through
//! [`corio_core::io_context`]; created anywhere else they fail with an
//! [`std::io::Error`] instead of panicking.
//!
//! # Example
//!
//! Driving a socket with nothing but the reactor (an executor does this
//! loop for you):
//!
//! ```
//! use corio_core::Driver;
//! use corio_reactor::{net::UdpSocket, Reactor};
//! use std::future::Future;
//! use std::pin::pin;
//! use std::sync::Arc;
//! use std::task::{Context, Poll, Wake, Waker};
//!
//! // This loop polls after every park, so the waker need not do anything.
//! struct Nothing;
//! impl Wake for Nothing {
//!     fn wake(self: Arc<Self>) {}
//! }
//!
//! let mut reactor = Reactor::new()?;
//! let _context = corio_core::enter_io_context(reactor.io_context());
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
//!     reactor.park(None)?;
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Implementation
//!
//! A readiness reactor over [`mio::Poll`] (epoll, kqueue), edge-triggered,
//! one concept per file:
//!
//! * `reactor.rs`: the [`Reactor`] (the [`Driver`](corio_core::Driver): the
//!   poll loop, dispatching events, and cross-thread wake-ups through a
//!   [`mio::Waker`] behind a flag, so unparks between two parks cost one
//!   system call) and the handle it shares with its sources.
//! * `slab.rs`: the token slab. Each source gets a slot, reused through a
//!   free list; its token carries the slot's generation, so that a late
//!   event for a dropped source is ignored.
//! * `scheduled_io.rs`: the readiness of one source in one atomic word with
//!   a tick (tokio's `ScheduledIo` scheme), and the waiter lists. An
//!   operation that gets `WouldBlock` clears the readiness it observed only
//!   if no event arrived since, so no edge is lost. Readers and writers wait
//!   separately.
//! * `registration.rs`: a mio source registered for the interest it needs
//!   (tokio's `PollEvented`), and the loop every socket operation runs.
//! * `net/`: the sockets, `signal.rs`: [`signal::ctrl_c`], which waits for
//!   `SIGINT` through a self-pipe that the reactor polls like any socket,
//!   and `sys/`: the few raw system calls.

mod error;
mod reactor;
mod registration;
mod scheduled_io;
mod slab;
mod sys;
#[cfg(test)]
mod test_util;

pub mod net;
#[cfg(unix)]
pub mod signal;

pub use reactor::Reactor;

/// The README's example runs as a doctest, so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
