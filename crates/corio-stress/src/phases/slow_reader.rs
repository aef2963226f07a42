//! `slow-reader`: a server on one event loop writes 64 MiB to a client
//! that stops reading for 3 s (`--quick`: 1 s), then reads and checks every
//! byte. Meanwhile 20 other clients make 50 echo round trips each, all
//! checked, and must be done before the slow client starts reading. The
//! server's memory stays bounded: its peak resident size grows by less than
//! 16 MiB (a server that buffered what it cannot send would grow by the
//! full 64 MiB).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use corio::io::{AsyncReadExt, AsyncWriteExt};
use corio::net::{TcpListener, TcpStream};
use corio::EventLoop;

use super::{fill_pattern, pattern_mismatches, Outcome};
use crate::memory::{mib, PeakSampler};
use crate::Length;

const TOTAL: u64 = 64 << 20;
const CHUNK: usize = 64 << 10;
const ECHO_CLIENTS: u64 = 20;
const ROUND_TRIPS: u64 = 50;
const GROWTH_ALLOWED: u64 = 16 << 20;

/// Runs the phase; `sampler` and `start_rss` measure the server's growth.
pub fn run(length: Length, sampler: &PeakSampler, start_rss: u64) -> Result<Outcome, String> {
    let stall = match length {
        Length::Full => Duration::from_secs(3),
        Length::Quick => Duration::from_secs(1),
    };
    let mut event_loop = EventLoop::new().map_err(|e| format!("cannot start a loop: {e}"))?;
    let (slow, echoes) = event_loop.run_until_complete(serve(stall))?;
    let growth = sampler.peak().saturating_sub(start_rss);
    let echoes_ok = echoes.round_trips == ECHO_CLIENTS * ROUND_TRIPS;
    let ok = slow.bytes == TOTAL
        && slow.mismatched == 0
        && echoes_ok
        && echoes.done_during_stall
        && growth < GROWTH_ALLOWED;
    Ok(Outcome {
        load: format!("64 MiB to a reader stalled {} s", stall.as_secs()),
        faults: format!("reader stalls; {ECHO_CLIENTS} others echo"),
        expected: ECHO_CLIENTS * ROUND_TRIPS,
        seen: echoes.round_trips,
        ok,
        note: format!(
            "slow reader got {} of {} bytes ({} mismatched); other clients' {} round trips {} \
             the stall ended; server's resident growth {} (allowed {})",
            slow.bytes,
            TOTAL,
            slow.mismatched,
            echoes.round_trips,
            if echoes.done_during_stall {
                "all done before"
            } else {
                "NOT all done before"
            },
            mib(growth),
            mib(GROWTH_ALLOWED)
        ),
    })
}

struct SlowResult {
    bytes: u64,
    mismatched: u64,
}

struct EchoResult {
    round_trips: u64,
    done_during_stall: bool,
}

async fn serve(stall: Duration) -> Result<(SlowResult, EchoResult), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let stalled = Arc::new(AtomicBool::new(true));
    let slow = {
        let stalled = stalled.clone();
        thread::spawn(move || slow_reader(addr, stall, &stalled))
    };
    let (slow_stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
    let writer = corio::spawn_local(write_everything(slow_stream));
    let echoes = {
        let stalled = stalled.clone();
        thread::spawn(move || echo_clients(addr, &stalled))
    };
    let acceptor = corio::spawn_local(async move {
        for _ in 0..ECHO_CLIENTS {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            corio::spawn_local(echo(stream)).detach();
        }
    });
    let write_result = writer.await.map_err(|e| e.to_string())?;
    acceptor.await.map_err(|e| e.to_string())?;
    write_result.map_err(|e| format!("writing to the slow reader: {e}"))?;
    let slow = corio::to_thread(move || slow.join())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "the slow reader panicked")?
        .map_err(|e| format!("the slow reader: {e}"))?;
    let echoes = corio::to_thread(move || echoes.join())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "an echo client panicked")?
        .map_err(|e| format!("an echo client: {e}"))?;
    Ok((slow, echoes))
}

/// The server's side of the slow connection: 64 MiB of the pattern, in
/// chunks; each write waits while the client's window is full.
async fn write_everything(mut stream: TcpStream) -> std::io::Result<()> {
    let mut chunk = vec![0; CHUNK];
    let mut offset = 0;
    while offset < TOTAL {
        fill_pattern(0, offset, &mut chunk);
        stream.write_all(&chunk).await?;
        offset += CHUNK as u64;
    }
    stream.close().await
}

async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = [0; 256];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// The slow client: connects, reads nothing for `stall`, then reads and
/// checks everything.
fn slow_reader(
    addr: SocketAddr,
    stall: Duration,
    stalled: &AtomicBool,
) -> std::io::Result<SlowResult> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    thread::sleep(stall);
    stalled.store(false, Ordering::SeqCst);
    let mut buf = vec![0; CHUNK];
    let (mut bytes, mut mismatched) = (0u64, 0u64);
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(SlowResult { bytes, mismatched });
        }
        mismatched += pattern_mismatches(0, bytes, &buf[..n]);
        bytes += n as u64;
    }
}

/// The other clients, one after the other: 50 checked round trips each.
fn echo_clients(addr: SocketAddr, stalled: &AtomicBool) -> std::io::Result<EchoResult> {
    let mut round_trips = 0;
    for client in 0..ECHO_CLIENTS {
        let mut stream = std::net::TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        for trip in 0..ROUND_TRIPS {
            let mut message = [0; 100];
            fill_pattern(1 + client, trip * 100, &mut message);
            stream.write_all(&message)?;
            let mut back = [0; 100];
            stream.read_exact(&mut back)?;
            if pattern_mismatches(1 + client, trip * 100, &back) == 0 {
                round_trips += 1;
            }
        }
    }
    Ok(EchoResult {
        round_trips,
        done_during_stall: stalled.load(Ordering::SeqCst),
    })
}
