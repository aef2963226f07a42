//! TCP, UDP and Unix sockets on the io_uring driver.
//!
//! Each type registers with the [`UringDriver`](crate::UringDriver) of the
//! loop it is created on; elsewhere it fails with an [`io::Error`] of kind
//! [`Unsupported`](io::ErrorKind::Unsupported). Streams read from the
//! driver's receive queue (filled by a multishot receive) and write into the
//! driver's send queue; listeners accept with a multishot accept; connects
//! and UDP sockets wait for readiness with one-shot polls and then make the
//! plain system call. Most programs use these through `corio::net`, which
//! picks them on a loop built with the io_uring driver.
//!
//! Stream types implement the futures-io traits for the type and for a
//! shared reference to it, so that two tasks can read and write one stream.
//! [`poll_flush`](futures_io::AsyncWrite::poll_flush) waits until the
//! driver has sent every byte written, and
//! [`poll_close`](futures_io::AsyncWrite::poll_close) flushes, then shuts
//! the write side down.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::os::unix::net::SocketAddr as UnixSocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::socket::Socket;
use crate::state::Direction;

/// The listen backlog (tokio's; the kernel caps it at `somaxconn`).
const LISTEN_BACKLOG: i32 = 1024;

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

/// `Debug` for a socket type as `Name(socket)`.
macro_rules! debug_as_socket {
    ($type:ident) => {
        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($type))
                    .field(&self.socket)
                    .finish()
            }
        }
    };
}

/// A listener refuses connects as soon as it is dropped, not when its
/// accept's cancellation completes.
macro_rules! stops_listening_on_drop {
    ($type:ident) => {
        impl Drop for $type {
            fn drop(&mut self) {
                crate::sys::stop_listening(std::os::fd::AsRawFd::as_raw_fd(self.socket.get_ref()));
            }
        }
    };
}

/// Implements the futures-io traits for `$type` and `&$type`, through its
/// `socket` field, and `shutdown` on the stream type `$std`.
macro_rules! stream_traits {
    ($type:ty) => {
        impl futures_io::AsyncRead for &$type {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.socket.poll_read(cx, buf)
            }
        }

        impl futures_io::AsyncWrite for &$type {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.socket.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.socket.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.socket.poll_flush(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.socket.poll_close(cx)
            }
        }

        impl futures_io::AsyncRead for $type {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.socket.poll_read(cx, buf)
            }
        }

        impl futures_io::AsyncWrite for $type {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.socket.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.socket.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.socket.poll_flush(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.socket.poll_close(cx)
            }
        }

        impl $type {
            /// Shuts down the read side, the write side, or both. The write
            /// side shuts down once the driver has sent what was written
            /// before; the peer then reads end-of-file.
            ///
            /// # Errors
            ///
            /// Returns the OS error of `shutdown(2)`.
            ///
            /// # Examples
            ///
            /// See the [module docs](self).
            pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                if matches!(how, Shutdown::Read | Shutdown::Both) {
                    self.socket.get_ref().shutdown(Shutdown::Read)?;
                }
                if matches!(how, Shutdown::Write | Shutdown::Both) {
                    self.socket.shutdown_write()?;
                }
                Ok(())
            }
        }
    };
}

/// A TCP listener whose accepts are one multishot accept.
///
/// # Examples
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// let listener = corio_uring::net::TcpListener::bind("127.0.0.1:0").await?;
/// let (stream, peer) = listener.accept().await?;
/// # Ok(()) }
/// ```
pub struct TcpListener {
    socket: Socket<std::net::TcpListener>,
}

impl TcpListener {
    /// Creates a listener bound to `addr` with a backlog of 1024.
    ///
    /// # Errors
    ///
    /// Returns the OS error when no address can be bound, or an error when no
    /// io_uring driver runs on this thread.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let listener = each_addr(addr, std::net::TcpListener::bind)?;
        listener.set_nonblocking(true)?;
        crate::sys::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), LISTEN_BACKLOG)?;
        Ok(TcpListener {
            socket: Socket::new(listener)?,
        })
    }

    /// Waits for a connection.
    ///
    /// # Errors
    ///
    /// Returns the OS error of the accept, such as `EMFILE`; the listener
    /// stays usable.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(listener: corio_uring::net::TcpListener) -> std::io::Result<()> {
    /// let (stream, peer) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await?;
    /// # Ok(()) }
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let fd = std::task::ready!(self.socket.poll_accept(cx))?;
        let stream = std::net::TcpStream::from(fd);
        Poll::Ready(
            stream
                .peer_addr()
                .and_then(|peer| Ok((TcpStream::new(stream)?, peer))),
        )
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
    /// # fn f(listener: corio_uring::net::TcpListener) -> std::io::Result<()> {
    /// let port = listener.local_addr()?.port();
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get_ref().local_addr()
    }
}

