//! TCP, UDP and Unix domain sockets driven by the corio reactor.
//!
//! Every type here registers with the reactor of the loop it is created on
//! (found through [`corio_core::io_context`]). Created anywhere else (outside
//! a loop, or on a loop whose driver has no IO) it fails with an
//! [`io::Error`] of kind [`Unsupported`](io::ErrorKind::Unsupported) saying
//! so. Operations are leaves of the cooperative budget
//! ([`corio_core::coop`]).
//!
//! Address arguments take [`ToSocketAddrs`]; a
//! host name is resolved with the system resolver, which blocks the thread:
//! pass a [`SocketAddr`] in latency-sensitive code.

use std::future::poll_fn;
use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll};

use crate::registration::Registration;
use crate::scheduled_io::Direction;

/// Implements `futures_io::AsyncRead` for `$type`, reading through the
/// stream socket `$stream` (an expression of `$this`, the `&$type`): any
/// type with a `Registration` field `io` of a readable mio stream.
macro_rules! impl_async_read {
    ($type:ty, $this:ident => $stream:expr) => {
        impl futures_io::AsyncRead for $type {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $crate::net::poll_read(&$stream.io, cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $crate::net::poll_read_vectored(&$stream.io, cx, bufs)
            }
        }
    };
}

/// Implements `futures_io::AsyncWrite` for `$type`, writing through the
/// stream socket `$stream` (an expression of `$this`, the `&$type`), whose
/// `shutdown(Shutdown::Write)` closes it.
macro_rules! impl_async_write {
    ($type:ty, $this:ident => $stream:expr) => {
        impl futures_io::AsyncWrite for $type {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $crate::net::poll_write(&$stream.io, cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $crate::net::poll_write_vectored(&$stream.io, cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Writes go straight to the socket; there is nothing to flush.
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $this = &*self;
                std::task::Poll::Ready($stream.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}

mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use tcp::{
    Incoming, OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpListener, TcpStream, WriteHalf,
};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};

/// Calls `f` with each address `addrs` resolves to until one succeeds;
/// returns the last error otherwise.
fn each_addr<T>(
    addrs: impl ToSocketAddrs,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_error = None;
    for addr in addrs.to_socket_addrs()? {
        match f(addr) {
            Ok(value) => return Ok(value),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(no_addresses))
}

fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "the address did not resolve to any socket address",
    )
}

fn first_addr(addrs: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    addrs.to_socket_addrs()?.next().ok_or_else(no_addresses)
}

/// Waits until a nonblocking `connect` on `io` has finished, with its result.
async fn connected<S>(
    io: &Registration<S>,
    take_error: impl Fn(&S) -> io::Result<Option<io::Error>>,
    is_connected: impl Fn(&S) -> io::Result<()>,
) -> io::Result<()>
where
    S: mio::event::Source,
{
    poll_fn(|cx| {
        let permit = std::task::ready!(corio_core::coop::poll_proceed(cx));
        loop {
            let event = std::task::ready!(io.poll_ready(cx, Direction::Write))?;
            if let Some(error) = take_error(io.get_ref())? {
                permit.made_progress();
                return Poll::Ready(Err(error));
            }
            match is_connected(io.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                    io.clear_readiness(event);
                }
                result => {
                    permit.made_progress();
                    return Poll::Ready(result);
                }
            }
        }
    })
    .await
}

fn poll_read<S>(
    io: &Registration<S>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>>
where
    S: mio::event::Source,
    for<'a> &'a S: Read,
{
    let requested = buf.len();
    io.poll_stream_io(cx, Direction::Read, requested, |mut source| {
        source.read(buf)
    })
}

fn poll_read_vectored<S>(
    io: &Registration<S>,
    cx: &mut Context<'_>,
    bufs: &mut [io::IoSliceMut<'_>],
) -> Poll<io::Result<usize>>
where
    S: mio::event::Source,
    for<'a> &'a S: Read,
{
    let requested = vectored_len(bufs.iter().map(|buf| buf.len()), bufs.len());
    io.poll_stream_io(cx, Direction::Read, requested, |mut source| {
        source.read_vectored(bufs)
    })
}

fn poll_write<S>(io: &Registration<S>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>
where
    S: mio::event::Source,
    for<'a> &'a S: Write,
{
    io.poll_stream_io(cx, Direction::Write, buf.len(), |mut source| {
        source.write(buf)
    })
}

fn poll_write_vectored<S>(
    io: &Registration<S>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>>
where
    S: mio::event::Source,
    for<'a> &'a S: Write,
{
    let requested = vectored_len(bufs.iter().map(|buf| buf.len()), bufs.len());
    io.poll_stream_io(cx, Direction::Write, requested, |mut source| {
        source.write_vectored(bufs)
    })
}

/// The most buffers one `readv`/`writev` is trusted to take: std passes at
/// most `IOV_MAX` of them (1024 on Linux and the BSDs, more nowhere), and
/// ignores the rest.
const MAX_TRUSTED_IOVECS: usize = 1024;

/// The number of bytes a vectored read or write over buffers of `lens` asks
/// for, as far as a short result may be taken to mean "drained"; 0 (never
/// short) when there are more buffers than the OS is sure to take.
fn vectored_len(lens: impl Iterator<Item = usize>, count: usize) -> usize {
    if count > MAX_TRUSTED_IOVECS {
        return 0;
    }
    lens.fold(0, usize::saturating_add)
}
