//! UDP sockets.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use mio::Interest;

use crate::registration::Registration;
use crate::scheduled_io::Direction;

/// A UDP socket. Every operation is async; several tasks may send and
/// receive on one socket at once through a shared reference.
///
/// # Examples
///
/// ```no_run
/// use corio_reactor::net::UdpSocket;
///
/// # async fn f() -> std::io::Result<()> {
/// let socket = UdpSocket::bind("127.0.0.1:0").await?;
/// socket.send_to(b"ping", "127.0.0.1:9000").await?;
/// let mut buf = [0; 1500];
/// let (len, from) = socket.recv_from(&mut buf).await?;
/// # Ok(()) }
/// ```
pub struct UdpSocket {
    io: Registration<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Creates a socket bound to `addr` (the first address it resolves to
    /// that can be bound).
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
    /// let socket = corio_reactor::net::UdpSocket::bind("0.0.0.0:0").await?;
    /// # Ok(()) }
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let socket = super::each_addr(addr, mio::net::UdpSocket::bind)?;
        Ok(UdpSocket {
            io: Registration::new(socket, Interest::READABLE | Interest::WRITABLE)?,
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
    /// # async fn f(socket: corio_reactor::net::UdpSocket) -> std::io::Result<()> {
    /// socket.connect("127.0.0.1:9000").await?;
    /// socket.send(b"ping").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        super::each_addr(addr, |addr| self.io.get_ref().connect(addr))
    }

    /// Sends `buf` as one datagram to `target` and returns the number of
    /// bytes sent.
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
        let target = super::first_addr(target)?;
        poll_fn(|cx| {
            self.io
                .poll_io(cx, Direction::Write, |socket| socket.send_to(buf, target))
        })
        .await
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
        poll_fn(|cx| {
            self.io
                .poll_io(cx, Direction::Read, |socket| socket.recv_from(buf))
        })
        .await
    }

    /// Sends `buf` to the address given to [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// Returns the OS error of `send(2)`, such as `ConnectionRefused` when an
    /// earlier datagram was refused by the peer's host.
    ///
    /// # Examples
    ///
    /// See [`connect`](Self::connect).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| {
            self.io
                .poll_io(cx, Direction::Write, |socket| socket.send(buf))
        })
        .await
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
    /// # async fn f(socket: corio_reactor::net::UdpSocket) -> std::io::Result<()> {
    /// let mut buf = [0; 1500];
    /// let len = socket.recv(&mut buf).await?;
    /// # Ok(()) }
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| {
            self.io
                .poll_io(cx, Direction::Read, |socket| socket.recv(buf))
        })
        .await
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
    /// # async fn f(socket: corio_reactor::net::UdpSocket) -> std::io::Result<()> {
    /// let port = socket.local_addr()?.port();
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Returns the address given to [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// Returns [`NotConnected`](io::ErrorKind::NotConnected) before `connect`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(socket: corio_reactor::net::UdpSocket) -> std::io::Result<()> {
    /// let peer = socket.peer_addr()?;
    /// # Ok(()) }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UdpSocket").field(&self.io).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{block_on, entered_reactor};

    #[test]
    fn a_socket_registers_to_read_and_write() {
        let (mut reactor, _context) = entered_reactor();
        let socket = block_on(&mut reactor, UdpSocket::bind("127.0.0.1:0")).unwrap();
        assert_eq!(
            socket.io.interest(),
            Interest::READABLE | Interest::WRITABLE
        );
    }
}