stops_listening_on_drop!(TcpListener);

debug_as_socket!(TcpListener);

/// A TCP connection on the io_uring driver.
///
/// # Examples
///
/// ```no_run
/// use futures_io::AsyncWrite;
/// use std::pin::Pin;
///
/// # async fn f() -> std::io::Result<()> {
/// let mut stream = corio_uring::net::TcpStream::connect("127.0.0.1:8080").await?;
/// let written = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_write(cx, b"hi")).await?;
/// # Ok(()) }
/// ```
pub struct TcpStream {
    socket: Socket<std::net::TcpStream>,
}

impl TcpStream {
    fn new(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream {
            socket: Socket::new(stream)?,
        })
    }

    /// Opens a connection to `addr`, trying each address it resolves to.
    ///
    /// # Errors
    ///
    /// Returns the error of the last address tried.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_error = None;
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(no_addresses))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = OwnedFd::from(mio::net::TcpStream::connect(addr)?);
        let stream = TcpStream::new(std::net::TcpStream::from(socket))?;
        connected(
            &stream.socket,
            |s| s.take_error(),
            |s| s.peer_addr().map(drop),
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
    /// # fn f(stream: corio_uring::net::TcpStream) -> std::io::Result<()> {
    /// println!("{}", stream.peer_addr()?);
    /// # Ok(()) }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get_ref().peer_addr()
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
    /// # fn f(stream: corio_uring::net::TcpStream) -> std::io::Result<()> {
    /// println!("{}", stream.local_addr()?);
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `setsockopt(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(stream: corio_uring::net::TcpStream) -> std::io::Result<()> {
    /// stream.set_nodelay(true)?;
    /// assert!(stream.nodelay()?);
    /// # Ok(()) }
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.socket.get_ref().set_nodelay(nodelay)
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
        self.socket.get_ref().nodelay()
    }
}

debug_as_socket!(TcpStream);

stream_traits!(TcpStream);

/// Waits until a nonblocking connect on `socket` has finished.
async fn connected<T>(
    socket: &Socket<T>,
    take_error: impl Fn(&T) -> io::Result<Option<io::Error>>,
    is_connected: impl Fn(&T) -> io::Result<()>,
) -> io::Result<()>
where
    T: std::os::fd::AsRawFd + Into<OwnedFd>,
{
    poll_fn(|cx| loop {
        std::task::ready!(socket.poll_ready(cx, Direction::Write))?;
        if let Some(error) = take_error(socket.get_ref())? {
            return Poll::Ready(Err(error));
        }
        match is_connected(socket.get_ref()) {
            Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                socket.clear_ready(Direction::Write);
            }
            result => return Poll::Ready(result),
        }
    })
    .await
}

/// A UDP socket on the io_uring driver: one-shot polls for readiness, then
/// the plain system call.
///
/// # Examples
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// let socket = corio_uring::net::UdpSocket::bind("127.0.0.1:0").await?;
/// socket.send_to(b"ping", "127.0.0.1:9000").await?;
/// let mut buf = [0; 1500];
/// let (len, from) = socket.recv_from(&mut buf).await?;
/// # Ok(()) }
/// ```
pub struct UdpSocket {
    socket: Socket<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Creates a socket bound to `addr`.
    ///
    /// # Errors
    ///
    /// Returns the OS error when no address can be bound, or an error when no
    /// io_uring driver runs on this thread.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let socket = each_addr(addr, std::net::UdpSocket::bind)?;
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            socket: Socket::new(socket)?,
        })
    }

    /// Sets the default destination and receives only from it.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `connect(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(socket: corio_uring::net::UdpSocket) -> std::io::Result<()> {
    /// socket.connect("127.0.0.1:9000").await?;
    /// socket.send(b"ping").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(addr, |addr| self.socket.get_ref().connect(addr))
    }

    /// Sends one datagram to `target`.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `sendto(2)`.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = target.to_socket_addrs()?.next().ok_or_else(no_addresses)?;
        poll_fn(|cx| {
            self.socket
                .poll_io(cx, Direction::Write, |s| s.send_to(buf, target))
        })
        .await
    }

    /// Receives one datagram, with its sender.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `recvfrom(2)`.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| {
            self.socket
                .poll_io(cx, Direction::Read, |s| s.recv_from(buf))
        })
        .await
    }

    /// Sends one datagram to the connected address.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `send(2)`.
    ///
    /// # Examples
    ///
    /// See [`connect`](Self::connect).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.socket.poll_io(cx, Direction::Write, |s| s.send(buf))).await
    }

    /// Receives one datagram from the connected address.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `recv(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(socket: corio_uring::net::UdpSocket) -> std::io::Result<()> {
    /// let mut buf = [0; 1500];
    /// let len = socket.recv(&mut buf).await?;
    /// # Ok(()) }
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.socket.poll_io(cx, Direction::Read, |s| s.recv(buf))).await
    }

    /// Returns the local address.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `getsockname(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(socket: corio_uring::net::UdpSocket) -> std::io::Result<()> {
    /// println!("{}", socket.local_addr()?);
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get_ref().local_addr()
    }

    /// Returns the connected address.
    ///
    /// # Errors
    ///
    /// Returns `NotConnected` before [`connect`](Self::connect).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(socket: corio_uring::net::UdpSocket) -> std::io::Result<()> {
    /// println!("{}", socket.peer_addr()?);
    /// # Ok(()) }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get_ref().peer_addr()
    }
}

