//! Buffered reading and the `read` / `write` helpers streams need.
//!
//! corio's streams implement the futures-io traits ([`AsyncRead`],
//! [`AsyncWrite`]), which only have `poll_*` methods. [`AsyncReadExt`] and
//! [`AsyncWriteExt`] add the awaitable methods a program calls: bring them
//! into scope with `use corio::io::{AsyncReadExt, AsyncWriteExt};`.
//! [`BufReader`] is asyncio's `StreamReader`: `read_line`, `read_until` and
//! `read_exact` over any reader.
//!
//! # Examples
//!
//! ```
//! use corio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
//! use corio::net::UnixStream;
//!
//! corio::run(async {
//!     let (mut left, right) = UnixStream::pair()?;
//!     left.write_all(b"hello\nworld\n").await?;
//!     let mut reader = BufReader::new(right);
//!     let mut line = String::new();
//!     reader.read_line(&mut line).await?;
//!     assert_eq!(line, "hello\n");
//!     let mut rest = [0; 6];
//!     reader.read_exact(&mut rest).await?;
//!     assert_eq!(&rest, b"world\n");
//!     std::io::Result::Ok(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! These helpers are deliberately few; the futures-io ecosystem
//! (futures-lite's `AsyncReadExt`, for instance) works on corio's streams
//! unchanged.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

mod buf_reader;

pub use buf_reader::{BufReader, LimitOverrunError};
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

/// The size of the chunks [`AsyncReadExt::read_to_end`] reads.
const CHUNK: usize = 8 * 1024;

