//! TCP, UDP and Unix domain sockets, and the [`Server`] of
//! [`start_server`](crate::start_server).
//!
//! Every socket registers with the IO reactor of the loop it is created on,
//! so create sockets inside [`run`](crate::run) (or another corio loop). On a
//! loop whose driver has no IO, or outside any loop, they fail with an
//! [`std::io::Error`] of kind [`Unsupported`](std::io::ErrorKind::Unsupported)
//! instead of panicking. Streams implement the futures-io traits; the
//! awaitable `read` / `write_all` helpers are in [`corio::io`](crate::io).
//!
//! # Examples
//!
//! ```
//! use corio::io::{AsyncReadExt, AsyncWriteExt};
//! use corio::net::{TcpListener, TcpStream};
//!
//! corio::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let mut client = TcpStream::connect(listener.local_addr()?).await?;
//!     let (mut server_side, _peer) = listener.accept().await?;
//!     client.write_all(b"ping").await?;
//!     let mut buf = [0; 4];
//!     server_side.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"ping");
//!     std::io::Result::Ok(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

//!
//! # Two drivers, one API
//!
//! A loop runs on the mio reactor (epoll) unless it was built with the
//! io_uring driver (`CORIO_DRIVER=uring`, or
//! [`Builder::driver`](crate::runtime::Builder::driver) with
//! [`UringDriver`](crate::uring::UringDriver)). Each type here holds the
//! socket of whichever driver its loop runs, chosen when it is created:
//! the methods, the futures-io traits and the errors are the same. On
//! io_uring, written bytes are copied into the driver and sent from there,
//! so [`flush`](crate::io::AsyncWriteExt::flush) waits until they are sent,
//! and [`close`](crate::io::AsyncWriteExt::close) flushes first.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

pub use crate::streams::Server;

use corio_reactor::net as mio_net;
#[cfg(target_os = "linux")]
use corio_uring::net as uring_net;

/// The io_uring socket type `$name`, or `()` where there is no io_uring.
macro_rules! uring_net_or {
    ($name:ident) => {
        uring_type!($name)
    };
}

#[cfg(target_os = "linux")]
macro_rules! uring_type {
    ($name:ident) => {
        uring_net::$name
    };
}

#[cfg(not(target_os = "linux"))]
macro_rules! uring_type {
    ($name:ident) => {
        ()
    };
}

/// A socket of either driver.
enum Inner<M, U> {
    Mio(M),
    #[cfg(target_os = "linux")]
    Uring(U),
    #[cfg(not(target_os = "linux"))]
    #[allow(dead_code)]
    Uring(std::convert::Infallible, std::marker::PhantomData<U>),
}

/// Runs `$body` with `$s` bound to the socket inside `$inner`, whichever
/// driver it belongs to.
macro_rules! dispatch {
    ($inner:expr, $s:ident => $body:expr) => {
        match $inner {
            Inner::Mio($s) => $body,
            #[cfg(target_os = "linux")]
            Inner::Uring($s) => $body,
            #[cfg(not(target_os = "linux"))]
            Inner::Uring(never, _) => match never {},
        }
    };
}

/// Whether sockets created here belong to an io_uring driver.
fn on_uring() -> bool {
    #[cfg(target_os = "linux")]
    {
        corio_uring::is_current()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Creates the socket with `$mio` or `$uring`, whichever driver runs here.
macro_rules! create {
    ($mio:expr, $uring:expr) => {{
        #[cfg(target_os = "linux")]
        {
            if on_uring() {
                Inner::Uring($uring)
            } else {
                Inner::Mio($mio)
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            Inner::Mio($mio)
        }
    }};
}

/// Implements the futures-io traits for `$type` and `&$type` (a stream of
/// either driver in the field `inner`).
macro_rules! stream_io {
    ($type:ty) => {
        impl AsyncRead for &$type {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                dispatch!(&self.inner, s => Pin::new(&mut &*s).poll_read(cx, buf))
            }
        }

        impl AsyncWrite for &$type {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                dispatch!(&self.inner, s => Pin::new(&mut &*s).poll_write(cx, buf))
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                dispatch!(&self.inner, s => Pin::new(&mut &*s).poll_write_vectored(cx, bufs))
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                dispatch!(&self.inner, s => Pin::new(&mut &*s).poll_flush(cx))
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                dispatch!(&self.inner, s => Pin::new(&mut &*s).poll_close(cx))
            }
        }

        impl AsyncRead for $type {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &*self).poll_read(cx, buf)
            }
        }

        impl AsyncWrite for $type {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &*self).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &*self).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut &*self).poll_flush(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut &*self).poll_close(cx)
            }
        }
    };
}

