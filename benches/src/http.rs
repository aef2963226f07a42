//! The HTTP benchmark: the same hyper HTTP/1.1 service served by the runtime
//! under test, loaded by the same client on every row: hyper's client on a
//! tokio current-thread runtime of its own thread, over keep-alive
//! connections.
//!
//! hyper reaches each runtime through its runtime traits: corio's through
//! `corio-hyper` (`CorioIo`, `CorioTimer`), tokio's through hyper-util
//! (`TokioIo`, `TokioTimer`), the adapters a user of each would pick.

use std::convert::Infallible;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hyper::body::{Body, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::corio_rt::{Corio, CorioMt};
use crate::runtime::{NetRuntime, Tokio, TokioMt};
use crate::workloads::{check, Outcome, Sample};

/// The body of every response.
const HELLO: &str = "Hello, world!";

/// A runtime hyper can serve on.
pub trait HttpRuntime: NetRuntime {
    /// The accepted stream as hyper IO.
    type Io: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static;
    /// The runtime's hyper timer.
    type Timer: hyper::rt::Timer + Send + Sync + Clone + 'static;

    /// Wraps an accepted stream.
    fn hyper_io(stream: Self::Stream) -> Self::Io;
    /// The runtime's timer.
    fn hyper_timer() -> Self::Timer;
}

impl HttpRuntime for Corio {
    type Io = corio_hyper::CorioIo<corio::net::TcpStream>;
    type Timer = corio_hyper::CorioTimer;

    fn hyper_io(stream: Self::Stream) -> Self::Io {
        corio_hyper::CorioIo::new(stream)
    }

    fn hyper_timer() -> Self::Timer {
        corio_hyper::CorioTimer::new()
    }
}

impl HttpRuntime for Tokio {
    type Io = TokioIo<tokio::net::TcpStream>;
    type Timer = TokioTimer;

    fn hyper_io(stream: Self::Stream) -> Self::Io {
        TokioIo::new(stream)
    }

    fn hyper_timer() -> Self::Timer {
        TokioTimer::new()
    }
}

/// Implements [`HttpRuntime`] for a multi-thread runtime with the adapters
/// of its current-thread sibling (same sockets, same timers).
macro_rules! http_via {
    ($mt:ty => $single:ty) => {
        impl HttpRuntime for $mt {
            type Io = <$single as HttpRuntime>::Io;
            type Timer = <$single as HttpRuntime>::Timer;

            fn hyper_io(stream: Self::Stream) -> Self::Io {
                <$single>::hyper_io(stream)
            }

            fn hyper_timer() -> Self::Timer {
                <$single>::hyper_timer()
            }
        }
    };
}

http_via!(CorioMt => Corio);
http_via!(TokioMt => Tokio);

/// Serves `connections` keep-alive connections of `requests` `GET /` each
/// on `R` while the client load runs on its own thread; the sample is the
/// time from the first connection to the last response.
pub async fn http<R: HttpRuntime>(connections: u64, requests: u64) -> Outcome {
    let listener = R::bind(([127, 0, 0, 1], 0).into())
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = R::local_addr(&listener).map_err(|e| format!("local_addr: {e}"))?;
    let started = Instant::now();
    let load = std::thread::spawn(move || client_load(addr, connections, requests));
    let served = Arc::new(AtomicU64::new(0));
    let server = R::spawn({
        let served = served.clone();
        async move {
            let mut connection_tasks = Vec::new();
            for _ in 0..connections {
                let stream = R::accept(&listener).await?;
                let served = served.clone();
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(R::hyper_timer())
                    .serve_connection(
                        R::hyper_io(stream),
                        hyper::service::service_fn(move |_: Request<Incoming>| {
                            served.fetch_add(1, Ordering::Relaxed);
                            async { Ok::<_, Infallible>(Response::new(HELLO.to_string())) }
                        }),
                    );
                connection_tasks.push(R::spawn(connection));
            }
            for task in connection_tasks {
                task.await.map_err(std::io::Error::other)?;
            }
            std::io::Result::Ok(())
        }
    });
    server.await.map_err(|e| format!("server: {e}"))?;
    let verified = load
        .join()
        .map_err(|_| "the client thread panicked".to_string())??;
    let sample = Sample::elapsed(started);
    let expected = connections * requests;
    check("requests served", served.load(Ordering::Relaxed), expected)?;
    check("responses verified by the client", verified, expected)?;
    Ok(sample)
}

/// The client side: `connections` hyper clients on a tokio current-thread
/// runtime, each sending `requests` requests one after the other over its
/// keep-alive connection and checking every response; returns how many
/// responses were right.
fn client_load(addr: SocketAddr, connections: u64, requests: u64) -> Result<u64, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("client runtime: {e}"))?;
    runtime.block_on(async move {
        let clients: Vec<_> = (0..connections)
            .map(|_| tokio::spawn(client(addr, requests)))
            .collect();
        let mut verified = 0;
        for client in clients {
            verified += client.await.map_err(|e| format!("client task: {e}"))??;
        }
        Ok(verified)
    })
}

/// One keep-alive connection's requests.
async fn client(addr: SocketAddr, requests: u64) -> Result<u64, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let connection = tokio::spawn(connection);
    let mut verified = 0;
    for _ in 0..requests {
        poll_fn(|cx| sender.poll_ready(cx))
            .await
            .map_err(|e| format!("connection lost: {e}"))?;
        let request = Request::get("/")
            .header("host", "localhost")
            .body(String::new())
            .map_err(|e| format!("request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status();
        let body = read_body(response.into_body()).await?;
        if status == StatusCode::OK && body == HELLO.as_bytes() {
            verified += 1;
        }
    }
    drop(sender);
    connection
        .await
        .map_err(|e| format!("connection task: {e}"))?
        .map_err(|e| format!("connection: {e}"))?;
    Ok(verified)
}

/// Reads a whole response body.
async fn read_body(mut body: Incoming) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| format!("body: {e}"))?;
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}
