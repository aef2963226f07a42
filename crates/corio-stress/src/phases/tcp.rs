//! `tcp`: 10,000 concurrent TCP connections on one event loop, every byte
//! verified on both sides.
//!
//! The server runs on one `EventLoop` in this process; the clients run on
//! one loop in a child process (this binary again, with [`CLIENT_FLAG`]), so
//! that each process needs 10,000 descriptors rather than 20,000. Both raise
//! their soft `RLIMIT_NOFILE` to the hard limit. Each client sends an 8-byte
//! stream number and 4 KiB of that stream's pattern; the server checks every
//! byte and echoes it; the client checks every byte of the echo, then holds
//! its connection open until all clients are done, so all 10,000 are open at
//! once (the server counts its peak). The listener's backlog is the
//! reactor's 1024 (the kernel's `somaxconn` caps it); the clients keep at
//! most 512 connections between their connect and their echo, so the
//! connections waiting for `accept` never fill the backlog, no SYN is
//! dropped and no connect waits a second for a retransmission (which a run
//! with the permit released at connect showed: a 1,023 ms connect). The
//! slowest connect is reported.

use std::cell::Cell;
use std::io::Write;
use std::process::{Command, ExitCode, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use corio::io::{AsyncReadExt, AsyncWriteExt};
use corio::net::{TcpListener, TcpStream};
use corio::sync::{Event, Semaphore};
use corio::EventLoop;

use super::{fill_pattern, pattern_mismatches, raise_nofile, Outcome};

/// The first argument that makes this binary the phase's client process.
pub const CLIENT_FLAG: &str = "--tcp-client";

const CONNECTIONS: u64 = 10_000;
const PAYLOAD: usize = 4096;
const CONNECTS_IN_FLIGHT: usize = 512;
/// How long either side waits for the other before it gives up.
const PATIENCE: Duration = Duration::from_secs(60);

/// Runs the server side and the client process; see the module docs.
pub fn run() -> Result<Outcome, String> {
    let (old, new) = raise_nofile().map_err(|e| format!("cannot raise RLIMIT_NOFILE: {e}"))?;
    if new < CONNECTIONS + 256 {
        return Err(format!(
            "RLIMIT_NOFILE's hard limit is {new}; the phase needs {}",
            CONNECTIONS + 256
        ));
    }
    let mut event_loop = EventLoop::new().map_err(|e| format!("cannot start a loop: {e}"))?;
    let mut outcome = event_loop.run_until_complete(serve())?;
    outcome.note = format!(
        "RLIMIT_NOFILE raised from {old} to {new} (both processes); {}",
        outcome.note
    );
    Ok(outcome)
}

/// What the server's connection handlers count.
#[derive(Default)]
struct ServerStats {
    open: Cell<u64>,
    peak_open: Cell<u64>,
    verified: Cell<u64>,
    bytes: Cell<u64>,
    mismatched_bytes: Cell<u64>,
    errors: Cell<u64>,
}

async fn serve() -> Result<Outcome, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let child = Command::new(exe)
        .args([CLIENT_FLAG, &addr.to_string(), &CONNECTIONS.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the client process: {e}"))?;
    let stats = Rc::new(ServerStats::default());
    let started = Instant::now();
    let mut handlers = Vec::with_capacity(CONNECTIONS as usize);
    for _ in 0..CONNECTIONS {
        match corio::time::timeout(PATIENCE, listener.accept()).await {
            Ok(Ok((stream, _))) => handlers.push(corio::spawn_local(handle(stream, stats.clone()))),
            Ok(Err(error)) => return Err(format!("accept failed: {error}")),
            Err(_) => return Err(format!("no connection for {PATIENCE:?}")),
        }
    }
    let accepted_in = started.elapsed();
    for handler in handlers {
        handler
            .await
            .map_err(|e| format!("a handler failed: {e}"))?;
    }
    let output = corio::to_thread(move || child.wait_with_output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("the client process: {e}"))?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    let field = |name: &str| -> u64 {
        report
            .split_whitespace()
            .skip_while(|word| *word != name)
            .nth(1)
            .and_then(|value| value.parse().ok())
            .unwrap_or(u64::MAX)
    };
    let client_verified = field("verified");
    let ok = output.status.success()
        && stats.peak_open.get() == CONNECTIONS
        && stats.verified.get() == CONNECTIONS
        && stats.mismatched_bytes.get() == 0
        && stats.errors.get() == 0
        && field("mismatched") == 0
        && field("failed") == 0;
    let total = stats.bytes.get();
    Ok(Outcome {
        load: format!("{CONNECTIONS} conns x 4 KiB echo, 1 loop"),
        faults: "none (load only)".into(),
        expected: CONNECTIONS,
        seen: client_verified.min(stats.verified.get()),
        ok,
        note: format!(
            "peak open connections {} of {CONNECTIONS}; all accepted in {:.2} s; listen backlog \
             1024 (somaxconn {}), connections between connect and echo <= {CONNECTS_IN_FLIGHT}, slowest connect {} ms; \
             {} bytes checked by the server, {} by the clients ({} bytes mismatched, {} errors); \
             client process: {}",
            stats.peak_open.get(),
            accepted_in.as_secs_f64(),
            std::fs::read_to_string("/proc/sys/net/core/somaxconn")
                .unwrap_or_default()
                .trim(),
            field("slowest_connect_ms"),
            total,
            field("bytes"),
            stats.mismatched_bytes.get() + field("mismatched"),
            stats.errors.get() + field("failed"),
            report.trim()
        ),
    })
}

/// One server connection: read the stream number and its payload, check
/// every byte, echo it all, then wait for the client to close.
async fn handle(mut stream: TcpStream, stats: Rc<ServerStats>) {
    stats.open.set(stats.open.get() + 1);
    stats
        .peak_open
        .set(stats.peak_open.get().max(stats.open.get()));
    let mut message = vec![0; 8 + PAYLOAD];
    let result = async {
        stream.read_exact(&mut message).await?;
        let number = u64::from_le_bytes(message[..8].try_into().expect("8 bytes"));
        let mismatched = pattern_mismatches(number, 0, &message[8..]);
        stats
            .mismatched_bytes
            .set(stats.mismatched_bytes.get() + mismatched);
        stats.bytes.set(stats.bytes.get() + PAYLOAD as u64);
        if mismatched == 0 {
            stats.verified.set(stats.verified.get() + 1);
        }
        stream.write_all(&message).await?;
        let mut rest = [0; 1];
        match stream.read(&mut rest).await? {
            0 => Ok(()),
            _ => Err(std::io::Error::other(
                "the client sent more than its message",
            )),
        }
    }
    .await;
    if result.is_err() {
        stats.errors.set(stats.errors.get() + 1);
    }
    stats.open.set(stats.open.get() - 1);
}

/// What the client tasks count.
#[derive(Default)]
struct ClientStats {
    finished: Cell<u64>,
    verified: Cell<u64>,
    failed: Cell<u64>,
    bytes: Cell<u64>,
    mismatched: Cell<u64>,
    slowest_connect: Cell<Duration>,
}

/// The client process: `CLIENT_FLAG <address> <connections>`. Prints one
/// line of counts and exits with success when every echo was verified.
pub fn client_main(args: &[String]) -> ExitCode {
    let (Some(addr), Some(count)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: corio-stress {CLIENT_FLAG} <address> <connections>");
        return ExitCode::from(2);
    };
    if let Err(error) = raise_nofile() {
        eprintln!("client: cannot raise RLIMIT_NOFILE: {error}");
    }
    let mut event_loop = match EventLoop::new() {
        Ok(event_loop) => event_loop,
        Err(error) => {
            eprintln!("client: cannot start a loop: {error}");
            return ExitCode::FAILURE;
        }
    };
    let stats = Rc::new(ClientStats::default());
    let in_time = event_loop.run_until_complete(corio::time::timeout(
        PATIENCE,
        clients(addr.clone(), count, stats.clone()),
    ));
    println!(
        "verified {} mismatched {} failed {} bytes {} slowest_connect_ms {}{}",
        stats.verified.get(),
        stats.mismatched.get(),
        stats.failed.get(),
        stats.bytes.get(),
        stats.slowest_connect.get().as_millis(),
        if in_time.is_ok() { "" } else { " timed_out" }
    );
    let _ = std::io::stdout().flush();
    if in_time.is_ok() && stats.verified.get() == count {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn clients(addr: String, count: u64, stats: Rc<ClientStats>) {
    let connects = Rc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    let all_done = Rc::new(Event::new());
    let tasks: Vec<_> = (0..count)
        .map(|number| {
            let (addr, stats, connects, all_done) = (
                addr.clone(),
                stats.clone(),
                connects.clone(),
                all_done.clone(),
            );
            corio::spawn_local(async move {
                let stream = client(&addr, number, &stats, &connects).await;
                match stream {
                    Ok(_) => stats.verified.set(stats.verified.get() + 1),
                    Err(_) => stats.failed.set(stats.failed.get() + 1),
                }
                stats.finished.set(stats.finished.get() + 1);
                if stats.finished.get() == count {
                    all_done.set();
                }
                // Hold the connection open until every client is done.
                all_done.wait().await;
                drop(stream);
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
}

/// One client: connect, send the stream number and its payload, read and
/// check the echo; returns the open stream.
async fn client(
    addr: &str,
    number: u64,
    stats: &ClientStats,
    connects: &Semaphore,
) -> std::io::Result<TcpStream> {
    let permit = connects.acquire().await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await?;
    stats
        .slowest_connect
        .set(stats.slowest_connect.get().max(started.elapsed()));
    let mut message = vec![0; 8 + PAYLOAD];
    message[..8].copy_from_slice(&number.to_le_bytes());
    fill_pattern(number, 0, &mut message[8..]);
    stream.write_all(&message).await?;
    let mut echo = vec![0; 8 + PAYLOAD];
    stream.read_exact(&mut echo).await?;
    // Served: the server has accepted it, so it no longer takes a place in
    // the listen backlog.
    drop(permit);
    let mismatched =
        pattern_mismatches(number, 0, &echo[8..]) + u64::from(echo[..8] != message[..8]);
    stats.bytes.set(stats.bytes.get() + PAYLOAD as u64);
    stats.mismatched.set(stats.mismatched.get() + mismatched);
    if mismatched == 0 {
        Ok(stream)
    } else {
        Err(std::io::Error::other("the echo differs"))
    }
}
