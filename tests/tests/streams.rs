//! asyncio's streams: `open_connection`, `start_server`, `BufReader` and the
//! read/write helpers, over real TCP connections on one loop.

use std::cell::Cell;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::rc::Rc;

use corio::io::{AsyncReadExt, AsyncWriteExt, BufReader, LimitOverrunError};
use corio::net::{OwnedReadHalf, OwnedWriteHalf, Server};

/// Echoes every line back until the client closes its side.
async fn echo(mut reader: BufReader<OwnedReadHalf>, mut writer: OwnedWriteHalf) -> io::Result<()> {
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).await? != 0 {
        writer.write_all(&line).await?;
        line.clear();
    }
    Ok(())
}

async fn echo_server() -> io::Result<Server> {
    corio::start_server("127.0.0.1:0", echo).await
}

/// Starts a server whose handler writes `bytes` and closes the connection.
async fn server_sending(bytes: &'static [u8]) -> io::Result<Server> {
    corio::start_server("127.0.0.1:0", move |_reader, mut writer| async move {
        writer.write_all(bytes).await
    })
    .await
}

/// The `line`-th line client `client` sends: distinct per client and line,
/// of varying length.
fn message(client: usize, line: usize) -> Vec<u8> {
    let mut message = format!("client {client} line {line} ").into_bytes();
    message.extend((0..(client * 7 + line * 13) % 300).map(|i| b'a' + (i % 26) as u8));
    message.push(b'\n');
    message
}

/// One echo client's conversation: sends its `lines` lines, checks each
/// echo byte for byte, closes its side and expects the server's EOF.
/// Returns the bytes checked.
async fn converse(
    client: usize,
    lines: usize,
    mut reader: BufReader<OwnedReadHalf>,
    mut writer: OwnedWriteHalf,
) -> io::Result<usize> {
    let mut checked = 0;
    for line in 0..lines {
        let sent = message(client, line);
        writer.write_all(&sent).await?;
        let mut received = Vec::new();
        reader.read_until(b'\n', &mut received).await?;
        assert_eq!(received, sent, "client {client}, line {line}");
        checked += received.len();
    }
    writer.close().await?;
    let mut rest = Vec::new();
    assert_eq!(reader.read_to_end(&mut rest).await?, 0);
    Ok(checked)
}

/// Awaits every client and adds up the bytes they checked.
async fn total_checked(clients: Vec<corio::Task<io::Result<usize>>>) -> io::Result<usize> {
    let mut checked = 0;
    for client in clients {
        checked += client.await.expect("a client task never panics")?;
    }
    Ok(checked)
}

/// The bytes `clients` clients of `lines` lines each send in all.
fn bytes_sent(clients: usize, lines: usize) -> usize {
    (0..clients)
        .flat_map(|client| (0..lines).map(move |line| message(client, line).len()))
        .sum()
}

fn overrun_limit(error: &io::Error) -> Option<usize> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<LimitOverrunError>())
        .map(LimitOverrunError::limit)
}

#[test]
fn echo_with_100_concurrent_clients_checks_every_byte() {
    const CLIENTS: usize = 100;
    const LINES: usize = 20;
    let checked = corio::run(async {
        let server = echo_server().await?;
        let addr = server.local_addr()?;
        let clients = (0..CLIENTS)
            .map(|client| {
                corio::spawn_local(async move {
                    let (reader, writer) = corio::open_connection(addr).await?;
                    converse(client, LINES, reader, writer).await
                })
            })
            .collect();
        total_checked(clients).await
    })
    .unwrap();
    assert_eq!(checked, bytes_sent(CLIENTS, LINES));
}