debug_as_socket!(UdpSocket);

/// A Unix domain stream listener whose accepts are one multishot accept.
///
/// # Examples
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// let listener = corio_uring::net::UnixListener::bind("/tmp/corio-uring.sock")?;
/// let (stream, _addr) = listener.accept().await?;
/// # Ok(()) }
/// ```
pub struct UnixListener {
    socket: Socket<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Creates a listener bound to the socket file `path`.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `bind(2)`, or an error when no io_uring driver
    /// runs on this thread.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let listener = std::os::unix::net::UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            socket: Socket::new(listener)?,
        })
    }

    /// Waits for a connection.
    ///
    /// # Errors
    ///
    /// Returns the OS error of the accept; the listener stays usable.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn accept(&self) -> io::Result<(UnixStream, UnixSocketAddr)> {
        let fd = poll_fn(|cx| self.socket.poll_accept(cx)).await?;
        let stream = std::os::unix::net::UnixStream::from(fd);
        let addr = stream.peer_addr()?;
        Ok((UnixStream::new(stream)?, addr))
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
    /// # fn f(listener: corio_uring::net::UnixListener) -> std::io::Result<()> {
    /// println!("{:?}", listener.local_addr()?.as_pathname());
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<UnixSocketAddr> {
        self.socket.get_ref().local_addr()
    }
}

stops_listening_on_drop!(UnixListener);

debug_as_socket!(UnixListener);

/// A Unix domain stream connection on the io_uring driver.
///
/// # Examples
///
/// ```no_run
/// # fn f() -> std::io::Result<()> {
/// let (left, right) = corio_uring::net::UnixStream::pair()?;
/// # Ok(()) }
/// ```
pub struct UnixStream {
    socket: Socket<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    fn new(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            socket: Socket::new(stream)?,
        })
    }

    /// Connects to the socket file `path`.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `connect(2)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let stream = corio_uring::net::UnixStream::connect("/tmp/corio-uring.sock").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let socket = OwnedFd::from(mio::net::UnixStream::connect(path)?);
        let stream = UnixStream::new(std::os::unix::net::UnixStream::from(socket))?;
        connected(
            &stream.socket,
            |s| s.take_error(),
            |s| s.peer_addr().map(drop),
        )
        .await?;
        Ok(stream)
    }

    /// Creates a pair of connected, unnamed sockets.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `socketpair(2)`, or an error when no io_uring
    /// driver runs on this thread.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (left, right) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::new(left)?, UnixStream::new(right)?))
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
    /// # fn f(stream: corio_uring::net::UnixStream) -> std::io::Result<()> {
    /// let addr = stream.local_addr()?;
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<UnixSocketAddr> {
        self.socket.get_ref().local_addr()
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
    /// # fn f(stream: corio_uring::net::UnixStream) -> std::io::Result<()> {
    /// let addr = stream.peer_addr()?;
    /// # Ok(()) }
    /// ```
    pub fn peer_addr(&self) -> io::Result<UnixSocketAddr> {
        self.socket.get_ref().peer_addr()
    }
}

debug_as_socket!(UnixStream);

stream_traits!(UnixStream);
