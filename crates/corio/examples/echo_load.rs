//! A load test of the streams API on one event loop: 50 clients each make
//! 2,000 round trips of 64 bytes through an echo server on 127.0.0.1, every
//! byte checked; prints the round trips per second.
//!
//! Count the system calls per round trip with
//! `strace -f -c target/release/examples/echo_load` (the minimum is four: one
//! read and one write on each side). With `CORIO_DRIVER=uring` the loop runs
//! on the io_uring driver, which submits a whole loop iteration's receives
//! and sends in one `io_uring_enter`: far below one system call per round
//! trip.

use std::io;

use corio::io::AsyncWriteExt;

const CONNECTIONS: usize = 50;
const ROUND_TRIPS: usize = 2_000;
const SIZE: usize = 64;

async fn echo(
    mut reader: corio::io::BufReader<corio::net::OwnedReadHalf>,
    mut writer: corio::net::OwnedWriteHalf,
) -> io::Result<()> {
    let mut buf = [0u8; SIZE];
    loop {
        match reader.read_exact(&mut buf).await {
            Ok(()) => writer.write_all(&buf).await?,
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(error) => return Err(error),
        }
    }
}

async fn client(addr: std::net::SocketAddr, id: u8) -> io::Result<()> {
    let (mut reader, mut writer) = corio::open_connection(addr).await?;
    let out = [id; SIZE];
    let mut back = [0u8; SIZE];
    for _ in 0..ROUND_TRIPS {
        writer.write_all(&out).await?;
        reader.read_exact(&mut back).await?;
        assert_eq!(back, out, "the echo came back changed");
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let started = std::time::Instant::now();
    corio::run(async {
        let server = corio::start_server("127.0.0.1:0", echo).await?;
        let addr = server.local_addr()?;
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|id| corio::spawn_local(client(addr, id as u8)))
            .collect();
        for client in clients {
            client.await.expect("a client task panicked")?;
        }
        io::Result::Ok(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let total = CONNECTIONS * ROUND_TRIPS;
    println!(
        "{total} round trips in {seconds:.3} s: {:.0} round trips/s",
        total as f64 / seconds
    );
    Ok(())
}
