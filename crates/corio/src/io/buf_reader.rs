//! [`BufReader`]: buffered reading in the shapes of asyncio's `StreamReader`.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use super::AsyncReadExt;

/// The default limit on the length of one line, as in asyncio: 64 KiB.
const DEFAULT_LIMIT: usize = 64 * 1024;
/// The size of the internal buffer.
const CAPACITY: usize = 8 * 1024;

/// Adds a buffer to a reader, with line-oriented and exact reads.
///
/// Writes pass straight through to the inner stream, so a `BufReader` over a
/// socket can still be written to.
///
/// # Examples
///
/// ```no_run
/// use corio::{io::BufReader, net::TcpStream};
///
/// # async fn f() -> std::io::Result<()> {
/// let stream = TcpStream::connect("127.0.0.1:8080").await?;
/// let mut reader = BufReader::new(stream);
/// let mut line = String::new();
/// while reader.read_line(&mut line).await? != 0 {
///     print!("{line}");
///     line.clear();
/// }
/// # Ok(()) }
/// ```
pub struct BufReader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    limit: usize,
}

/// A line (or chunk up to a delimiter) was longer than the reader's limit.
///
/// It reaches the caller inside an [`io::Error`] of kind
/// [`InvalidData`](io::ErrorKind::InvalidData); downcast to inspect it.
///
/// # Examples
///
/// ```no_run
/// use corio::io::{BufReader, LimitOverrunError};
///
/// # async fn f(mut reader: BufReader<corio::net::TcpStream>) {
/// let mut line = Vec::new();
/// if let Err(error) = reader.read_until(b'\n', &mut line).await {
///     if let Some(overrun) = error.get_ref().and_then(|e| e.downcast_ref::<LimitOverrunError>()) {
///         println!("line over {} bytes", overrun.limit());
///     }
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("the delimiter was not found within the limit of {limit} bytes")]
pub struct LimitOverrunError {
    limit: usize,
}

impl LimitOverrunError {
    /// Returns the limit that was exceeded; that many bytes were consumed and
    /// appended to the caller's buffer.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl<R: AsyncRead + Unpin> BufReader<R> {
    /// Wraps `inner` with a buffer and the default line limit of 64 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::io::BufReader;
    /// # struct Empty;
    /// # impl corio::io::AsyncRead for Empty {
    /// #     fn poll_read(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, _: &mut [u8])
    /// #         -> std::task::Poll<std::io::Result<usize>> { std::task::Poll::Ready(Ok(0)) }
    /// # }
    /// let reader = BufReader::new(Empty);
    /// assert_eq!(reader.limit(), 64 * 1024);
    /// ```
    pub fn new(inner: R) -> BufReader<R> {
        BufReader {
            inner,
            buf: vec![0; CAPACITY].into_boxed_slice(),
            pos: 0,
            filled: 0,
            limit: DEFAULT_LIMIT,
        }
    }

    /// Sets the longest line (delimiter included) that
    /// [`read_line`](Self::read_line) and [`read_until`](Self::read_until)
    /// accept.
    ///
    /// # Examples
    ///
    /// ```
    /// # use corio::io::BufReader;
    /// # struct Empty;
    /// # impl corio::io::AsyncRead for Empty {
    /// #     fn poll_read(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, _: &mut [u8])
    /// #         -> std::task::Poll<std::io::Result<usize>> { std::task::Poll::Ready(Ok(0)) }
    /// # }
    /// let reader = BufReader::new(Empty).with_limit(1024);
    /// assert_eq!(reader.limit(), 1024);
    /// ```
    pub fn with_limit(mut self, limit: usize) -> BufReader<R> {
        self.limit = limit;
        self
    }

