//! asyncio's streams: [`open_connection`] and [`start_server`].

use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use corio_core::Task;
use corio_executor::task::Builder;

use crate::io::BufReader;
use crate::net::{OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};

/// How long the accept loop of a [`Server`] waits after an accept error
/// (such as running out of file descriptors) before it tries again.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// Connects to `addr` over TCP and returns a buffered reader and a writer
/// for the connection (asyncio's `open_connection`).
///
/// Like asyncio, the connection has `TCP_NODELAY` set, so small writes leave
/// at once. The two halves can move to different tasks; dropping (or
/// [closing](crate::io::AsyncWriteExt::close)) the writer shuts down the
/// writing direction, so the peer reads end-of-file while this side can
/// still read.
///
/// # Errors
///
/// Returns the OS error of `connect(2)` (such as
/// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused)), or an error when
/// no corio loop with IO runs on this thread.
///
/// # Examples
///
/// ```
/// use corio::io::AsyncWriteExt;
///
/// corio::run(async {
///     let server = corio::start_server("127.0.0.1:0", |mut reader, mut writer| async move {
///         let mut line = String::new();
///         reader.read_line(&mut line).await?;
///         writer.write_all(line.to_uppercase().as_bytes()).await
///     })
///     .await?;
///     let (mut reader, mut writer) = corio::open_connection(server.local_addr()?).await?;
///     writer.write_all(b"hello\n").await?;
///     let mut line = String::new();
///     reader.read_line(&mut line).await?;
///     assert_eq!(line, "HELLO\n");
///     std::io::Result::Ok(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn open_connection(
    addr: impl ToSocketAddrs,
) -> io::Result<(BufReader<OwnedReadHalf>, OwnedWriteHalf)> {
    let stream = TcpStream::connect(addr).await?;
    Ok(into_streams(stream))
}

/// Listens on `addr` and runs `handler(reader, writer)` as a task of its
/// own for every connection (asyncio's `start_server`).
///
/// The returned [`Server`] accepts connections while it is alive;
/// [`close`](Server::close) it, or drop it, to stop accepting. Connections
/// already accepted go on until their handlers finish. Accepted connections
/// have `TCP_NODELAY` set, as in asyncio.
///
/// A handler's error is reported on stderr with the peer's address (asyncio
/// logs a handler's exception the same way). When `accept` itself fails, for
/// instance because the process is out of file descriptors (`EMFILE`), the
/// error is reported on stderr and the server tries again 100 ms later: it
/// neither stops nor spins. Errors that concern only the connection being
/// accepted (the peer reset or aborted it) are skipped silently.
///
/// # Errors
///
/// Returns the OS error when `addr` cannot be bound, or an error when no
/// corio loop with IO runs on this thread.
///
/// # Panics
///
/// Panics when called outside a corio loop.
///
/// # Examples
///
/// An echo server:
///
/// ```
/// use corio::io::AsyncWriteExt;
///
/// corio::run(async {
///     let server = corio::start_server("127.0.0.1:0", |mut reader, mut writer| async move {
///         let mut line = Vec::new();
///         while reader.read_until(b'\n', &mut line).await? != 0 {
///             writer.write_all(&line).await?;
///             line.clear();
///         }
///         Ok(())
///     })
///     .await?;
///     let (mut reader, mut writer) = corio::open_connection(server.local_addr()?).await?;
///     writer.write_all(b"ping\n").await?;
///     let mut echo = String::new();
///     reader.read_line(&mut echo).await?;
///     assert_eq!(echo, "ping\n");
///     std::io::Result::Ok(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn start_server<A, H, F>(addr: A, handler: H) -> io::Result<Server>
where
    A: ToSocketAddrs,
    H: Fn(BufReader<OwnedReadHalf>, OwnedWriteHalf) -> F + 'static,
    F: Future<Output = io::Result<()>> + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    let listener = Rc::new(RefCell::new(Some(listener)));
    let accept_loop = Builder::new()
        .name(format!("corio::start_server on {local_addr}"))
        .spawn_local(serve(listener.clone(), local_addr, handler));
    Ok(Server {
        listener,
        accept_loop: RefCell::new(Some(accept_loop)),
        local_addr,
    })
}

