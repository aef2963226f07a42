//! hyper's HTTP/1.1 server and client on corio (through `corio-hyper`), on
//! the current-thread and the multi-thread runtime: real requests over
//! 127.0.0.1, every body checked.

use std::convert::Infallible;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use corio::io::{AsyncReadExt, AsyncWriteExt};
use corio::net::{TcpListener, TcpStream};
use corio::sync::Queue;
use corio_hyper::{CorioIo, CorioTimer};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, StatusCode};

const MIB: usize = 1024 * 1024;

/// The runtimes every scenario runs on.
fn runtimes() -> [(&'static str, corio::Runtime); 2] {
    [
        (
            "current-thread",
            corio::Runtime::builder().current_thread().build().unwrap(),
        ),
        (
            "multi-thread",
            corio::Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        ),
    ]
}

/// A body of `count` copies of `chunk`, produced one frame at a time; it
/// counts its drops in `dropped` so a test can see the server let go of it.
struct Chunks {
    chunk: Bytes,
    left: usize,
    dropped: Arc<AtomicUsize>,
}

impl Chunks {
    fn once(bytes: impl Into<Bytes>) -> Chunks {
        Chunks::repeat(bytes, 1, Arc::default())
    }

    fn repeat(chunk: impl Into<Bytes>, count: usize, dropped: Arc<AtomicUsize>) -> Chunks {
        Chunks {
            chunk: chunk.into(),
            left: count,
            dropped,
        }
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.clone()))))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact((self.chunk.len() * self.left) as u64)
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }
}

impl Drop for Chunks {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Reads a whole body.
async fn collect(mut body: Incoming) -> Result<Vec<u8>, hyper::Error> {
    let mut bytes = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame?.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// A 1 MiB payload whose every position matters.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// The test service: `GET /hello`, `POST /echo` (the body back, reversed so
/// an echo of the wrong bytes cannot pass), `GET /stream` (64 MiB).
async fn service(
    request: Request<Incoming>,
    stream_drops: Arc<AtomicUsize>,
) -> Result<Response<Chunks>, hyper::Error> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/hello") => Response::new(Chunks::once("Hello, world!")),
        (&Method::POST, "/echo") => {
            let mut body = collect(request.into_body()).await?;
            body.reverse();
            Response::new(Chunks::once(body))
        }
        (&Method::GET, "/stream") => {
            Response::new(Chunks::repeat(vec![b's'; 64 * 1024], 1024, stream_drops))
        }
        _ => {
            let mut response = Response::new(Chunks::once(""));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    };
    Ok(response)
}

/// A running test server: its address, the outcome of every connection it
/// served (in the order they ended), and the drop count of `/stream` bodies.
struct Server {
    addr: SocketAddr,
    outcomes: Arc<Queue<Result<(), hyper::Error>>>,
    stream_drops: Arc<AtomicUsize>,
}

/// Starts a server on 127.0.0.1 on the current runtime.
async fn start_server(header_read_timeout: Option<Duration>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let outcomes = Arc::new(Queue::unbounded());
    let stream_drops = Arc::new(AtomicUsize::new(0));
    let server = Server {
        addr,
        outcomes: outcomes.clone(),
        stream_drops: stream_drops.clone(),
    };
    corio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let outcomes = outcomes.clone();
            let stream_drops = stream_drops.clone();
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(CorioTimer::new())
                .header_read_timeout(header_read_timeout);
            corio::spawn(async move {
                let outcome = builder
                    .serve_connection(
                        CorioIo::new(stream),
                        hyper::service::service_fn(move |request| {
                            service(request, stream_drops.clone())
                        }),
                    )
                    .await;
                outcomes.put(outcome).await.unwrap();
            })
            .detach();
        }
    })
    .detach();
    server
}

/// Opens one client connection (hyper's client on corio).
async fn connect(addr: SocketAddr) -> SendRequest<Chunks> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(CorioIo::new(stream))
        .await
        .unwrap();
    corio::spawn(connection).detach();
    sender
}

/// Sends one request and returns the status and the whole body.
async fn fetch(
    sender: &mut SendRequest<Chunks>,
    method: Method,
    path: &str,
    body: Chunks,
) -> (StatusCode, Vec<u8>) {
    poll_fn(|cx| sender.poll_ready(cx)).await.unwrap();
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(body)
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    (status, collect(response.into_body()).await.unwrap())
}

/// `GET /hello` answers `Hello, world!`.
async fn assert_hello(sender: &mut SendRequest<Chunks>, context: &str) {
    let (status, body) = fetch(sender, Method::GET, "/hello", Chunks::once("")).await;
    assert_eq!(status, StatusCode::OK, "{context}");
    assert_eq!(body, b"Hello, world!", "{context}");
}

