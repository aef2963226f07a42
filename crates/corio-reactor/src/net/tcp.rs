//! TCP listeners and streams.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::task::{Context, Poll};

use mio::Interest;

use crate::registration::Registration;
use crate::scheduled_io::Direction;

/// The listen backlog of [`TcpListener::bind`] (tokio's default; the kernel
/// caps it at `net.core.somaxconn`).
const LISTEN_BACKLOG: i32 = 1024;

/// A TCP socket server, listening for connections.
///
/// # Running out of file descriptors
///
/// When the process runs out of descriptors, [`accept`](Self::accept)
/// returns the OS error (`EMFILE` or `ENFILE`) and the listener stays
/// usable. The pending connection stays in the kernel's backlog, so retrying
/// at once fails again: sleep briefly (tens of milliseconds) before the next
/// `accept`, as tokio and hyper advise, and the loop recovers once
/// descriptors are closed.
///
/// # Examples
///
/// ```no_run
/// use corio_reactor::net::TcpListener;
/// use futures_io::AsyncWrite;
///
/// # async fn serve() -> std::io::Result<()> {
/// let listener = TcpListener::bind("127.0.0.1:8080").await?;
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     println!("connection from {peer}");
///     # drop(stream);
/// }
/// # }
/// ```
pub struct TcpListener {
    io: Registration<mio::net::TcpListener>,
}

impl TcpListener {
    /// Creates a listener bound to `addr` (the first address it resolves to
    /// that can be bound). Port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr). The listen backlog is 1024 (capped
    /// by the kernel's `net.core.somaxconn`), so a burst of connects does not
    /// overflow it the way std's 128 does.
    ///
    /// # Errors
    ///
    /// Returns the OS error when no address can be bound, or an error when no
    /// corio reactor runs on this thread.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let listener = corio_reactor::net::TcpListener::bind("127.0.0.1:0").await?;
    /// println!("listening on {}", listener.local_addr()?);
    /// # Ok(()) }
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let listener = super::each_addr(addr, mio::net::TcpListener::bind)?;
        #[cfg(unix)]
        crate::sys::set_listen_backlog(std::os::fd::AsRawFd::as_raw_fd(&listener), LISTEN_BACKLOG)?;
        Ok(TcpListener {
            io: Registration::new(listener, Interest::READABLE)?,
        })
    }

    /// Waits for a connection and returns the connected stream with its
    /// peer's address.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `accept(2)`, such as `EMFILE`; the listener
    /// stays usable (see the [type docs](Self) for the retry advice).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(listener: corio_reactor::net::TcpListener) -> std::io::Result<()> {
    /// let (stream, peer) = listener.accept().await?;
    /// # Ok(()) }
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection: the building block of [`accept`](Self::accept)
    /// for hand-written futures.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::future::poll_fn;
    /// # async fn f(listener: corio_reactor::net::TcpListener) -> std::io::Result<()> {
    /// let (stream, peer) = poll_fn(|cx| listener.poll_accept(cx)).await?;
    /// # Ok(()) }
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, peer) = std::task::ready!(self
            .io
            .poll_io(cx, Direction::Read, |listener| listener.accept()))?;
        Poll::Ready(TcpStream::from_mio(stream).map(|stream| (stream, peer)))
    }

    /// Returns the address this listener is bound to.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getsockname(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(listener: corio_reactor::net::TcpListener) -> std::io::Result<()> {
    /// let port = listener.local_addr()?.port();
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Returns the connections this listener accepts, one
    /// [`next`](Incoming::next) at a time.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(listener: corio_reactor::net::TcpListener) -> std::io::Result<()> {
    /// let mut incoming = listener.incoming();
    /// while let Some(stream) = incoming.next().await {
    ///     let stream = stream?;
    ///     # drop(stream);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TcpListener").field(&self.io).finish()
    }
}