/// A TCP server started by [`start_server`]: it accepts connections while
/// it is alive (asyncio's `Server`).
///
/// A `Server` belongs to the loop it was started on, so it is not `Send`.
///
/// # Examples
///
/// ```
/// corio::run(async {
///     let server = corio::start_server("127.0.0.1:0", |_, _| async { Ok(()) }).await?;
///     assert!(server.is_serving());
///     println!("listening on {}", server.local_addr()?);
///     server.close();
///     assert!(!server.is_serving());
///     std::io::Result::Ok(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    /// Shared with the accept loop; `None` once closed. The accept loop
    /// borrows it only inside one poll, never across an await.
    listener: Rc<RefCell<Option<TcpListener>>>,
    accept_loop: RefCell<Option<Task<()>>>,
    local_addr: SocketAddr,
}

impl Server {
    /// Returns the address the server listens on (useful after binding port
    /// 0).
    ///
    /// # Errors
    ///
    /// Returns a [`NotConnected`](io::ErrorKind::NotConnected) error once
    /// the server is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// corio::run(async {
    ///     let server = corio::start_server("127.0.0.1:0", |_, _| async { Ok(()) }).await?;
    ///     assert_ne!(server.local_addr()?.port(), 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        if self.is_serving() {
            Ok(self.local_addr)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!("the server that listened on {} is closed", self.local_addr),
            ))
        }
    }

    /// Returns whether the server still accepts connections.
    ///
    /// # Examples
    ///
    /// See the [type docs](Self).
    pub fn is_serving(&self) -> bool {
        self.listener.borrow().is_some()
    }

    /// Stops accepting connections: the listening socket is closed at once,
    /// so new connections are refused. Connections already accepted go on.
    /// Closing twice does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// corio::run(async {
    ///     let server = corio::start_server("127.0.0.1:0", |_, _| async { Ok(()) }).await?;
    ///     let addr = server.local_addr()?;
    ///     server.close();
    ///     let refused = corio::open_connection(addr).await.unwrap_err();
    ///     assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&self) {
        let listener = self.listener.borrow_mut().take();
        drop(listener);
        if let Some(accept_loop) = self.accept_loop.borrow_mut().take() {
            accept_loop.cancel();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("serving", &self.is_serving())
            .finish()
    }
}

/// Splits a connection into asyncio's reader and writer pair.
fn into_streams(stream: TcpStream) -> (BufReader<OwnedReadHalf>, OwnedWriteHalf) {
    // Nagle's algorithm only delays small writes; a failure to turn it off
    // leaves a working, if slower, connection.
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    (BufReader::new(reader), writer)
}

/// The accept loop of a server: runs until the listener is taken away.
async fn serve<H, F>(listener: Rc<RefCell<Option<TcpListener>>>, local_addr: SocketAddr, handler: H)
where
    H: Fn(BufReader<OwnedReadHalf>, OwnedWriteHalf) -> F + 'static,
    F: Future<Output = io::Result<()>> + 'static,
{
    loop {
        let accepted = poll_fn(|cx| match &*listener.borrow() {
            Some(listener) => listener.poll_accept(cx).map(Some),
            None => Poll::Ready(None),
        })
        .await;
        match accepted {
            None => return,
            Some(Ok((stream, peer))) => {
                let (reader, writer) = into_streams(stream);
                let connection = handler(reader, writer);
                Builder::new()
                    .name(format!("corio::start_server connection from {peer}"))
                    .spawn_local(async move {
                        if let Err(error) = connection.await {
                            eprintln!(
                                "corio: the handler of the server on {local_addr} failed for \
                                 the connection from {peer}: {error}"
                            );
                        }
                    })
                    .detach();
            }
            Some(Err(error)) if concerns_one_connection(&error) => {}
            Some(Err(error)) => {
                eprintln!(
                    "corio: the server on {local_addr} cannot accept connections: {error}; \
                     retrying in {} ms",
                    ACCEPT_RETRY_DELAY.as_millis()
                );
                corio_timer::sleep(ACCEPT_RETRY_DELAY).await;
            }
        }
    }
}

/// Whether an accept error is about the one connection being accepted (the
/// next accept may well succeed) rather than the listener or the process.
fn concerns_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}
