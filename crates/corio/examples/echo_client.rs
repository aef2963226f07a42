//! The echo client of asyncio's streams tutorial: sends a few lines to an
//! echo server, checks that each comes back unchanged, and exits.
//!
//! ```text
//! cargo run --example echo_client -- 127.0.0.1:8888
//! sent and received: "Hello World!"
//! ...
//! ```
//!
//! The only argument is the server's address (default `127.0.0.1:8888`).
//! Every wait is bounded by a timeout; the process exits with a non-zero
//! status if the server is unreachable, slow, or echoes something else.

use std::time::Duration;

use corio::io::AsyncWriteExt;
use corio::time::timeout;

const MESSAGES: &[&str] = &["Hello World!", "ping", "corio echoes like asyncio", ""];
const LIMIT: Duration = Duration::from_secs(10);

async fn bounded<T>(
    what: &str,
    future: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, String> {
    match timeout(LIMIT, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("{what}: {error}")),
        Err(_) => Err(format!("{what}: no answer within {LIMIT:?}")),
    }
}

async fn main_task(addr: String) -> Result<(), String> {
    let (mut reader, mut writer) = bounded(
        &format!("connecting to {addr}"),
        corio::open_connection(addr.as_str()),
    )
    .await?;
    for message in MESSAGES {
        let line = format!("{message}\n");
        bounded("sending", writer.write_all(line.as_bytes())).await?;
        let mut echo = String::new();
        bounded("receiving", reader.read_line(&mut echo)).await?;
        if echo != line {
            return Err(format!("sent {line:?} but the server echoed {echo:?}"));
        }
        println!("sent and received: {message:?}");
    }
    // Closing our side makes the server's handler see end-of-file and
    // finish; the server then closes its side, which we read as end-of-file.
    bounded("closing", writer.close()).await?;
    let mut rest = String::new();
    let read = bounded(
        "waiting for the server to close",
        reader.read_line(&mut rest),
    )
    .await?;
    if read != 0 {
        return Err(format!("the server sent more than the echoes: {rest:?}"));
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8888".to_string());
    match corio::run(main_task(addr)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo_client: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
