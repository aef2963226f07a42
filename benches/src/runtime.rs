//! The small runtime trait every workload is written against, and its tokio
//! and smol implementations (corio's lives in `corio_rt.rs`).
//!
//! Each workload is written once, generic over [`Runtime`], so that every
//! runtime runs exactly the same code. The trait exposes only what an
//! application uses: `block_on`, `spawn` (+ join), `spawn_local`, `yield_now`,
//! `sleep`, `timeout`, `gather`, and TCP for the echo benchmark.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};

/// An async runtime as the workloads see it.
pub trait Runtime: Sized + 'static {
    /// The name printed in the report.
    const NAME: &'static str;

    /// Builds a fresh runtime (not part of what is measured).
    fn new() -> io::Result<Self>;

    /// Runs `future` to completion on the current thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Spawns `future` on the current runtime; the returned future joins it.
    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + Send + Unpin + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `future` and forgets its handle (the task keeps running).
    fn spawn_detached<F>(future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Gives the other tasks a turn.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// Waits `duration`.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;

    /// Runs `future` for at most `duration`: `None` when the time ran out.
    fn timeout<F>(duration: Duration, future: F) -> impl Future<Output = Option<F::Output>> + Send
    where
        F: Future + Send;

    /// Runs every future concurrently inside the calling task; results in
    /// input order. The default is `futures_util::future::join_all`.
    fn gather<F>(futures: Vec<F>) -> impl Future<Output = Vec<F::Output>> + Send
    where
        F: Future + Send,
        F::Output: Send,
    {
        futures_util::future::join_all(futures)
    }
}

/// A runtime whose loop can run `!Send` tasks on the current thread.
pub trait LocalRuntime: Runtime {
    /// Spawns a `!Send` future on the current thread's loop, detached.
    fn spawn_local_detached<F>(future: F)
    where
        F: Future<Output = ()> + 'static;
}

/// A runtime with TCP sockets.
pub trait NetRuntime: Runtime {
    /// A listening socket.
    type Listener: Send + Sync + 'static;
    /// A connected socket.
    type Stream: Send + 'static;

    /// Binds a listener to `addr`.
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;
    /// The address the listener is bound to.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;
    /// Accepts one connection (with `TCP_NODELAY` set).
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send + '_;
    /// Connects to `addr` (with `TCP_NODELAY` set).
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// Fills `buf` from the stream.
    fn read_exact<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;
    /// Writes all of `buf` to the stream.
    fn write_all<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;
}

/// A join handle whose output is a `Result`, unwrapped: a task that failed
/// makes the workload panic, which the harness reports as a failed run.
pub struct Unwrap<H>(pub H);

impl<H, T, E> Future for Unwrap<H>
where
    H: Future<Output = Result<T, E>> + Unpin,
    E: std::fmt::Display,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Ready(Ok(value)) => Poll::Ready(value),
            Poll::Ready(Err(error)) => panic!("a spawned task failed: {error}"),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// tokio's current-thread runtime; `block_on` runs inside a `LocalSet` so
/// that `spawn_local` works, as a tokio user would set it up.
pub struct Tokio {
    runtime: tokio::runtime::Runtime,
}

impl Runtime for Tokio {
    const NAME: &'static str = "tokio";

    fn new() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Tokio { runtime })
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        tokio::task::LocalSet::new().block_on(&self.runtime, future)
    }

    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + Send + Unpin + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(tokio::spawn(future))
    }

    fn spawn_detached<F>(future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(future));
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    async fn timeout<F>(duration: Duration, future: F) -> Option<F::Output>
    where
        F: Future + Send,
    {
        tokio::time::timeout(duration, future).await.ok()
    }
}

impl LocalRuntime for Tokio {
    fn spawn_local_detached<F>(future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        drop(tokio::task::spawn_local(future));
    }
}

impl NetRuntime for Tokio {
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;

    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send {
        tokio::net::TcpListener::bind(addr)
    }

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn read_exact(stream: &mut Self::Stream, buf: &mut [u8]) -> io::Result<()> {
        tokio::io::AsyncReadExt::read_exact(stream, buf).await?;
        Ok(())
    }

    fn write_all<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        tokio::io::AsyncWriteExt::write_all(stream, buf)
    }
}

/// tokio's multi-thread runtime with its default worker count (one per core).
pub struct TokioMt {
    runtime: tokio::runtime::Runtime,
}