/// Makes sure the process may open `needed` descriptors, raising the soft
/// limit up to the hard one if it is lower. Returns why not otherwise.
#[cfg(unix)]
fn allow_descriptors(needed: u64) -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` that outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("getrlimit failed: {}", io::Error::last_os_error()));
    }
    let wanted = libc::rlim_t::try_from(needed).unwrap_or(libc::RLIM_INFINITY);
    if limit.rlim_cur == libc::RLIM_INFINITY || limit.rlim_cur >= wanted {
        return Ok(());
    }
    if limit.rlim_max != libc::RLIM_INFINITY && limit.rlim_max < wanted {
        return Err(format!(
            "the hard limit on open files is {}, below the {needed} this test needs",
            limit.rlim_max
        ));
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: `limit` is a valid `rlimit`; raising the soft limit up to the
    // hard one needs no privilege and affects only this process.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!("setrlimit failed: {}", io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn allow_descriptors(_needed: u64) -> Result<(), String> {
    Ok(())
}

#[test]
fn echo_with_1000_concurrent_clients_checks_every_byte() {
    const CLIENTS: usize = 1000;
    const LINES: usize = 5;
    // Both ends of every connection live in this process, next to the
    // other tests running in parallel.
    if let Err(reason) = allow_descriptors(2 * CLIENTS as u64 + 512) {
        println!("skipping the 1,000-client echo: {reason}");
        return;
    }
    let checked = corio::run(async {
        let server = echo_server().await?;
        let addr = server.local_addr()?;
        // Open all the connections first, `BATCH` handshakes at a time: the
        // kernel caps the listen backlog at `net.core.somaxconn` whatever
        // corio asks for (1,024), and SYNs dropped by a full backlog are
        // retried only after 1, 3, 7... seconds. asyncio clients in the same
        // situation see the same; what is tested here is 1,000 connections
        // open and talking at once.
        const BATCH: usize = 50;
        let mut connections = Vec::with_capacity(CLIENTS);
        for _ in 0..CLIENTS / BATCH {
            let connecting: Vec<_> = (0..BATCH)
                .map(|_| corio::spawn_local(corio::open_connection(addr)))
                .collect();
            for connection in connecting {
                connections.push(connection.await.expect("connecting never panics")?);
            }
        }
        let clients = connections
            .into_iter()
            .enumerate()
            .map(|(client, (reader, writer))| {
                corio::spawn_local(converse(client, LINES, reader, writer))
            })
            .collect();
        total_checked(clients).await
    })
    .unwrap();
    assert_eq!(checked, bytes_sent(CLIENTS, LINES));
}

#[test]
fn read_line_read_until_and_read_exact_over_open_connection() {
    corio::run(async {
        let server = server_sending(b"first line\nrecord\0\x00\x00\x00\x05hellotail").await?;
        let (mut reader, _writer) = corio::open_connection(server.local_addr()?).await?;
        let mut line = String::new();
        assert_eq!(reader.read_line(&mut line).await?, 11);
        assert_eq!(line, "first line\n");
        let mut record = Vec::new();
        assert_eq!(reader.read_until(0, &mut record).await?, 7);
        assert_eq!(record, b"record\0");
        let mut header = [0; 4];
        reader.read_exact(&mut header).await?;
        let mut body = vec![0; u32::from_be_bytes(header) as usize];
        reader.read_exact(&mut body).await?;
        assert_eq!(body, b"hello");
        // The last line has no newline: read_line returns it at end-of-file,
        // then 0.
        line.clear();
        assert_eq!(reader.read_line(&mut line).await?, 4);
        assert_eq!(line, "tail");
        assert_eq!(reader.read_line(&mut line).await?, 0);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn early_end_of_file_in_read_exact_is_unexpected_eof() {
    corio::run(async {
        let server = server_sending(b"abc").await?;
        let (mut reader, _writer) = corio::open_connection(server.local_addr()?).await?;
        let mut buf = [0; 8];
        let error = reader.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn early_end_of_file_in_the_extension_read_exact_is_unexpected_eof() {
    corio::run(async {
        let server = server_sending(b"abc").await?;
        let (reader, _writer) = corio::open_connection(server.local_addr()?).await?;
        let mut half = reader.into_inner();
        let mut buf = [0; 8];
        let error = AsyncReadExt::read_exact(&mut half, &mut buf)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(&buf[..3], b"abc");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_line_over_the_limit_is_a_limit_overrun_error() {
    corio::run(async {
        let server = server_sending(b"0123456789abcdefghij\nshort\n").await?;
        let (reader, _writer) = corio::open_connection(server.local_addr()?).await?;
        let mut reader = reader.with_limit(16);
        let mut line = Vec::new();
        let error = reader.read_until(b'\n', &mut line).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidData);
        assert_eq!(overrun_limit(&error), Some(16));
        // The limit's worth of bytes was consumed; the reader goes on after.
        assert_eq!(line, b"0123456789abcdef");
        line.clear();
        reader.read_until(b'\n', &mut line).await?;
        assert_eq!(line, b"ghij\n");
        line.clear();
        reader.read_until(b'\n', &mut line).await?;
        assert_eq!(line, b"short\n");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn the_default_limit_is_64_kib_as_in_asyncio() {
    static LONG: [u8; 70 * 1024] = [b'x'; 70 * 1024];
    corio::run(async {
        let server = server_sending(&LONG).await?;
        let (mut reader, _writer) = corio::open_connection(server.local_addr()?).await?;
        let mut line = String::new();
        let error = reader.read_line(&mut line).await.unwrap_err();
        assert_eq!(overrun_limit(&error), Some(64 * 1024));
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn close_refuses_new_connections_and_lets_existing_ones_go_on() {
    corio::run(async {
        let server = echo_server().await?;
        let addr = server.local_addr()?;
        let (mut reader, mut writer) = corio::open_connection(addr).await?;
        writer.write_all(b"before\n").await?;
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        assert_eq!(line, "before\n");

        server.close();
        assert!(!server.is_serving());
        assert_eq!(
            server.local_addr().unwrap_err().kind(),
            ErrorKind::NotConnected
        );
        let refused = corio::open_connection(addr).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

        // The connection accepted before close is still served.
        writer.write_all(b"after\n").await?;
        line.clear();
        reader.read_line(&mut line).await?;
        assert_eq!(line, "after\n");
        server.close(); // closing twice does nothing
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn dropping_the_server_closes_it() {
    corio::run(async {
        let addr: SocketAddr = {
            let server = echo_server().await?;
            server.local_addr()?
        };
        let refused = corio::open_connection(addr).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_failing_handler_does_not_stop_the_server() {
    corio::run(async {
        let calls = Rc::new(Cell::new(0));
        let seen = calls.clone();
        let server = corio::start_server("127.0.0.1:0", move |reader, writer| {
            seen.set(seen.get() + 1);
            let first = seen.get() == 1;
            async move {
                if first {
                    return Err(io::Error::other("the first handler fails on purpose"));
                }
                echo(reader, writer).await
            }
        })
        .await?;
        let addr = server.local_addr()?;
        let (mut reader, _writer) = corio::open_connection(addr).await?;
        // The failed handler dropped its halves: end-of-file.
        let mut rest = Vec::new();
        assert_eq!(reader.read_to_end(&mut rest).await?, 0);

        let (mut reader, mut writer) = corio::open_connection(addr).await?;
        writer.write_all(b"still serving\n").await?;
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        assert_eq!(line, "still serving\n");
        assert_eq!(calls.get(), 2);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn half_close_lets_the_client_read_the_reply() {
    corio::run(async {
        let server = corio::start_server("127.0.0.1:0", |mut reader, mut writer| async move {
            let mut request = Vec::new();
            reader.read_to_end(&mut request).await?;
            writer
                .write_all(format!("{} bytes\n", request.len()).as_bytes())
                .await
        })
        .await?;
        let (mut reader, mut writer) = corio::open_connection(server.local_addr()?).await?;
        writer.write_all(&[1; 1000]).await?;
        writer.close().await?;
        let mut reply = String::new();
        reader.read_line(&mut reply).await?;
        assert_eq!(reply, "1000 bytes\n");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn open_connection_to_a_closed_port_is_refused() {
    corio::run(async {
        let listener = corio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        drop(listener);
        let error = corio::open_connection(addr).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn streams_are_send_and_unpin() {
    fn assert_send_unpin<T: Send + Unpin>() {}
    assert_send_unpin::<corio::net::TcpStream>();
    assert_send_unpin::<corio::net::OwnedReadHalf>();
    assert_send_unpin::<corio::net::OwnedWriteHalf>();
    assert_send_unpin::<BufReader<corio::net::OwnedReadHalf>>();
    assert_send_unpin::<corio::net::UdpSocket>();
    assert_send_unpin::<corio::net::UnixStream>();
}