/// The connections of a [`TcpListener`], returned by
/// [`TcpListener::incoming`]. It never ends: `next` always returns `Some`.
///
/// # Examples
///
/// See [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Incoming<'_> {
    /// Waits for the next connection.
    ///
    /// # Errors
    ///
    /// An `accept` error comes back as `Some(Err(_))`; the stream goes on.
    ///
    /// # Examples
    ///
    /// See [`TcpListener::incoming`].
    #[allow(clippy::should_implement_trait)]
    pub async fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().await.map(|(stream, _)| stream))
    }

    /// Polls for the next connection.
    ///
    /// # Errors
    ///
    /// As [`TcpListener::accept`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::future::poll_fn;
    /// # async fn f(listener: corio_reactor::net::TcpListener) -> std::io::Result<()> {
    /// let incoming = listener.incoming();
    /// let stream = poll_fn(|cx| incoming.poll_accept(cx)).await?;
    /// # Ok(()) }
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<TcpStream>> {
        self.listener
            .poll_accept(cx)
            .map(|result| result.map(|(stream, _)| stream))
    }
}

/// A TCP connection. Implements [`AsyncRead`](futures_io::AsyncRead) and
/// [`AsyncWrite`](futures_io::AsyncWrite);
/// [`poll_close`](futures_io::AsyncWrite::poll_close) shuts down the write side.
///
/// # Examples
///
/// ```no_run
/// use corio_reactor::net::TcpStream;
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use futures_io::AsyncWrite;
///
/// # async fn f() -> std::io::Result<()> {
/// let mut stream = TcpStream::connect("127.0.0.1:8080").await?;
/// let written = poll_fn(|cx| Pin::new(&mut stream).poll_write(cx, b"hello")).await?;
/// # Ok(()) }
/// ```
pub struct TcpStream {
    io: Registration<mio::net::TcpStream>,
}

