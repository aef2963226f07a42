//! hyper 1.x on corio: the runtime traits hyper asks of an executor,
//! implemented over corio's sockets, `spawn` and timers.
//!
//! hyper is runtime-agnostic: it reads and writes through its own
//! [`rt::Read`](hyper::rt::Read) / [`rt::Write`](hyper::rt::Write) traits,
//! spawns background work through [`rt::Executor`](hyper::rt::Executor) and
//! sleeps through [`rt::Timer`](hyper::rt::Timer). This crate supplies the
//! three for corio, so hyper's HTTP/1.1 server and client run on corio's
//! current-thread loop and on its multi-thread runtime unchanged:
//!
//! - [`CorioIo`] wraps any futures-io stream, such as
//!   [`corio::net::TcpStream`], as hyper IO;
//! - [`CorioExecutor`] spawns with [`corio::spawn`] (or on a given runtime);
//! - [`CorioTimer`] sleeps on the loop's clock, virtual time included.
//!
//! # Example
//!
//! A server answering `Hello, world!` on every connection, and one request
//! to it with hyper's client:
//!
//! ```
//! use corio_hyper::{CorioIo, CorioTimer};
//! use hyper::body::Incoming;
//! use hyper::{Request, Response};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<String>, std::convert::Infallible> {
//!     Ok(Response::new("Hello, world!".to_string()))
//! }
//!
//! corio::run(async {
//!     let listener = corio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     corio::spawn(async move {
//!         while let Ok((stream, _peer)) = listener.accept().await {
//!             corio::spawn(
//!                 hyper::server::conn::http1::Builder::new()
//!                     .timer(CorioTimer::new())
//!                     .serve_connection(CorioIo::new(stream), hyper::service::service_fn(hello)),
//!             )
//!             .detach();
//!         }
//!     })
//!     .detach();
//!
//!     let stream = corio::net::TcpStream::connect(addr).await?;
//!     let (mut sender, connection) =
//!         hyper::client::conn::http1::handshake(CorioIo::new(stream)).await.unwrap();
//!     corio::spawn(connection).detach();
//!     let request = Request::get("/").header("host", "localhost").body(String::new()).unwrap();
//!     let response = sender.send_request(request).await.unwrap();
//!     assert_eq!(response.status(), 200);
//!     std::io::Result::Ok(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! `examples/hello_http.rs` adds a graceful shutdown on Ctrl-C.
//!
//! # Implementation
//!
//! Each adapter is a thin newtype. The one copy is on the read side:
//! futures-io reads into initialized memory while hyper offers a possibly
//! uninitialized buffer, so [`CorioIo`] reads into a reusable scratch buffer
//! and copies the bytes that arrived (no `unsafe` in this crate). The timer's
//! clock is corio's [`Instant`](corio::time::Instant), converted to and from
//! `std::time::Instant` at the boundary.

#![forbid(unsafe_code)]

/// The README's example runs as a doctest, so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The repository's README runs here rather than in the `corio` crate, whose
/// doctests cannot see this crate: its quick start includes an HTTP server.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct RepositoryReadmeDoctests;

mod executor;
mod io;
mod timer;

pub use executor::CorioExecutor;
pub use io::CorioIo;
pub use timer::CorioTimer;