/// Awaitable reads for every [`AsyncRead`].
///
/// # Examples
///
/// ```
/// use corio::io::{AsyncReadExt, AsyncWriteExt};
/// use corio::net::UnixStream;
///
/// corio::run(async {
///     let (mut left, mut right) = UnixStream::pair()?;
///     left.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     right.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     std::io::Result::Ok(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf` and returns how many; 0 means
    /// end-of-file (or an empty `buf`).
    ///
    /// # Errors
    ///
    /// Returns the reader's error unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::io::{AsyncReadExt, AsyncWriteExt};
    /// use corio::net::UnixStream;
    ///
    /// corio::run(async {
    ///     let (mut left, mut right) = UnixStream::pair()?;
    ///     left.write_all(b"hi").await?;
    ///     drop(left);
    ///     let mut buf = [0; 16];
    ///     let len = right.read(&mut buf).await?;
    ///     assert_eq!(&buf[..len], b"hi");
    ///     assert_eq!(right.read(&mut buf).await?, 0); // end-of-file
    ///     std::io::Result::Ok(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a
    where
        Self: Unpin,
    {
        poll_fn(move |cx| Pin::new(&mut *self).poll_read(cx, buf))
    }

    /// Fills `buf` completely.
    ///
    /// [`BufReader`] has an inherent `read_exact` with the same behaviour,
    /// which is the one called on a `BufReader`.
    ///
    /// # Errors
    ///
    /// Returns [`UnexpectedEof`](io::ErrorKind::UnexpectedEof) when the
    /// stream ends before `buf` is full (the bytes read so far are in `buf`),
    /// or the reader's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::io::{AsyncReadExt, AsyncWriteExt};
    /// use corio::net::UnixStream;
    ///
    /// corio::run(async {
    ///     let (mut left, mut right) = UnixStream::pair()?;
    ///     left.write_all(b"abc").await?;
    ///     drop(left);
    ///     let mut buf = [0; 4];
    ///     let error = right.read_exact(&mut buf).await.unwrap_err();
    ///     assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<()>> + 'a
    where
        Self: Unpin,
    {
        let len = buf.len();
        transfer_all(
            len,
            move |cx, done| Pin::new(&mut *self).poll_read(cx, &mut buf[done..]),
            move |done| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("end-of-file after {done} of the {len} bytes expected"),
                )
            },
        )
    }

    /// Reads until end-of-file, appends everything to `buf` and returns how
    /// many bytes were appended.
    ///
    /// # Errors
    ///
    /// Returns the reader's error; the bytes read before it stay in `buf`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::io::{AsyncReadExt, AsyncWriteExt};
    /// use corio::net::UnixStream;
    ///
    /// corio::run(async {
    ///     let (mut left, mut right) = UnixStream::pair()?;
    ///     left.write_all(b"all of it").await?;
    ///     left.close().await?; // end-of-file for the reader
    ///     let mut everything = Vec::new();
    ///     assert_eq!(right.read_to_end(&mut everything).await?, 9);
    ///     assert_eq!(everything, b"all of it");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn read_to_end<'a>(
        &'a mut self,
        buf: &'a mut Vec<u8>,
    ) -> impl Future<Output = io::Result<usize>> + 'a
    where
        Self: Unpin,
    {
        async move {
            let start = buf.len();
            let mut chunk = vec![0; CHUNK];
            loop {
                match self.read(&mut chunk).await {
                    Ok(0) => return Ok(buf.len() - start),
                    Ok(read) => buf.extend_from_slice(&chunk[..read]),
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(error),
                }
            }
        }
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// Awaitable writes for every [`AsyncWrite`].
///
/// corio's sockets write straight to the OS, so [`flush`](Self::flush) has
/// nothing to do on them; it matters for writers that buffer.
///
/// # Examples
///
/// ```
/// use corio::io::{AsyncReadExt, AsyncWriteExt};
/// use corio::net::UnixStream;
///
/// corio::run(async {
///     let (mut left, mut right) = UnixStream::pair()?;
///     left.write_all(b"bye").await?;
///     left.close().await?;
///     let mut received = Vec::new();
///     right.read_to_end(&mut received).await?;
///     assert_eq!(received, b"bye");
///     std::io::Result::Ok(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some of `buf` and returns how many bytes were written.
    ///
    /// # Errors
    ///
    /// Returns the writer's error unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::io::AsyncWriteExt;
    /// use corio::net::UnixStream;
    ///
    /// corio::run(async {
    ///     let (mut left, _right) = UnixStream::pair()?;
    ///     let written = left.write(b"some bytes").await?;
    ///     assert!(written > 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a
    where
        Self: Unpin,
    {
        poll_fn(move |cx| Pin::new(&mut *self).poll_write(cx, buf))
    }

    /// Writes all of `buf`, waiting for room as often as needed.
    ///
    /// # Errors
    ///
    /// Returns the writer's error, or [`WriteZero`](io::ErrorKind::WriteZero)
    /// when the writer accepts no more bytes. Part of `buf` may have been
    /// written.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::io::{AsyncReadExt, AsyncWriteExt};
    /// use corio::net::UnixStream;
    ///
    /// corio::run(async {
    ///     let (mut left, mut right) = UnixStream::pair()?;
    ///     let reader = corio::spawn(async move {
    ///         let mut received = Vec::new();
    ///         right.read_to_end(&mut received).await.map(|_| received)
    ///     });
    ///     // More than a socket buffer holds: write_all waits for the reader.
    ///     let big = vec![7u8; 1 << 20];
    ///     left.write_all(&big).await?;
    ///     left.close().await?;
    ///     assert_eq!(reader.await.unwrap()?, big);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a
    where
        Self: Unpin,
    {
        let len = buf.len();
        transfer_all(
            len,
            move |cx, done| Pin::new(&mut *self).poll_write(cx, &buf[done..]),
            move |done| {
                io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("the writer accepted no more bytes after {done} of {len}"),
                )
            },
        )
    }

    /// Writes out whatever the writer buffers.
    ///
    /// # Errors
    ///
    /// Returns the writer's error unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::io::AsyncWriteExt;
    /// use corio::net::UnixStream;
    ///
    /// corio::run(async {
    ///     let (mut left, _right) = UnixStream::pair()?;
    ///     left.write_all(b"x").await?;
    ///     left.flush().await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn flush(&mut self) -> impl Future<Output = io::Result<()>> + '_
    where
        Self: Unpin,
    {
        poll_fn(move |cx| Pin::new(&mut *self).poll_flush(cx))
    }

    /// Flushes and closes the writer; on a socket this shuts down the
    /// writing direction, so the peer reads end-of-file.
    ///
    /// # Errors
    ///
    /// Returns the writer's error unchanged.
    ///
    /// # Examples
    ///
    /// See [`read_to_end`](AsyncReadExt::read_to_end).
    fn close(&mut self) -> impl Future<Output = io::Result<()>> + '_
    where
        Self: Unpin,
    {
        poll_fn(move |cx| Pin::new(&mut *self).poll_close(cx))
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

/// Moves `len` bytes, the loop behind [`AsyncReadExt::read_exact`] (and so
/// [`BufReader::read_exact`]) and [`AsyncWriteExt::write_all`]: polls `step`
/// with the number of bytes moved so far until they reach `len`, retrying
/// interrupted steps. A step that moves nothing ends the transfer with the
/// error `stalled` makes of the count reached.
async fn transfer_all(
    len: usize,
    mut step: impl FnMut(&mut Context<'_>, usize) -> Poll<io::Result<usize>>,
    stalled: impl FnOnce(usize) -> io::Error,
) -> io::Result<()> {
    let mut done = 0;
    while done < len {
        match poll_fn(|cx| step(cx, done)).await {
            Ok(0) => return Err(stalled(done)),
            Ok(moved) => done += moved,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that yields its data in small pieces, with an interruption
    /// before each piece.
    struct Trickle {
        data: Vec<u8>,
        interrupt: bool,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
            }
            let amount = buf.len().min(self.data.len()).min(3);
            buf[..amount].copy_from_slice(&self.data[..amount]);
            self.data.drain(..amount);
            Poll::Ready(Ok(amount))
        }
    }

    /// A writer that takes at most 2 bytes per call and stops after `room`.
    struct Narrow {
        written: Vec<u8>,
        room: usize,
        interrupt: bool,
    }

    impl AsyncWrite for Narrow {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
            }
            let amount = buf.len().min(2).min(self.room - self.written.len());
            self.written.extend_from_slice(&buf[..amount]);
            Poll::Ready(Ok(amount))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn trickle(data: &[u8]) -> Trickle {
        Trickle {
            data: data.to_vec(),
            interrupt: false,
        }
    }

    #[test]
    fn read_exact_gathers_pieces_and_retries_interruptions() {
        let mut reader = trickle(b"0123456789");
        let mut buf = [0; 8];
        crate::run(reader.read_exact(&mut buf)).unwrap();
        assert_eq!(&buf, b"01234567");
        assert_eq!(reader.data, b"89");
    }

    #[test]
    fn read_exact_at_early_end_of_file_is_unexpected_eof() {
        let mut reader = trickle(b"0123");
        let mut buf = [0; 8];
        let error = crate::run(reader.read_exact(&mut buf)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(&buf[..4], b"0123");
    }

    #[test]
    fn read_to_end_appends_everything() {
        let data: Vec<u8> = (0..=255).cycle().take(20_000).collect();
        let mut reader = trickle(&data);
        let mut buf = b"prefix".to_vec();
        let read = crate::run(reader.read_to_end(&mut buf)).unwrap();
        assert_eq!(read, data.len());
        assert_eq!(&buf[..6], b"prefix");
        assert_eq!(&buf[6..], &data[..]);
    }

    #[test]
    fn write_all_writes_everything_across_short_writes() {
        let mut writer = Narrow {
            written: Vec::new(),
            room: 100,
            interrupt: false,
        };
        crate::run(writer.write_all(b"hello, world")).unwrap();
        assert_eq!(writer.written, b"hello, world");
    }

    #[test]
    fn write_all_into_a_full_writer_is_write_zero() {
        let mut writer = Narrow {
            written: Vec::new(),
            room: 5,
            interrupt: false,
        };
        let error = crate::run(writer.write_all(b"hello, world")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WriteZero);
        assert_eq!(writer.written, b"hello");
    }
}
