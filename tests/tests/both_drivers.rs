//! The reactor's socket cases, through `corio::net`, on both IO drivers:
//! the mio reactor and the io_uring driver (see `drivers/mod.rs` for what
//! happens where the kernel refuses io_uring).

#![cfg(target_os = "linux")]

mod drivers;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use corio::io::{AsyncReadExt, AsyncWriteExt};
use corio::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};

async fn local_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Echoes every connection of `listener` until each peer closes.
async fn echo_server(listener: TcpListener, connections: usize) {
    let mut handlers = Vec::new();
    for _ in 0..connections {
        let (mut stream, _) = listener.accept().await.unwrap();
        handlers.push(corio::spawn(async move {
            let mut buf = vec![0; 16 * 1024];
            loop {
                let read = stream.read(&mut buf).await.unwrap();
                if read == 0 {
                    break;
                }
                stream.write_all(&buf[..read]).await.unwrap();
            }
            stream.close().await.unwrap();
        }));
    }
    for handler in handlers {
        handler.await.unwrap();
    }
}

on_both_drivers!(echo_with_1000_clients_checks_every_byte, async {
    const CLIENTS: usize = 1000;
    if let Err(why) = drivers::allow_descriptors(2 * CLIENTS as u64 + 100) {
        println!("skipped: {why}");
        return;
    }
    let (listener, addr) = local_listener().await;
    let server = corio::spawn(echo_server(listener, CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            corio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                for round in 0..5 {
                    let message = format!("client {client} round {round}\n");
                    stream.write_all(message.as_bytes()).await.unwrap();
                    let mut echoed = vec![0; message.len()];
                    stream.read_exact(&mut echoed).await.unwrap();
                    assert_eq!(echoed, message.as_bytes());
                }
                stream.close().await.unwrap();
                let mut rest = Vec::new();
                assert_eq!(stream.read_to_end(&mut rest).await.unwrap(), 0);
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    server.await.unwrap();
});

fn pattern() -> Vec<u8> {
    (0..65_521u32).map(|i| (i * 7 + i / 251) as u8).collect()
}

on_both_drivers!(transfer_of_100_mb_arrives_intact, async {
    const TOTAL: usize = 100 * 1024 * 1024;
    let (listener, addr) = local_listener().await;
    let sender = corio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let pattern = pattern();
        let mut sent = 0;
        while sent < TOTAL {
            let take = (TOTAL - sent).min(pattern.len());
            stream.write_all(&pattern[..take]).await.unwrap();
            sent += take;
        }
        stream.close().await.unwrap();
    });
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let pattern = pattern();
    let mut buf = vec![0; 64 * 1024];
    let mut received = 0;
    loop {
        let read = stream.read(&mut buf).await.unwrap();
        if read == 0 {
            break;
        }
        for (offset, &byte) in buf[..read].iter().enumerate() {
            assert_eq!(
                byte,
                pattern[(received + offset) % pattern.len()],
                "byte {}",
                received + offset
            );
        }
        received += read;
    }
    assert_eq!(received, TOTAL);
    sender.await.unwrap();
});

on_both_drivers!(half_close_lets_the_other_direction_go_on, async {
    let (listener, addr) = local_listener().await;
    let server = corio::spawn(async move {
        let (mut stream, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, stream.peer_addr().unwrap());
        let mut request = Vec::new();
        stream.read_to_end(&mut request).await.unwrap();
        assert_eq!(request, b"question");
        stream.write_all(b"answer").await.unwrap();
        stream.close().await.unwrap();
    });
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"question").await.unwrap();
    stream.close().await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    assert_eq!(answer, b"answer");
    server.await.unwrap();
});

on_both_drivers!(a_vectored_write_takes_every_buffer_in_one_call, async {
    // hyper writes a response's head and body as two buffers: both must go
    // out in one write (one `writev`, or one io_uring send), not one each.
    let (listener, addr) = local_listener().await;
    let server = corio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        stream.read_to_end(&mut request).await.unwrap();
        request
    });
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let bufs = [
        io::IoSlice::new(b"head, "),
        io::IoSlice::new(b""),
        io::IoSlice::new(b"body"),
    ];
    let written = std::future::poll_fn(|cx| {
        corio::io::AsyncWrite::poll_write_vectored(std::pin::Pin::new(&mut stream), cx, &bufs)
    })
    .await
    .unwrap();
    assert_eq!(written, 10);
    stream.close().await.unwrap();
    assert_eq!(server.await.unwrap(), b"head, body");
});

on_both_drivers!(connecting_to_a_closed_port_is_refused, async {
    let (listener, addr) = local_listener().await;
    drop(listener);
    let error = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
});

on_both_drivers!(peer_reset_during_writes_is_an_io_error, async {
    let (listener, addr) = local_listener().await;
    let server = corio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut first = [0; 1];
        stream.read_exact(&mut first).await.unwrap();
        // Closing with the second byte unread resets the connection.
    });
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"ab").await.unwrap();
    server.await.unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let error = loop {
        if let Err(error) = stream.write_all(&chunk).await {
            break error;
        }
        // On io_uring the error comes with the completion of a send.
        if let Err(error) = stream.flush().await {
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

on_both_drivers!(early_end_of_file_is_unexpected_eof, async {
    let (listener, addr) = local_listener().await;
    let server = corio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"short").await.unwrap();
        stream.close().await.unwrap();
    });
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0; 64];
    let error = stream.read_exact(&mut buf).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    server.await.unwrap();
    // End-of-file stays: later reads return 0 at once.
    assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
    assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
});

