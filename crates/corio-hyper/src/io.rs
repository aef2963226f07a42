//! [`CorioIo`]: hyper's `rt::Read` / `rt::Write` over a futures-io stream.
//!
//! hyper hands `poll_read` a buffer that may be uninitialized, while
//! futures-io's `poll_read` takes an initialized `&mut [u8]`. Rather than
//! pretend uninitialized memory is initialized (undefined behaviour) or zero
//! hyper's whole spare capacity on every read, the adapter reads into a
//! scratch buffer of its own, zeroed once when it grows, and copies what
//! arrived into hyper's buffer with the safe `ReadBufCursor::put_slice`. The
//! copy costs as many bytes as were read; the scratch grows to the largest
//! read hyper asked for, up to [`MAX_SCRATCH`] bytes, and is reused.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;

/// The largest read the adapter asks its stream for at once: 64 KiB, enough
/// to read a large body in few system calls while keeping the scratch of an
/// idle keep-alive connection small (hyper starts each connection with an
/// 8 KiB read buffer and grows it only for large bodies).
const MAX_SCRATCH: usize = 64 * 1024;

pin_project_lite::pin_project! {
    /// Wraps a [`futures_io`] stream (such as [`corio::net::TcpStream`]) so
    /// that hyper can read and write it: implements [`hyper::rt::Read`] and
    /// [`hyper::rt::Write`].
    ///
    /// Writes go straight to the stream, vectored when hyper asks (corio's
    /// sockets write an `IoSlice` list in one system call). Reads go through
    /// a scratch buffer owned by the adapter (see the module docs): it holds
    /// up to 64 KiB per connection once a read that large was asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_hyper::CorioIo;
    ///
    /// corio::run(async {
    ///     let listener = corio::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = corio::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     let io = CorioIo::new(stream);
    ///     assert!(io.inner().peer_addr().is_ok());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[derive(Debug)]
    pub struct CorioIo<T> {
        #[pin]
        inner: T,
        scratch: Vec<u8>,
    }
}

impl<T> CorioIo<T> {
    /// Wraps `inner`.
    ///
    /// # Examples
    ///
    /// ```
    /// let io = corio_hyper::CorioIo::new(std::io::Cursor::new(Vec::<u8>::new()));
    /// assert!(io.into_inner().into_inner().is_empty());
    /// ```
    pub fn new(inner: T) -> CorioIo<T> {
        CorioIo {
            inner,
            scratch: Vec::new(),
        }
    }

    /// The wrapped stream.
    ///
    /// # Examples
    ///
    /// ```
    /// let io = corio_hyper::CorioIo::new(std::io::Cursor::new(vec![1u8, 2]));
    /// assert_eq!(io.inner().get_ref(), &[1, 2]);
    /// ```
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut io = corio_hyper::CorioIo::new(std::io::Cursor::new(vec![1u8, 2]));
    /// io.inner_mut().set_position(1);
    /// assert_eq!(io.inner().position(), 1);
    /// ```
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// let io = corio_hyper::CorioIo::new(std::io::Cursor::new(vec![7u8]));
    /// assert_eq!(io.into_inner().into_inner(), [7]);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead> hyper::rt::Read for CorioIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.project();
        let wanted = buf.remaining().min(MAX_SCRATCH);
        if this.scratch.len() < wanted {
            this.scratch.resize(wanted, 0);
        }
        let scratch = &mut this.scratch[..wanted];
        let n = ready!(this.inner.poll_read(cx, scratch))?;
        // A stream that claims more bytes than it was given is broken; the
        // slice index below would panic on it, so it becomes an error.
        let read = scratch.get(..n).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the stream reported reading more bytes than the buffer holds",
            )
        })?;
        buf.put_slice(read);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite> hyper::rt::Write for CorioIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().inner.poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::{Read, Write};
    use std::future::poll_fn;
    use std::mem::MaybeUninit;

    /// A stream that returns `chunk` on every read, claiming `claimed` bytes.
    struct Liar {
        claimed: usize,
    }

    impl AsyncRead for Liar {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<std::io::Result<usize>> {
            buf.fill(b'x');
            Poll::Ready(Ok(self.claimed))
        }
    }

    fn read_once<T: AsyncRead + Unpin>(
        io: &mut CorioIo<T>,
        capacity: usize,
    ) -> std::io::Result<Vec<u8>> {
        let mut raw = vec![MaybeUninit::<u8>::uninit(); capacity];
        let mut buf = hyper::rt::ReadBuf::uninit(&mut raw);
        corio::run(poll_fn(|cx| {
            Pin::new(&mut *io).poll_read(cx, buf.unfilled())
        }))?;
        Ok(buf.filled().to_vec())
    }

    #[test]
    fn reads_land_in_hyper_buffer() {
        let mut io = CorioIo::new(futures_io_cursor(b"hello world".to_vec()));
        assert_eq!(read_once(&mut io, 5).unwrap(), b"hello");
        assert_eq!(read_once(&mut io, 100).unwrap(), b" world");
        assert_eq!(
            read_once(&mut io, 100).unwrap(),
            b"",
            "end of stream reads nothing"
        );
    }

    #[test]
    fn scratch_stays_within_its_bound() {
        let mut io = CorioIo::new(futures_io_cursor(vec![1; 200 * 1024]));
        assert_eq!(read_once(&mut io, 128 * 1024).unwrap().len(), MAX_SCRATCH);
        assert_eq!(io.scratch.len(), MAX_SCRATCH);
    }

    #[test]
    fn a_stream_claiming_too_many_bytes_is_an_error() {
        let mut io = CorioIo::new(Liar { claimed: 10 });
        let error = read_once(&mut io, 4).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        let mut honest = CorioIo::new(Liar { claimed: 4 });
        assert_eq!(read_once(&mut honest, 4).unwrap(), b"xxxx");
    }

    #[test]
    fn writes_reach_the_stream() {
        let mut io = CorioIo::new(futures_io_cursor(Vec::new()));
        corio::run(async {
            let n = poll_fn(|cx| Pin::new(&mut io).poll_write(cx, b"abc"))
                .await
                .unwrap();
            assert_eq!(n, 3);
            let slices = [std::io::IoSlice::new(b"de"), std::io::IoSlice::new(b"f")];
            let n = poll_fn(|cx| Pin::new(&mut io).poll_write_vectored(cx, &slices))
                .await
                .unwrap();
            assert!(n >= 2);
            poll_fn(|cx| Pin::new(&mut io).poll_flush(cx))
                .await
                .unwrap();
            poll_fn(|cx| Pin::new(&mut io).poll_shutdown(cx))
                .await
                .unwrap();
        });
        assert!(io.is_write_vectored());
        assert!(io.into_inner().0.into_inner().starts_with(b"abcde"));
    }

    /// A futures-io stream over memory (std's `Cursor` implements only the
    /// std traits).
    struct MemoryStream(std::io::Cursor<Vec<u8>>);

    fn futures_io_cursor(bytes: Vec<u8>) -> MemoryStream {
        MemoryStream(std::io::Cursor::new(bytes))
    }

    impl AsyncRead for MemoryStream {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<std::io::Result<usize>> {
            Poll::Ready(std::io::Read::read(&mut self.0, buf))
        }
    }

    impl AsyncWrite for MemoryStream {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Poll::Ready(std::io::Write::write(&mut self.0, buf))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
}