/// Implements the futures-io traits of a half through `self.stream`.
macro_rules! half_read {
    ($type:ty) => {
        impl AsyncRead for $type {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &*self.stream).poll_read(cx, buf)
            }
        }
    };
}

macro_rules! half_write {
    ($type:ty) => {
        impl AsyncWrite for $type {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &*self.stream).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &*self.stream).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut &*self.stream).poll_flush(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut &*self.stream).poll_close(cx)
            }
        }
    };
}

macro_rules! debug_inner {
    ($type:ty, $name:literal) => {
        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                dispatch!(&self.inner, s => f.debug_tuple($name).field(s).finish())
            }
        }
    };
}

/// A TCP socket server, listening for connections.
///
/// # Running out of file descriptors
///
/// When the process runs out of descriptors, [`accept`](Self::accept)
/// returns the OS error (`EMFILE` or `ENFILE`) and the listener stays
/// usable: sleep briefly (tens of milliseconds) before the next `accept`.
///
/// # Examples
///
/// ```no_run
/// # async fn serve() -> std::io::Result<()> {
/// let listener = corio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     println!("connection from {peer}");
///     # drop(stream);
/// }
/// # }
/// ```
pub struct TcpListener {
    inner: Inner<mio_net::TcpListener, uring_net_or!(TcpListener)>,
}

debug_inner!(TcpListener, "TcpListener");

impl TcpListener {
    /// Creates a listener bound to `addr` (the first address it resolves to
    /// that can be bound), with a listen backlog of 1024. Port 0 picks a
    /// free port.
    ///
    /// # Errors
    ///
    /// Returns the OS error when no address can be bound, or an error when no
    /// corio loop runs on this thread.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let listener = corio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// println!("listening on {}", listener.local_addr()?);
    /// # Ok(()) }
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        Ok(TcpListener {
            inner: create!(
                mio_net::TcpListener::bind(&addrs[..]).await?,
                uring_net::TcpListener::bind(&addrs[..]).await?
            ),
        })
    }

    /// Waits for a connection and returns the connected stream with its
    /// peer's address.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `accept(2)`, such as `EMFILE`; the listener
    /// stays usable.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection: the building block of [`accept`](Self::accept).
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(listener: corio::net::TcpListener) -> std::io::Result<()> {
    /// let (stream, peer) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await?;
    /// # Ok(()) }
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match &self.inner {
            Inner::Mio(listener) => listener.poll_accept(cx).map_ok(|(stream, peer)| {
                let inner = Inner::Mio(stream);
                (TcpStream { inner }, peer)
            }),
            #[cfg(target_os = "linux")]
            Inner::Uring(listener) => listener.poll_accept(cx).map_ok(|(stream, peer)| {
                let inner = Inner::Uring(stream);
                (TcpStream { inner }, peer)
            }),
            #[cfg(not(target_os = "linux"))]
            Inner::Uring(never, _) => match *never {},
        }
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
    /// # async fn f(listener: corio::net::TcpListener) -> std::io::Result<()> {
    /// let port = listener.local_addr()?.port();
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        dispatch!(&self.inner, s => s.local_addr())
    }

    /// Returns the connections this listener accepts, one
    /// [`next`](Incoming::next) at a time.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(listener: corio::net::TcpListener) -> std::io::Result<()> {
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
    /// # async fn f(listener: corio::net::TcpListener) -> std::io::Result<()> {
    /// let incoming = listener.incoming();
    /// let stream = std::future::poll_fn(|cx| incoming.poll_accept(cx)).await?;
    /// # Ok(()) }
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<TcpStream>> {
        self.listener.poll_accept(cx).map_ok(|(stream, _)| stream)
    }
}

