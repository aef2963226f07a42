//! corio as the workloads see it: the current-thread `EventLoop`.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};

use crate::runtime::{LocalRuntime, NetRuntime, Runtime, Unwrap};

/// corio's current-thread `EventLoop` (IO and timers), as `corio::run` makes.
pub struct Corio {
    event_loop: RefCell<corio::EventLoop>,
}

impl Runtime for Corio {
    const NAME: &'static str = "corio";

    fn new() -> io::Result<Self> {
        Ok(Corio {
            event_loop: RefCell::new(corio::EventLoop::new()?),
        })
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.event_loop.borrow_mut().run_until_complete(future)
    }

    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + Send + Unpin + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(corio::spawn(future))
    }

    fn spawn_detached<F>(future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // Dropping a corio `Task` detaches it.
        drop(corio::spawn(future));
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        corio::yield_now()
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        corio::sleep(duration)
    }

    async fn timeout<F>(duration: Duration, future: F) -> Option<F::Output>
    where
        F: Future + Send,
    {
        corio::time::timeout(duration, future).await.ok()
    }

    fn gather<F>(futures: Vec<F>) -> impl Future<Output = Vec<F::Output>> + Send
    where
        F: Future + Send,
        F::Output: Send,
    {
        corio::gather(futures)
    }
}

impl LocalRuntime for Corio {
    fn spawn_local_detached<F>(future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        drop(corio::spawn_local(future));
    }
}

impl NetRuntime for Corio {
    type Listener = corio::net::TcpListener;
    type Stream = corio::net::TcpStream;

    async fn bind(addr: SocketAddr) -> io::Result<Self::Listener> {
        corio::net::TcpListener::bind(addr).await
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
        let stream = corio::net::TcpStream::connect(addr).await?;
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

/// Why corio cannot run the TCP benchmark yet, if it cannot: an event loop
/// made by `EventLoop::new()` must be able to open a socket.
pub fn missing_net() -> Option<String> {
    let runtime = match Corio::new() {
        Ok(runtime) => runtime,
        Err(e) => return Some(format!("corio::EventLoop::new() failed: {e}")),
    };
    match runtime.block_on(Corio::bind(([127, 0, 0, 1], 0).into())) {
        Ok(_) => None,
        Err(e) => Some(format!(
            "corio::EventLoop::new() cannot open sockets yet ({e})"
        )),
    }
}

/// corio's current-thread `EventLoop` on the io_uring driver
/// (`CORIO_DRIVER=uring`), the same workloads through the same
/// `corio::net` types.
pub struct CorioUring {
    event_loop: RefCell<corio::EventLoop>,
}

impl Runtime for CorioUring {
    const NAME: &'static str = "corio-uring";

    fn new() -> io::Result<Self> {
        let driver = corio::uring::UringDriver::new()?;
        let event_loop = corio::Runtime::builder()
            .current_thread()
            .driver(driver)
            .build_event_loop()?;
        Ok(CorioUring {
            event_loop: RefCell::new(event_loop),
        })
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.event_loop.borrow_mut().run_until_complete(future)
    }

    crate::runtime::tasks_via!(Corio);
}

// The same `corio::net` types; the loop's driver decides what they run on.
crate::runtime::net_via!(CorioUring => Corio);

/// Why corio cannot run on io_uring here, if it cannot.
pub fn missing_uring() -> Option<String> {
    corio::uring::UringDriver::new()
        .err()
        .map(|e| format!("the kernel refuses io_uring ({e})"))
}

/// corio's multi-thread `Runtime` with one worker per core
/// (`corio::Runtime::new()`), the counterpart of `TokioMt`.
pub struct CorioMt {
    runtime: corio::Runtime,
}

impl Runtime for CorioMt {
    const NAME: &'static str = "corio-mt";

    fn new() -> io::Result<Self> {
        Ok(CorioMt {
            runtime: corio::Runtime::new()?,
        })
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    crate::runtime::tasks_via!(Corio);
}

// The multi-thread runtime's sockets are the event loop's (one reactor,
// shared by the workers).
crate::runtime::net_via!(CorioMt => Corio);
