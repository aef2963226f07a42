//! An HTTP/1.1 server on corio: answers `Hello, world!` to every request
//! until Ctrl-C, then shuts down gracefully: it stops accepting, lets the
//! requests in flight finish, closes idle keep-alive connections, and exits.
//!
//! ```text
//! cargo run -p corio-hyper --example hello_http [ADDRESS]   # default 127.0.0.1:3000
//! curl http://127.0.0.1:3000/
//! ```
//!
//! The first line printed is `listening on http://ADDRESS` (with the port
//! chosen, for an address ending in `:0`).

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use corio_hyper::{CorioIo, CorioTimer};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::server::graceful::GracefulShutdown;

/// How long in-flight connections get to finish after Ctrl-C.
const GRACE: Duration = Duration::from_secs(10);

async fn hello(_: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("Hello, world!\n".to_string()))
}

/// What ended a wait for the next connection.
enum Next {
    Connection(std::io::Result<(corio::net::TcpStream, std::net::SocketAddr)>),
    CtrlC(std::io::Result<()>),
}

#[corio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args().nth(1).unwrap_or("127.0.0.1:3000".into());
    let listener = corio::net::TcpListener::bind(address).await?;

    // Poll Ctrl-C once before announcing the address: a SIGINT that comes
    // before the first poll would still end the process the default way.
    let mut ctrl_c = pin!(corio::signal::ctrl_c());
    if let Poll::Ready(result) = poll_fn(|cx| Poll::Ready(ctrl_c.as_mut().poll(cx))).await {
        return result;
    }
    println!("listening on http://{}", listener.local_addr()?);

    let graceful = GracefulShutdown::new();
    loop {
        let mut accept = pin!(listener.accept());
        let next = poll_fn(|cx| {
            if let Poll::Ready(result) = ctrl_c.as_mut().poll(cx) {
                return Poll::Ready(Next::CtrlC(result));
            }
            accept.as_mut().poll(cx).map(Next::Connection)
        })
        .await;
        match next {
            Next::Connection(Ok((stream, _peer))) => {
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(CorioTimer::new())
                    .serve_connection(CorioIo::new(stream), hyper::service::service_fn(hello));
                let connection = graceful.watch(connection);
                corio::spawn(async move {
                    if let Err(error) = connection.await {
                        eprintln!("connection error: {error}");
                    }
                })
                .detach();
            }
            // Out of descriptors, or a connection reset before it was
            // accepted: report it, wait a little, and go on.
            Next::Connection(Err(error)) => {
                eprintln!("cannot accept a connection: {error}");
                corio::sleep(Duration::from_millis(100)).await;
            }
            Next::CtrlC(result) => {
                result?;
                break;
            }
        }
    }

    drop(listener);
    println!("shutting down: {} connection(s) open", graceful.count());
    match corio::time::timeout(GRACE, graceful.shutdown()).await {
        Ok(()) => println!("shut down"),
        Err(_) => println!("shut down, dropping the connections still open after {GRACE:?}"),
    }
    Ok(())
}