impl TcpStream {
    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Registration::new(stream, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// Opens a connection to `addr`, trying each address it resolves to in
    /// turn.
    ///
    /// # Errors
    ///
    /// Returns the error of the last address tried, such as
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let stream = corio_reactor::net::TcpStream::connect("127.0.0.1:8080").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_error = None;
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(super::no_addresses))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        super::connected(
            &stream.io,
            |socket| socket.take_error(),
            |socket| socket.peer_addr().map(drop),
        )
        .await?;
        Ok(stream)
    }

    /// Returns the address of the remote end.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getpeername(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(stream: corio_reactor::net::TcpStream) -> std::io::Result<()> {
    /// println!("talking to {}", stream.peer_addr()?);
    /// # Ok(()) }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Returns the address of the local end.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getsockname(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(stream: corio_reactor::net::TcpStream) -> std::io::Result<()> {
    /// println!("local end {}", stream.local_addr()?);
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY`: `true` sends small writes at once instead of
    /// coalescing them (Nagle's algorithm).
    ///
    /// # Errors
    ///
    /// Returns the OS error of `setsockopt(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(stream: corio_reactor::net::TcpStream) -> std::io::Result<()> {
    /// stream.set_nodelay(true)?;
    /// assert!(stream.nodelay()?);
    /// # Ok(()) }
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Returns whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getsockopt(2)`.
    ///
    /// # Examples
    ///
    /// See [`set_nodelay`](Self::set_nodelay).
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Shuts down the read side, the write side, or both. After
    /// `Shutdown::Write` the peer reads end-of-file, while this side can still
    /// read what the peer sends (a half-close).
    ///
    /// # Errors
    ///
    /// Returns the OS error of `shutdown(2)`, such as
    /// [`NotConnected`](io::ErrorKind::NotConnected).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(stream: corio_reactor::net::TcpStream) -> std::io::Result<()> {
    /// stream.shutdown(std::net::Shutdown::Write)?;
    /// # Ok(()) }
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Splits the stream into a reading half and a writing half that borrow
    /// it and can be used from two tasks (or two branches of one task) at once.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(mut stream: corio_reactor::net::TcpStream) {
    /// let (reader, writer) = stream.split();
    /// # drop((reader, writer));
    /// # }
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf { stream: self }, WriteHalf { stream: self })
    }

    /// Splits the stream into owned halves, which can move into different
    /// tasks. The socket closes when both are dropped; dropping the
    /// [`OwnedWriteHalf`] shuts down the write side.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(stream: corio_reactor::net::TcpStream) {
    /// let (reader, writer) = stream.into_split();
    /// # drop((reader, writer));
    /// # }
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Arc::new(self);
        (
            OwnedReadHalf {
                stream: stream.clone(),
            },
            OwnedWriteHalf { stream },
        )
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TcpStream").field(&self.io).finish()
    }
}

impl_async_read!(TcpStream, stream => stream);
impl_async_write!(TcpStream, stream => stream);
// Through a shared reference too, so that wrappers (the facade's
// `corio::net`) can read and write one stream from two halves.
impl_async_read!(&TcpStream, stream => stream);
impl_async_write!(&TcpStream, stream => stream);

/// The reading half of a [`TcpStream`], borrowed by [`TcpStream::split`].
///
/// # Examples
///
/// See [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a> {
    stream: &'a TcpStream,
}

/// The writing half of a [`TcpStream`], borrowed by [`TcpStream::split`];
/// closing it shuts down the write side.
///
/// # Examples
///
/// See [`TcpStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a> {
    stream: &'a TcpStream,
}

/// The reading half of a [`TcpStream`], owned, from
/// [`TcpStream::into_split`].
///
/// # Examples
///
/// See [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Arc<TcpStream>,
}

/// The writing half of a [`TcpStream`], owned, from
/// [`TcpStream::into_split`]. Closing or dropping it shuts down the write
/// side.
///
/// # Examples
///
/// See [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Arc<TcpStream>,
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        // The peer should see end-of-file even while the read half lives on;
        // a socket that is already disconnected has nothing to shut down.
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

/// Implements `peer_addr` and `local_addr` for a half whose `self.stream`
/// derefs to a `TcpStream`; `$stream` is the stream binding and `$make` the
/// line that makes the half, for the examples.
macro_rules! impl_addresses {
    ($type:ty, $stream:literal, $make:literal) => {
        impl $type {
            /// Returns the address of the remote end of the stream.
            ///
            /// # Errors
            ///
            /// Returns the OS error of `getpeername(2)`.
            ///
            /// # Examples
            ///
            /// ```no_run
            #[doc = concat!("# async fn f(", $stream, ": corio_reactor::net::TcpStream) -> std::io::Result<()> {")]
            #[doc = $make]
            /// println!("talking to {}", half.peer_addr()?);
            /// # Ok(()) }
            /// ```
            pub fn peer_addr(&self) -> io::Result<SocketAddr> {
                self.stream.peer_addr()
            }

            /// Returns the address of the local end of the stream.
            ///
            /// # Errors
            ///
            /// Returns the OS error of `getsockname(2)`.
            ///
            /// # Examples
            ///
            /// ```no_run
            #[doc = concat!("# async fn f(", $stream, ": corio_reactor::net::TcpStream) -> std::io::Result<()> {")]
            #[doc = $make]
            /// println!("local end {}", half.local_addr()?);
            /// # Ok(()) }
            /// ```
            pub fn local_addr(&self) -> io::Result<SocketAddr> {
                self.stream.local_addr()
            }
        }
    };
}

impl_addresses!(
    ReadHalf<'_>,
    "mut stream",
    "let (half, _) = stream.split();"
);
impl_addresses!(
    WriteHalf<'_>,
    "mut stream",
    "let (_, half) = stream.split();"
);
impl_addresses!(
    OwnedReadHalf,
    "stream",
    "let (half, _) = stream.into_split();"
);
impl_addresses!(
    OwnedWriteHalf,
    "stream",
    "let (_, half) = stream.into_split();"
);

impl_async_read!(ReadHalf<'_>, half => half.stream);
impl_async_write!(WriteHalf<'_>, half => half.stream);
impl_async_read!(OwnedReadHalf, half => half.stream);
impl_async_write!(OwnedWriteHalf, half => half.stream);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{block_on, entered_reactor};

    #[test]
    fn a_listener_registers_to_read_only_and_its_streams_to_read_and_write() {
        let (mut reactor, _context) = entered_reactor();
        let listener = block_on(&mut reactor, TcpListener::bind("127.0.0.1:0")).unwrap();
        assert_eq!(listener.io.interest(), Interest::READABLE);
        let addr = listener.local_addr().unwrap();
        let connected = block_on(&mut reactor, TcpStream::connect(addr)).unwrap();
        let (accepted, peer) = block_on(&mut reactor, listener.accept()).unwrap();
        assert_eq!(peer, connected.local_addr().unwrap());
        for stream in [&connected, &accepted] {
            assert_eq!(
                stream.io.interest(),
                Interest::READABLE | Interest::WRITABLE
            );
        }
    }
}