impl Runtime for TokioMt {
    const NAME: &'static str = "tokio-mt";

    fn new() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        Ok(TokioMt { runtime })
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    crate::runtime::tasks_via!(Tokio);
}

thread_local! {
    /// The thread's smol executor: `LocalExecutor`, driven by `smol::block_on`
    /// (which also drives async-io's reactor and timers).
    static SMOL_LOCAL: smol::LocalExecutor<'static> = const { smol::LocalExecutor::new() };
}

/// smol on one thread: a `LocalExecutor` run by `smol::block_on`.
pub struct Smol;

impl Runtime for Smol {
    const NAME: &'static str = "smol";

    fn new() -> io::Result<Self> {
        Ok(Smol)
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        SMOL_LOCAL.with(|executor| smol::block_on(executor.run(future)))
    }

    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + Send + Unpin + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // A LocalExecutor task handle is `Send` when its output is.
        SMOL_LOCAL.with(|executor| executor.spawn(future))
    }

    fn spawn_detached<F>(future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        SMOL_LOCAL.with(|executor| executor.spawn(future).detach());
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }

    async fn sleep(duration: Duration) {
        smol::Timer::after(duration).await;
    }

    fn timeout<F>(duration: Duration, future: F) -> impl Future<Output = Option<F::Output>> + Send
    where
        F: Future + Send,
    {
        // smol has no `timeout`; this is the idiom its docs give.
        async move { Some(future.await) }.or(async move {
            smol::Timer::after(duration).await;
            None
        })
    }
}

impl LocalRuntime for Smol {
    fn spawn_local_detached<F>(future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        SMOL_LOCAL.with(|executor| executor.spawn(future).detach());
    }
}

impl NetRuntime for Smol {
    type Listener = smol::net::TcpListener;
    type Stream = smol::net::TcpStream;

    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send {
        smol::net::TcpListener::bind(addr)
    }

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = smol::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn read_exact<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        stream.read_exact(buf)
    }

    fn write_all<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        stream.write_all(buf)
    }
}

/// The task half of a `Runtime` impl that runs the same tasks as `$single`
/// (one that differs only in how it is built or blocked on): every item
/// forwards.
macro_rules! tasks_via {
    ($single:ty) => {
        fn spawn<F>(future: F) -> impl Future<Output = F::Output> + Send + Unpin + 'static
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            <$single>::spawn(future)
        }

        fn spawn_detached<F>(future: F)
        where
            F: Future<Output = ()> + Send + 'static,
        {
            <$single>::spawn_detached(future);
        }

        fn yield_now() -> impl Future<Output = ()> + Send {
            <$single>::yield_now()
        }

        fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
            <$single>::sleep(duration)
        }

        fn timeout<F>(
            duration: Duration,
            future: F,
        ) -> impl Future<Output = Option<F::Output>> + Send
        where
            F: Future + Send,
        {
            <$single>::timeout(duration, future)
        }

        fn gather<F>(futures: Vec<F>) -> impl Future<Output = Vec<F::Output>> + Send
        where
            F: Future + Send,
            F::Output: Send,
        {
            <$single>::gather(futures)
        }
    };
}
pub(crate) use tasks_via;

/// Implements [`NetRuntime`] for a multi-thread runtime `$mt` with the
/// sockets of its current-thread sibling `$single` (one reactor either way).
macro_rules! net_via {
    ($mt:ty => $single:ty) => {
        impl NetRuntime for $mt {
            type Listener = <$single as NetRuntime>::Listener;
            type Stream = <$single as NetRuntime>::Stream;

            fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send {
                <$single>::bind(addr)
            }

            fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
                <$single>::local_addr(listener)
            }

            fn accept(
                listener: &Self::Listener,
            ) -> impl Future<Output = io::Result<Self::Stream>> + Send + '_ {
                <$single>::accept(listener)
            }

            fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send {
                <$single>::connect(addr)
            }

            fn read_exact<'a>(
                stream: &'a mut Self::Stream,
                buf: &'a mut [u8],
            ) -> impl Future<Output = io::Result<()>> + Send + 'a {
                <$single>::read_exact(stream, buf)
            }

            fn write_all<'a>(
                stream: &'a mut Self::Stream,
                buf: &'a [u8],
            ) -> impl Future<Output = io::Result<()>> + Send + 'a {
                <$single>::write_all(stream, buf)
            }
        }
    };
}
pub(crate) use net_via;

net_via!(TokioMt => Tokio);
