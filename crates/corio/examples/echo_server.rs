//! The echo server of asyncio's streams tutorial: every line a client sends
//! comes back to it, until the client closes its side.
//!
//! ```text
//! cargo run --example echo_server -- 127.0.0.1:8888
//! listening on 127.0.0.1:8888
//! ```
//!
//! The first argument is the address to bind (default `127.0.0.1:8888`;
//! port 0 picks a free port). The first line of output names the address
//! actually bound; the server then runs until Ctrl-C. Try it with the
//! `echo_client` example.

use std::io::Write;

use corio::io::{AsyncWriteExt, BufReader};
use corio::net::{OwnedReadHalf, OwnedWriteHalf};

async fn handle_echo(
    mut reader: BufReader<OwnedReadHalf>,
    mut writer: OwnedWriteHalf,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).await? != 0 {
        eprintln!("echo {:?}", String::from_utf8_lossy(&line));
        writer.write_all(&line).await?;
        line.clear();
    }
    eprintln!("a client closed its side");
    Ok(())
}

async fn main_task(addr: String) -> std::io::Result<()> {
    let server = corio::start_server(addr.as_str(), handle_echo).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", server.local_addr()?)?;
    stdout.flush()?;
    corio::signal::ctrl_c().await?;
    eprintln!("interrupted; closing the server");
    server.close();
    Ok(())
}

fn main() -> std::process::ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8888".to_string());
    match corio::run(main_task(addr)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo_server: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