/// A TCP connection. Implements [`AsyncRead`] and [`AsyncWrite`] (for the
/// stream and for `&TcpStream`); [`poll_close`](AsyncWrite::poll_close)
/// shuts down the write side.
///
/// # Examples
///
/// ```no_run
/// use corio::io::AsyncWriteExt;
///
/// # async fn f() -> std::io::Result<()> {
/// let mut stream = corio::net::TcpStream::connect("127.0.0.1:8080").await?;
/// stream.write_all(b"hello").await?;
/// # Ok(()) }
/// ```
pub struct TcpStream {
    inner: Inner<mio_net::TcpStream, uring_net_or!(TcpStream)>,
}

debug_inner!(TcpStream, "TcpStream");
stream_io!(TcpStream);

impl TcpStream {
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
    /// See the [type docs](Self).
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        Ok(TcpStream {
            inner: create!(
                mio_net::TcpStream::connect(&addrs[..]).await?,
                uring_net::TcpStream::connect(&addrs[..]).await?
            ),
        })
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
    /// # fn f(stream: corio::net::TcpStream) -> std::io::Result<()> {
    /// println!("talking to {}", stream.peer_addr()?);
    /// # Ok(()) }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        dispatch!(&self.inner, s => s.peer_addr())
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
    /// # fn f(stream: corio::net::TcpStream) -> std::io::Result<()> {
    /// println!("local end {}", stream.local_addr()?);
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        dispatch!(&self.inner, s => s.local_addr())
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
    /// # fn f(stream: corio::net::TcpStream) -> std::io::Result<()> {
    /// stream.set_nodelay(true)?;
    /// assert!(stream.nodelay()?);
    /// # Ok(()) }
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        dispatch!(&self.inner, s => s.set_nodelay(nodelay))
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
        dispatch!(&self.inner, s => s.nodelay())
    }

    /// Shuts down the read side, the write side, or both. After
    /// `Shutdown::Write` the peer reads end-of-file (on io_uring, once the
    /// bytes written before are sent), while this side can still read.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `shutdown(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(stream: corio::net::TcpStream) -> std::io::Result<()> {
    /// stream.shutdown(std::net::Shutdown::Write)?;
    /// # Ok(()) }
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        dispatch!(&self.inner, s => s.shutdown(how))
    }

    /// Splits the stream into a reading half and a writing half that borrow
    /// it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(mut stream: corio::net::TcpStream) {
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
    /// # async fn f(stream: corio::net::TcpStream) {
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

/// Implements `peer_addr` and `local_addr` for a half.
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
            #[doc = concat!("# async fn f(", $stream, ": corio::net::TcpStream) -> std::io::Result<()> {")]
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
            #[doc = concat!("# async fn f(", $stream, ": corio::net::TcpStream) -> std::io::Result<()> {")]
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