on_both_drivers!(a_task_waiting_on_a_dropped_peer_sees_end_of_file, async {
    let (listener, addr) = local_listener().await;
    let waiting = corio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0; 8];
        stream.read(&mut buf).await
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    corio::sleep(Duration::from_millis(20)).await;
    drop(stream);
    assert_eq!(waiting.await.unwrap().unwrap(), 0);
});

on_both_drivers!(cancelling_a_task_that_waits_on_a_socket_closes_it, async {
    let (listener, addr) = local_listener().await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let (server_side, _) = listener.accept().await.unwrap();
    let waiting = corio::spawn(async move {
        let mut server_side = server_side;
        let mut buf = [0; 8];
        server_side.read(&mut buf).await
    });
    corio::sleep(Duration::from_millis(20)).await;
    waiting.cancel();
    assert!(waiting.await.is_err(), "the task was cancelled");
    // The dropped socket closes: the peer reads end-of-file.
    let mut rest = Vec::new();
    let read = corio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut rest))
        .await
        .expect("the socket of the cancelled task was closed");
    assert_eq!(read.unwrap(), 0);
});

on_both_drivers!(owned_halves_work_from_two_tasks_at_once, async {
    const TOTAL: usize = 8 * 1024 * 1024;
    let (listener, addr) = local_listener().await;
    let server = corio::spawn(echo_server(listener, 1));
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = corio::spawn(async move {
        let chunk: Vec<u8> = (0..64 * 1024).map(|i| i as u8).collect();
        for _ in 0..TOTAL / chunk.len() {
            writer.write_all(&chunk).await.unwrap();
        }
        writer.flush().await.unwrap();
    });
    let mut echoed = Vec::new();
    reader.read_to_end(&mut echoed).await.unwrap();
    assert_eq!(echoed.len(), TOTAL);
    assert!(echoed
        .iter()
        .enumerate()
        .all(|(i, &b)| b == (i % (64 * 1024)) as u8));
    writing.await.unwrap();
    server.await.unwrap();
});

on_both_drivers!(udp_round_trip_with_and_without_connect, async {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    a.send_to(b"hello", b.local_addr().unwrap()).await.unwrap();
    let mut buf = [0; 64];
    let (len, from) = b.recv_from(&mut buf).await.unwrap();
    assert_eq!(
        (&buf[..len], from),
        (&b"hello"[..], a.local_addr().unwrap())
    );
    b.connect(a.local_addr().unwrap()).await.unwrap();
    assert_eq!(b.peer_addr().unwrap(), a.local_addr().unwrap());
    let receiving = corio::spawn(async move {
        let mut buf = [0; 64];
        let (len, _) = a.recv_from(&mut buf).await.unwrap();
        buf[..len].to_vec()
    });
    corio::sleep(Duration::from_millis(5)).await;
    b.send(b"world").await.unwrap();
    assert_eq!(receiving.await.unwrap(), b"world");
});

on_both_drivers!(unix_listener_and_pair_round_trip, async {
    let dir = std::env::temp_dir().join(format!(
        "corio-both-{}-{}",
        std::process::id(),
        corio::uring::is_current()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let server = corio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0; 4];
        stream.read_exact(&mut buf).await.unwrap();
        stream.write_all(&buf).await.unwrap();
        stream.close().await.unwrap();
    });
    let mut client = UnixStream::connect(&path).await.unwrap();
    client.write_all(b"ping").await.unwrap();
    let mut echoed = Vec::new();
    client.read_to_end(&mut echoed).await.unwrap();
    assert_eq!(echoed, b"ping");
    server.await.unwrap();
    let (mut left, mut right) = UnixStream::pair().unwrap();
    left.write_all(b"pair").await.unwrap();
    let mut buf = [0; 4];
    right.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pair");
    let missing = UnixStream::connect(dir.join("missing.sock"))
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    let _ = std::fs::remove_dir_all(&dir);
});

on_both_drivers!(
    dropping_a_listener_with_an_accept_waiting_refuses_at_once,
    async {
        let (listener, addr) = local_listener().await;
        let accepting = corio::spawn(async move { listener.accept().await.map(drop) });
        corio::sleep(Duration::from_millis(10)).await;
        // Cancelling the task drops the listener while its accept is armed.
        accepting.cancel();
        assert!(accepting.await.is_err());
        let error = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    }
);

fn assert_send_sync_unpin<T: Send + Sync + Unpin>() {}

#[test]
fn socket_types_stay_send_sync_and_unpin_with_two_drivers_behind_them() {
    assert_send_sync_unpin::<TcpListener>();
    assert_send_sync_unpin::<TcpStream>();
    assert_send_sync_unpin::<corio::net::OwnedReadHalf>();
    assert_send_sync_unpin::<corio::net::OwnedWriteHalf>();
    assert_send_sync_unpin::<UdpSocket>();
    assert_send_sync_unpin::<UnixListener>();
    assert_send_sync_unpin::<UnixStream>();
}