#[test]
fn get_and_post_of_a_mebibyte_over_one_keep_alive_connection() {
    for (flavour, runtime) in runtimes() {
        runtime.block_on(async {
            let server = start_server(None).await;
            let mut sender = connect(server.addr).await;
            for round in 0..3 {
                assert_hello(&mut sender, &format!("{flavour}, round {round}")).await;

                let sent = payload(MIB + round);
                let (status, body) = fetch(
                    &mut sender,
                    Method::POST,
                    "/echo",
                    Chunks::once(sent.clone()),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{flavour}, round {round}");
                let mut expected = sent;
                expected.reverse();
                assert!(
                    body == expected,
                    "{flavour}, round {round}: the echo differs"
                );
            }
            let (status, _) = fetch(&mut sender, Method::GET, "/nowhere", Chunks::once("")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{flavour}");
            // Every request went over the one connection: the server has not
            // seen any connection end yet.
            assert!(
                server.outcomes.is_empty(),
                "{flavour}: a connection was closed"
            );
            drop(sender);
            let outcome = server.outcomes.get().await.unwrap();
            assert!(outcome.is_ok(), "{flavour}: {outcome:?}");
        });
    }
}

#[test]
fn a_client_that_leaves_mid_response_leaves_the_server_serving() {
    for (flavour, runtime) in runtimes() {
        runtime.block_on(async {
            let server = start_server(None).await;

            // The first client reads a little of a 64 MiB response, then
            // goes away: its connection task is cancelled, its socket closed.
            let stream = TcpStream::connect(server.addr).await.unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake::<_, Chunks>(CorioIo::new(stream))
                    .await
                    .unwrap();
            let connection = corio::spawn(connection);
            let request = Request::get("/stream")
                .header("host", "localhost")
                .body(Chunks::once(""))
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            let mut body = response.into_body();
            let mut received = 0;
            while received < 256 * 1024 {
                let frame = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
                received += frame.unwrap().unwrap().into_data().unwrap().len();
            }
            connection.cancel();
            drop((body, sender));

            // The server notices: that connection ends with an error and the
            // response body it was streaming is dropped.
            let outcome = server.outcomes.get().await.unwrap();
            assert!(outcome.is_err(), "{flavour}: the cut connection ended well");
            assert_eq!(server.stream_drops.load(Ordering::SeqCst), 1, "{flavour}");

            // The next client is served in full.
            let mut sender = connect(server.addr).await;
            assert_hello(&mut sender, flavour).await;
            let (status, body) = fetch(&mut sender, Method::GET, "/stream", Chunks::once("")).await;
            assert_eq!(status, StatusCode::OK, "{flavour}");
            assert_eq!(body.len(), 64 * MIB, "{flavour}");
            assert!(body.iter().all(|&byte| byte == b's'), "{flavour}");
        });
    }
}

/// Connects with a raw socket, sends the start of a request head and never
/// the rest; returns what the server sent before it closed the connection.
async fn stall_on_the_head(addr: SocketAddr) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nhost: loc")
        .await
        .unwrap();
    let mut received = Vec::new();
    // The server closes the connection: end of stream (or a reset).
    let _ = stream.read_to_end(&mut received).await;
    received
}

#[test]
fn a_request_head_that_takes_too_long_times_out() {
    for (flavour, runtime) in runtimes() {
        runtime.block_on(async {
            let timeout = Duration::from_millis(200);
            let server = start_server(Some(timeout)).await;
            let start = std::time::Instant::now();
            let received =
                corio::time::timeout(Duration::from_secs(10), stall_on_the_head(server.addr))
                    .await
                    .unwrap_or_else(|_| panic!("{flavour}: the stalled connection stayed open"));
            let waited = start.elapsed();
            assert!(waited >= timeout, "{flavour}: closed after {waited:?}");
            assert!(
                waited < Duration::from_secs(10),
                "{flavour}: closed after {waited:?}"
            );
            let outcome = server.outcomes.get().await.unwrap();
            assert!(
                outcome.as_ref().is_err_and(hyper::Error::is_timeout),
                "{flavour}: {outcome:?}, then {received:?}"
            );

            // A client that sends its head in time is served.
            let mut sender = connect(server.addr).await;
            assert_hello(&mut sender, flavour).await;
        });
    }
}

#[test]
fn the_header_read_timeout_runs_on_virtual_time() {
    let runtime = corio::Runtime::builder()
        .current_thread()
        .virtual_time(true)
        .build()
        .unwrap();
    let real_start = std::time::Instant::now();
    let (waited, outcome) = runtime.block_on(async {
        let server = start_server(Some(Duration::from_secs(3600))).await;
        let start = corio::time::Instant::now();
        corio::time::timeout(Duration::from_secs(7200), stall_on_the_head(server.addr))
            .await
            .expect("the stalled connection stayed open for two virtual hours");
        let waited = start.elapsed();
        (waited, server.outcomes.get().await.unwrap())
    });
    assert!(outcome.is_err_and(|error| error.is_timeout()));
    assert!(
        waited >= Duration::from_secs(3600),
        "closed after {waited:?} of virtual time"
    );
    assert!(
        real_start.elapsed() < Duration::from_secs(60),
        "an hour of virtual time took {:?}",
        real_start.elapsed()
    );
}