half_read!(ReadHalf<'_>);
half_write!(WriteHalf<'_>);
half_read!(OwnedReadHalf);
half_write!(OwnedWriteHalf);

/// A UDP socket. Every operation is async; several tasks may send and
/// receive on one socket at once through a shared reference.
///
/// # Examples
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// let socket = corio::net::UdpSocket::bind("127.0.0.1:0").await?;
/// socket.send_to(b"ping", "127.0.0.1:9000").await?;
/// let mut buf = [0; 1500];
/// let (len, from) = socket.recv_from(&mut buf).await?;
/// # Ok(()) }
/// ```
pub struct UdpSocket {
    inner: Inner<mio_net::UdpSocket, uring_net_or!(UdpSocket)>,
}

debug_inner!(UdpSocket, "UdpSocket");

impl UdpSocket {
    /// Creates a socket bound to `addr` (the first address it resolves to
    /// that can be bound).
    ///
    /// # Errors
    ///
    /// Returns the OS error when no address can be bound, or an error when no
    /// corio loop runs on this thread.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        Ok(UdpSocket {
            inner: create!(
                mio_net::UdpSocket::bind(&addrs[..]).await?,
                uring_net::UdpSocket::bind(&addrs[..]).await?
            ),
        })
    }

    /// Sets the default destination to `addr` and receives only from it.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `connect(2)` for every address tried.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(socket: corio::net::UdpSocket) -> std::io::Result<()> {
    /// socket.connect("127.0.0.1:9000").await?;
    /// socket.send(b"ping").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        dispatch!(&self.inner, s => s.connect(&addrs[..]).await)
    }

    /// Sends `buf` as one datagram to `target`.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `sendto(2)`, or `InvalidInput` when `target`
    /// resolves to no address.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let addrs: Vec<SocketAddr> = target.to_socket_addrs()?.collect();
        dispatch!(&self.inner, s => s.send_to(buf, &addrs[..]).await)
    }

    /// Receives one datagram into `buf`, returning its length and sender. A
    /// datagram longer than `buf` is truncated.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `recvfrom(2)`.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        dispatch!(&self.inner, s => s.recv_from(buf).await)
    }

    /// Sends `buf` to the address given to [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// Returns the OS error of `send(2)`.
    ///
    /// # Examples
    ///
    /// See [`connect`](Self::connect).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        dispatch!(&self.inner, s => s.send(buf).await)
    }

    /// Receives one datagram from the address given to
    /// [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// Returns the OS error of `recv(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(socket: corio::net::UdpSocket) -> std::io::Result<()> {
    /// let mut buf = [0; 1500];
    /// let len = socket.recv(&mut buf).await?;
    /// # Ok(()) }
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        dispatch!(&self.inner, s => s.recv(buf).await)
    }

    /// Returns the address this socket is bound to.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getsockname(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(socket: corio::net::UdpSocket) -> std::io::Result<()> {
    /// println!("bound to {}", socket.local_addr()?);
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        dispatch!(&self.inner, s => s.local_addr())
    }

    /// Returns the address given to [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// Returns `NotConnected` before `connect`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(socket: corio::net::UdpSocket) -> std::io::Result<()> {
    /// println!("connected to {}", socket.peer_addr()?);
    /// # Ok(()) }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        dispatch!(&self.inner, s => s.peer_addr())
    }
}

#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};

#[cfg(unix)]
mod unix {
    use super::*;
    use std::os::unix::net::SocketAddr;
    use std::path::Path;

    /// A Unix domain socket server, listening for connections on a socket
    /// file.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use corio::net::{UnixListener, UnixStream};
    ///
    /// # async fn f() -> std::io::Result<()> {
    /// let listener = UnixListener::bind("/tmp/corio.sock")?;
    /// let client = UnixStream::connect("/tmp/corio.sock").await?;
    /// let (server_side, _addr) = listener.accept().await?;
    /// # Ok(()) }
    /// ```
    pub struct UnixListener {
        inner: Inner<mio_net::UnixListener, uring_net_or!(UnixListener)>,
    }

    debug_inner!(UnixListener, "UnixListener");

    impl UnixListener {
        /// Creates a listener bound to the socket file `path`.
        ///
        /// # Errors
        ///
        /// Returns the OS error of `bind(2)`, such as `AddrInUse` when the
        /// file exists, or an error when no corio loop runs on this thread.
        ///
        /// # Examples
        ///
        /// See the [type docs](Self).
        pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
            Ok(UnixListener {
                inner: create!(
                    mio_net::UnixListener::bind(path.as_ref())?,
                    uring_net::UnixListener::bind(path.as_ref())?
                ),
            })
        }

