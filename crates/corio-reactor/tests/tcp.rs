//! TCP behaviour: echo under concurrency, bulk transfer, half-close, errors.

mod util;

use std::future::{poll_fn, Future};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use corio_reactor::net::{TcpListener, TcpStream};
use corio_reactor::Reactor;
use corio_test_support::{counting_waker, noop_waker};
use util::{close, copy, read, read_to_end, run, spawn, write_all};

fn assert_send_unpin<T: Send + Unpin>() {}

#[test]
fn socket_types_are_send_and_unpin() {
    assert_send_unpin::<TcpStream>();
    assert_send_unpin::<TcpListener>();
    assert_send_unpin::<corio_reactor::net::OwnedReadHalf>();
    assert_send_unpin::<corio_reactor::net::OwnedWriteHalf>();
    assert_send_unpin::<corio_reactor::net::UdpSocket>();
}

async fn local_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Serves `connections` clients, echoing each until it half-closes.
async fn echo_server(listener: TcpListener, connections: usize) {
    let mut handlers = Vec::new();
    let mut incoming = listener.incoming();
    for _ in 0..connections {
        let mut stream = incoming.next().await.unwrap().unwrap();
        handlers.push(spawn(async move {
            let (mut reader, mut writer) = stream.split();
            copy(&mut reader, &mut writer).await.unwrap();
            close(&mut writer).await.unwrap();
        }));
    }
    for handler in handlers {
        handler.await;
    }
}

#[test]
fn echo_with_200_concurrent_clients_checks_every_byte() {
    const CLIENTS: usize = 200;
    run(async {
        let (listener, addr) = local_listener().await;
        let server = spawn(echo_server(listener, CLIENTS));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    assert_eq!(stream.peer_addr().unwrap(), addr);
                    stream.set_nodelay(true).unwrap();
                    assert!(stream.nodelay().unwrap());
                    let payload: Vec<u8> = (0..16 * 1024)
                        .map(|i| (i * 31 + client * 7) as u8)
                        .collect();
                    write_all(&mut stream, &payload).await.unwrap();
                    stream.shutdown(Shutdown::Write).unwrap();
                    let echoed = read_to_end(&mut stream).await.unwrap();
                    assert!(echoed == payload, "client {client} got other bytes back");
                })
            })
            .collect();
        for client in clients {
            client.await;
        }
        server.await;
    });
}

/// Bytes whose period is not a multiple of any buffer size, so that each
/// chunk boundary lands on a different offset.
fn pattern() -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..1_000_003)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn transfer_of_100_mb_through_one_connection_arrives_intact() {
    const TOTAL: usize = 100 * 1024 * 1024;
    const CHUNK: usize = 1024 * 1024;
    let pattern = Arc::new(pattern());
    run(async {
        let (listener, addr) = local_listener().await;
        let sender_pattern = pattern.clone();
        let sender = spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut offset = 0;
            while offset < TOTAL {
                let start = offset % sender_pattern.len();
                let end = (start + CHUNK)
                    .min(sender_pattern.len())
                    .min(start + TOTAL - offset);
                write_all(&mut stream, &sender_pattern[start..end])
                    .await
                    .unwrap();
                offset += end - start;
            }
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut buf = vec![0; CHUNK];
        let mut received = 0;
        let mut checksum = 0u64;
        loop {
            let len = read(&mut stream, &mut buf).await.unwrap();
            if len == 0 {
                break;
            }
            // Compare against the pattern, piece by piece across its wrap.
            let mut checked = 0;
            while checked < len {
                let start = (received + checked) % pattern.len();
                let piece = (len - checked).min(pattern.len() - start);
                assert!(
                    buf[checked..checked + piece] == pattern[start..start + piece],
                    "corrupted bytes at offset {}",
                    received + checked
                );
                checked += piece;
            }
            checksum = checksum.wrapping_add(buf[..len].iter().map(|&b| b as u64).sum::<u64>());
            received += len;
        }
        sender.await;
        assert_eq!(received, TOTAL);
        let byte_sum = |bytes: &[u8]| bytes.iter().map(|&b| b as u64).sum::<u64>();
        let expected = (TOTAL / pattern.len()) as u64 * byte_sum(&pattern)
            + byte_sum(&pattern[..TOTAL % pattern.len()]);
        assert_eq!(checksum, expected);
    });
}