    /// Returns the line limit.
    ///
    /// # Examples
    ///
    /// See [`new`](Self::new).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Returns the inner reader.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(reader: corio::io::BufReader<corio::net::TcpStream>) -> std::io::Result<()> {
    /// let peer = reader.get_ref().peer_addr()?;
    /// # Ok(()) }
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Returns the inner reader mutably; reading from it directly skips
    /// what is buffered.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(mut reader: corio::io::BufReader<corio::net::TcpStream>) {
    /// let stream = reader.get_mut();
    /// # }
    /// ```
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Returns the inner reader, dropping what is buffered.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(reader: corio::io::BufReader<corio::net::TcpStream>) {
    /// let stream = reader.into_inner();
    /// # }
    /// ```
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Returns the bytes read from the inner reader but not yet consumed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(reader: corio::io::BufReader<corio::net::TcpStream>) {
    /// println!("{} bytes buffered", reader.buffer().len());
    /// # }
    /// ```
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }

    /// Reads bytes up to and including `byte` into `buf` and returns how
    /// many were read; fewer, without the delimiter, at end-of-file, and 0
    /// once at end-of-file.
    ///
    /// # Errors
    ///
    /// Returns a read error of the inner reader, or, when `limit` bytes go by
    /// without the delimiter, an [`InvalidData`](io::ErrorKind::InvalidData)
    /// error holding a [`LimitOverrunError`]; those `limit` bytes have then
    /// been consumed and appended to `buf`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(mut reader: corio::io::BufReader<corio::net::TcpStream>) -> std::io::Result<()> {
    /// let mut record = Vec::new();
    /// reader.read_until(0, &mut record).await?;
    /// # Ok(()) }
    /// ```
    pub async fn read_until(&mut self, byte: u8, buf: &mut Vec<u8>) -> io::Result<usize> {
        let mut read = 0;
        loop {
            if self.fill().await? == 0 {
                return Ok(read);
            }
            let available = &self.buf[self.pos..self.filled];
            let allowance = self.limit - read;
            let (take, found) = match available.iter().position(|&b| b == byte) {
                Some(index) => (index + 1, true),
                None => (available.len(), false),
            };
            if take > allowance {
                buf.extend_from_slice(&available[..allowance]);
                self.consume_buffered(allowance);
                let overrun = LimitOverrunError { limit: self.limit };
                return Err(io::Error::new(io::ErrorKind::InvalidData, overrun));
            }
            buf.extend_from_slice(&available[..take]);
            self.consume_buffered(take);
            read += take;
            if found {
                return Ok(read);
            }
        }
    }

    /// Reads a line, newline included, and appends it to `buf`; returns its
    /// length in bytes, 0 at end-of-file.
    ///
    /// # Errors
    ///
    /// As [`read_until`](Self::read_until), plus an
    /// [`InvalidData`](io::ErrorKind::InvalidData) error when the line is not
    /// UTF-8 (then nothing is appended to `buf`).
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub async fn read_line(&mut self, buf: &mut String) -> io::Result<usize> {
        let mut bytes = Vec::new();
        let result = self.read_until(b'\n', &mut bytes).await;
        match String::from_utf8(bytes) {
            Ok(line) => buf.push_str(&line),
            Err(_) if result.is_ok() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the line is not valid UTF-8",
                ))
            }
            Err(_) => {}
        }
        result
    }

    /// Fills `buf` completely.
    ///
    /// # Errors
    ///
    /// Returns [`UnexpectedEof`](io::ErrorKind::UnexpectedEof) when the
    /// stream ends first (what was read is consumed), or a read error of the
    /// inner reader.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(mut reader: corio::io::BufReader<corio::net::TcpStream>) -> std::io::Result<()> {
    /// let mut header = [0; 4];
    /// reader.read_exact(&mut header).await?;
    /// let body_len = u32::from_be_bytes(header);
    /// # Ok(()) }
    /// ```
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        AsyncReadExt::read_exact(self, buf).await
    }

    /// Returns how many bytes are buffered, reading more first if there are
    /// none; 0 means end-of-file.
    async fn fill(&mut self) -> io::Result<usize> {
        poll_fn(|cx| self.poll_fill(cx)).await?;
        Ok(self.filled - self.pos)
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.pos < self.filled {
            return Poll::Ready(Ok(()));
        }
        let read = ready!(Pin::new(&mut self.inner).poll_read(cx, &mut self.buf))?;
        self.pos = 0;
        self.filled = read;
        Poll::Ready(Ok(()))
    }

    fn consume_buffered(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.filled);
    }
}

impl<R: fmt::Debug> fmt::Debug for BufReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufReader")
            .field("inner", &self.inner)
            .field("buffered", &(self.filled - self.pos))
            .field("limit", &self.limit)
            .finish()
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for BufReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Large reads with nothing buffered skip the copy.
        if this.pos == this.filled && buf.len() >= this.buf.len() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        ready!(this.poll_fill(cx))?;
        let available = this.buffer();
        let amount = available.len().min(buf.len());
        buf[..amount].copy_from_slice(&available[..amount]);
        this.consume_buffered(amount);
        Poll::Ready(Ok(amount))
    }
}

impl<R: AsyncRead + Unpin> AsyncBufRead for BufReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        ready!(this.poll_fill(cx))?;
        Poll::Ready(Ok(this.buffer()))
    }

    fn consume(self: Pin<&mut Self>, amount: usize) {
        self.get_mut().consume_buffered(amount);
    }
}

impl<R: AsyncWrite + Unpin> AsyncWrite for BufReader<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}