        /// Waits for a connection.
        ///
        /// # Errors
        ///
        /// Returns the OS error of `accept(2)`; the listener stays usable.
        ///
        /// # Examples
        ///
        /// See the [type docs](Self).
        pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
            match &self.inner {
                Inner::Mio(listener) => {
                    let (stream, addr) = listener.accept().await?;
                    let inner = Inner::Mio(stream);
                    Ok((UnixStream { inner }, addr))
                }
                #[cfg(target_os = "linux")]
                Inner::Uring(listener) => {
                    let (stream, addr) = listener.accept().await?;
                    let inner = Inner::Uring(stream);
                    Ok((UnixStream { inner }, addr))
                }
                #[cfg(not(target_os = "linux"))]
                Inner::Uring(never, _) => match *never {},
            }
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
        /// # fn f(listener: corio::net::UnixListener) -> std::io::Result<()> {
        /// println!("{:?}", listener.local_addr()?.as_pathname());
        /// # Ok(()) }
        /// ```
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            dispatch!(&self.inner, s => s.local_addr())
        }
    }

    /// A Unix domain stream connection. Implements [`AsyncRead`] and
    /// [`AsyncWrite`] (for the stream and for `&UnixStream`);
    /// [`poll_close`](AsyncWrite::poll_close) shuts down the write side.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let stream = corio::net::UnixStream::connect("/tmp/corio.sock").await?;
    /// # Ok(()) }
    /// ```
    pub struct UnixStream {
        inner: Inner<mio_net::UnixStream, uring_net_or!(UnixStream)>,
    }

    debug_inner!(UnixStream, "UnixStream");
    stream_io!(UnixStream);

    impl UnixStream {
        /// Connects to the socket file `path`.
        ///
        /// # Errors
        ///
        /// Returns the OS error of `connect(2)`, such as `NotFound` or
        /// `ConnectionRefused`.
        ///
        /// # Examples
        ///
        /// See the [type docs](Self).
        pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
            Ok(UnixStream {
                inner: create!(
                    mio_net::UnixStream::connect(path.as_ref()).await?,
                    uring_net::UnixStream::connect(path.as_ref()).await?
                ),
            })
        }

        /// Creates a pair of connected, unnamed sockets.
        ///
        /// # Errors
        ///
        /// Returns the OS error of `socketpair(2)`, or an error when no corio
        /// loop runs on this thread.
        ///
        /// # Examples
        ///
        /// ```no_run
        /// # fn f() -> std::io::Result<()> {
        /// let (left, right) = corio::net::UnixStream::pair()?;
        /// # Ok(()) }
        /// ```
        pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
            #[cfg(target_os = "linux")]
            if on_uring() {
                let (left, right) = uring_net::UnixStream::pair()?;
                return Ok((
                    UnixStream {
                        inner: Inner::Uring(left),
                    },
                    UnixStream {
                        inner: Inner::Uring(right),
                    },
                ));
            }
            let (left, right) = mio_net::UnixStream::pair()?;
            Ok((
                UnixStream {
                    inner: Inner::Mio(left),
                },
                UnixStream {
                    inner: Inner::Mio(right),
                },
            ))
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
        /// # fn f(stream: corio::net::UnixStream) -> std::io::Result<()> {
        /// let addr = stream.local_addr()?;
        /// # Ok(()) }
        /// ```
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            dispatch!(&self.inner, s => s.local_addr())
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
        /// # fn f(stream: corio::net::UnixStream) -> std::io::Result<()> {
        /// let addr = stream.peer_addr()?;
        /// # Ok(()) }
        /// ```
        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            dispatch!(&self.inner, s => s.peer_addr())
        }

        /// Shuts down the read side, the write side, or both.
        ///
        /// # Errors
        ///
        /// Returns the OS error of `shutdown(2)`.
        ///
        /// # Examples
        ///
        /// ```no_run
        /// # fn f(stream: corio::net::UnixStream) -> std::io::Result<()> {
        /// stream.shutdown(std::net::Shutdown::Write)?;
        /// # Ok(()) }
        /// ```
        pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
            dispatch!(&self.inner, s => s.shutdown(how))
        }
    }
}
