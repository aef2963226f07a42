//! Unix domain stream sockets.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use mio::Interest;

use crate::registration::Registration;
use crate::scheduled_io::Direction;

/// A Unix domain socket server.
///
/// Accept errors behave as for [`TcpListener`](super::TcpListener): the
/// listener stays usable, and after `EMFILE` a short sleep before retrying
/// avoids a busy loop.
///
/// # Examples
///
/// ```no_run
/// use corio_reactor::net::UnixListener;
///
/// # async fn f() -> std::io::Result<()> {
/// let listener = UnixListener::bind("/tmp/corio.sock")?;
/// let (stream, _addr) = listener.accept().await?;
/// # Ok(()) }
/// ```
pub struct UnixListener {
    io: Registration<mio::net::UnixListener>,
}

impl UnixListener {
    /// Creates a listener bound to the socket file `path`.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `bind(2)` (for example when `path` exists), or
    /// an error when no corio reactor runs on this thread.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: Registration::new(mio::net::UnixListener::bind(path)?, Interest::READABLE)?,
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
        let (stream, addr) = poll_fn(|cx| {
            self.io
                .poll_io(cx, Direction::Read, |listener| listener.accept())
        })
        .await?;
        Ok((UnixStream::from_mio(stream)?, addr))
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
    /// # fn f(listener: corio_reactor::net::UnixListener) -> std::io::Result<()> {
    /// println!("{:?}", listener.local_addr()?.as_pathname());
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnixListener").field(&self.io).finish()
    }
}

/// A Unix domain stream connection. Implements
/// [`AsyncRead`](futures_io::AsyncRead) and
/// [`AsyncWrite`](futures_io::AsyncWrite);
/// [`poll_close`](futures_io::AsyncWrite::poll_close) shuts down the write
/// side.
///
/// # Examples
///
/// ```no_run
/// use corio_reactor::net::UnixStream;
///
/// # async fn f() -> std::io::Result<()> {
/// let stream = UnixStream::connect("/tmp/corio.sock").await?;
/// # Ok(()) }
/// ```
pub struct UnixStream {
    io: Registration<mio::net::UnixStream>,
}

impl UnixStream {
    fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Registration::new(stream, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

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
        let stream = UnixStream::from_mio(mio::net::UnixStream::connect(path)?)?;
        super::connected(
            &stream.io,
            |socket| socket.take_error(),
            |socket| socket.peer_addr().map(drop),
        )
        .await?;
        Ok(stream)
    }

    /// Creates a pair of connected, unnamed sockets.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `socketpair(2)`, or an error when no corio
    /// reactor runs on this thread.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f() -> std::io::Result<()> {
    /// let (left, right) = corio_reactor::net::UnixStream::pair()?;
    /// # Ok(()) }
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (left, right) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(left)?, UnixStream::from_mio(right)?))
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
    /// # fn f(stream: corio_reactor::net::UnixStream) -> std::io::Result<()> {
    /// let addr = stream.local_addr()?;
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
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
    /// # fn f(stream: corio_reactor::net::UnixStream) -> std::io::Result<()> {
    /// let addr = stream.peer_addr()?;
    /// # Ok(()) }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
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
    /// # fn f(stream: corio_reactor::net::UnixStream) -> std::io::Result<()> {
    /// stream.shutdown(std::net::Shutdown::Write)?;
    /// # Ok(()) }
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnixStream").field(&self.io).finish()
    }
}

impl_async_read!(UnixStream, stream => stream);
impl_async_write!(UnixStream, stream => stream);
impl_async_read!(&UnixStream, stream => stream);
impl_async_write!(&UnixStream, stream => stream);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{block_on, entered_reactor};

    #[test]
    fn a_listener_registers_to_read_only_and_its_streams_to_read_and_write() {
        let (mut reactor, _context) = entered_reactor();
        let dir = std::env::temp_dir().join(format!("corio-reactor-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("interest.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(listener.io.interest(), Interest::READABLE);
        let connected = block_on(&mut reactor, UnixStream::connect(&path)).unwrap();
        let (accepted, _) = block_on(&mut reactor, listener.accept()).unwrap();
        let (left, right) = UnixStream::pair().unwrap();
        for stream in [&connected, &accepted, &left, &right] {
            assert_eq!(
                stream.io.interest(),
                Interest::READABLE | Interest::WRITABLE
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