#[test]
fn half_close_lets_the_other_direction_go_on() {
    run(async {
        let (listener, addr) = local_listener().await;
        let server = spawn(async move {
            let (mut stream, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, stream.peer_addr().unwrap());
            let request = read_to_end(&mut stream).await.unwrap();
            assert_eq!(request, b"question");
            write_all(&mut stream, b"answer").await.unwrap();
            close(&mut stream).await.unwrap();
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        write_all(&mut stream, b"question").await.unwrap();
        close(&mut stream).await.unwrap();
        assert_eq!(read_to_end(&mut stream).await.unwrap(), b"answer");
        server.await;
    });
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    run(async {
        let (listener, addr) = local_listener().await;
        drop(listener);
        let error = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn peer_reset_during_writes_is_an_io_error() {
    run(async {
        let (listener, addr) = local_listener().await;
        let server = spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut first = [0; 1];
            read(&mut stream, &mut first).await.unwrap();
            // Closing with the second byte unread makes the kernel reset the
            // connection instead of closing it gracefully.
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        write_all(&mut stream, b"ab").await.unwrap();
        server.await;
        let chunk = vec![7u8; 64 * 1024];
        let error = loop {
            if let Err(error) = write_all(&mut stream, &chunk).await {
                break error;
            }
        };
        assert!(
            matches!(
                error.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "unexpected error {error:?}"
        );
    });
}

#[test]
fn owned_halves_work_from_two_tasks_at_once() {
    const TOTAL: usize = 8 * 1024 * 1024;
    run(async {
        let (listener, addr) = local_listener().await;
        let server = spawn(echo_server(listener, 1));
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        // The echo can only complete if the reader drains while the writer
        // is still writing: 8 MiB is more than both socket buffers hold.
        let writing = spawn(async move {
            let chunk: Vec<u8> = (0..64 * 1024).map(|i| i as u8).collect();
            for _ in 0..TOTAL / chunk.len() {
                write_all(&mut writer, &chunk).await.unwrap();
            }
            // Dropping the owned write half shuts down the write side.
        });
        let reading = spawn(async move {
            let echoed = read_to_end(&mut reader).await.unwrap();
            assert_eq!(echoed.len(), TOTAL);
            assert!(echoed
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % (64 * 1024)) as u8));
        });
        writing.await;
        reading.await;
        server.await;
    });
}

#[test]
fn halves_report_the_addresses_of_their_stream() {
    run(async {
        let (listener, addr) = local_listener().await;
        let accepting = spawn(async move { listener.accept().await.unwrap() });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let (accepted, client_addr) = accepting.await;
        let local = stream.local_addr().unwrap();
        assert_eq!(local, client_addr);
        assert_eq!(stream.peer_addr().unwrap(), addr);
        {
            let (reader, writer) = stream.split();
            assert_eq!(reader.peer_addr().unwrap(), addr);
            assert_eq!(reader.local_addr().unwrap(), local);
            assert_eq!(writer.peer_addr().unwrap(), addr);
            assert_eq!(writer.local_addr().unwrap(), local);
        }
        let (reader, writer) = stream.into_split();
        assert_eq!(reader.peer_addr().unwrap(), addr);
        assert_eq!(reader.local_addr().unwrap(), local);
        assert_eq!(writer.peer_addr().unwrap(), addr);
        assert_eq!(writer.local_addr().unwrap(), local);
        // The accepted side sees the same connection from the other end.
        let (server_reader, server_writer) = accepted.into_split();
        assert_eq!(server_reader.peer_addr().unwrap(), local);
        assert_eq!(server_writer.local_addr().unwrap(), addr);
        // Each owned half keeps the socket open on its own.
        drop(reader);
        assert_eq!(writer.peer_addr().unwrap(), addr);
        drop(server_writer);
        assert_eq!(server_reader.local_addr().unwrap(), addr);
    });
}

#[test]
fn borrowed_halves_read_and_write_concurrently() {
    run(async {
        let (listener, addr) = local_listener().await;
        let server = spawn(echo_server(listener, 1));
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let (mut reader, mut writer) = stream.split();
        let payload = vec![42u8; 4 * 1024 * 1024];
        let mut write = pin!(async {
            write_all(&mut writer, &payload).await.unwrap();
            close(&mut writer).await.unwrap();
        });
        let mut read_all = pin!(read_to_end(&mut reader));
        let (mut wrote, mut echoed) = (false, None);
        poll_fn(|cx| {
            if !wrote {
                wrote = write.as_mut().poll(cx).is_ready();
            }
            if echoed.is_none() {
                if let Poll::Ready(result) = read_all.as_mut().poll(cx) {
                    echoed = Some(result.unwrap());
                }
            }
            if wrote && echoed.is_some() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        assert!(echoed.unwrap() == payload);
        server.await;
    });
}

#[test]
fn a_task_waiting_on_a_dropped_peer_sees_end_of_file() {
    run(async {
        let (listener, addr) = local_listener().await;
        let waiting = spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 8];
            read(&mut stream, &mut buf).await
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        util::sleep(std::time::Duration::from_millis(20)).await;
        drop(stream);
        assert_eq!(waiting.await.unwrap(), 0);
    });
}

#[test]
fn dropping_the_reactor_wakes_a_waiting_task_with_an_error() {
    let mut reactor = Reactor::new().unwrap();
    let (mut client, _server) = util::block_on(&mut reactor, async {
        let (listener, addr) = local_listener().await;
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    });
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0; 8];
    {
        let mut reading = pin!(read(&mut client, &mut buf));
        assert!(reading.as_mut().poll(&mut cx).is_pending());
        drop(reactor);
        assert_eq!(wakes.count(), 1);
        match reading.as_mut().poll(&mut cx) {
            Poll::Ready(Err(error)) => assert!(error.to_string().contains("shut down")),
            other => panic!("expected an error after the reactor went away, got {other:?}"),
        }
    }
}

#[test]
fn sockets_without_a_reactor_return_an_error() {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let bind = pin!(TcpListener::bind("127.0.0.1:0"));
    let Poll::Ready(Err(error)) = bind.poll(&mut cx) else {
        panic!("bind without a reactor must fail at once");
    };
    assert_eq!(error.kind(), io::ErrorKind::Unsupported);
    assert!(error
        .to_string()
        .contains("no corio IO reactor is running on this thread"));

    // A loop whose driver has no IO context behaves the same.
    let _context = corio_core::enter_io_context(corio_core::Driver::io_context(
        &corio_core::ParkDriver::new(),
    ));
    let connect = pin!(TcpStream::connect("127.0.0.1:9"));
    let Poll::Ready(Err(error)) = connect.poll(&mut cx) else {
        panic!("connect without a reactor must fail at once");
    };
    assert_eq!(error.kind(), io::ErrorKind::Unsupported);
}

/// With std's backlog of 128, the accept queue overflows and the kernel
/// drops further SYNs, so a connect waits for the client's retransmission
/// (one second at least) and these short connects would time out.
#[test]
fn a_burst_of_300_connects_fits_in_the_listen_backlog() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Nothing accepts while the clients connect: every connection waits
        // in the backlog.
        let clients: Vec<std::net::TcpStream> = (0..300)
            .map(|n| {
                std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500))
                    .unwrap_or_else(|e| panic!("connect {n} did not fit in the backlog: {e}"))
            })
            .collect();
        for _ in 0..clients.len() {
            listener.accept().await.unwrap();
        }
    });
}
