//! Cancellation is dropping, on the io_uring driver too: dropped reads,
//! writes and sockets with operations in flight lose no bytes a later read
//! should see, never let the kernel write into freed memory (run these
//! under AddressSanitizer to check that, see docs/REACTORS.md), and close
//! their sockets once the kernel is done.

#![cfg(target_os = "linux")]

mod drivers;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Duration;

use corio::io::{AsyncReadExt, AsyncWriteExt};
use corio::net::{TcpListener, TcpStream};
use drivers::{run_on, Which};

/// Connected pairs of streams (client, server).
async fn pairs(count: usize) -> Vec<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut pairs = Vec::new();
    for _ in 0..count {
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        pairs.push((client, server));
    }
    pairs
}

/// Polls `future` once and drops it; returns its output if it was ready.
fn poll_once_then_drop<F: Future>(future: F) -> Option<F::Output> {
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

fn byte(i: usize) -> u8 {
    (i % 251) as u8
}

#[test]
fn dropped_reads_under_load_lose_no_bytes() {
    const PAIRS: usize = 100;
    const TOTAL: usize = 256 * 1024;
    run_on(Which::Uring, || async {
        let mut tasks = Vec::new();
        for (mut client, mut server) in pairs(PAIRS).await {
            tasks.push(corio::spawn(async move {
                let writer = corio::spawn(async move {
                    let data: Vec<u8> = (0..TOTAL).map(byte).collect();
                    for chunk in data.chunks(7_000) {
                        client.write_all(chunk).await.unwrap();
                        corio::yield_now().await;
                    }
                    client.close().await.unwrap();
                });
                let mut received = Vec::new();
                let mut buf = vec![0; 3_000];
                loop {
                    // A read armed and dropped at once, then a read cut
                    // short by a timeout: neither may lose what arrives.
                    if let Some(read) = poll_once_then_drop(server.read(&mut buf)) {
                        let read = read.unwrap();
                        received.extend_from_slice(&buf[..read]);
                        if read == 0 {
                            break;
                        }
                    }
                    match corio::time::timeout(Duration::from_micros(50), server.read(&mut buf))
                        .await
                    {
                        Ok(Ok(0)) => break,
                        Ok(read) => received.extend_from_slice(&buf[..read.unwrap()]),
                        Err(_elapsed) => {}
                    }
                }
                writer.await.unwrap();
                assert_eq!(received.len(), TOTAL);
                assert!(received.iter().enumerate().all(|(i, &b)| b == byte(i)));
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
}

#[test]
fn dropped_writes_under_load_send_exactly_what_they_reported() {
    const PAIRS: usize = 50;
    run_on(Which::Uring, || async {
        let mut tasks = Vec::new();
        for (mut client, mut server) in pairs(PAIRS).await {
            tasks.push(corio::spawn(async move {
                let reader = corio::spawn(async move {
                    let mut received = Vec::new();
                    // A slow reader, so that writes wait for room.
                    let mut buf = vec![0; 32 * 1024];
                    loop {
                        let read = server.read(&mut buf).await.unwrap();
                        if read == 0 {
                            break received;
                        }
                        received.extend_from_slice(&buf[..read]);
                        corio::sleep(Duration::from_micros(200)).await;
                    }
                });
                let data: Vec<u8> = (0..4 * 1024 * 1024).map(byte).collect();
                let mut written = 0;
                while written < data.len() {
                    let end = (written + 100_000).min(data.len());
                    // Dropped when it waits: a dropped write wrote nothing.
                    let write = client.write(&data[written..end]);
                    if let Ok(wrote) = corio::time::timeout(Duration::from_micros(100), write).await
                    {
                        written += wrote.unwrap();
                    }
                }
                client.close().await.unwrap();
                let received = reader.await.unwrap();
                assert_eq!(received.len(), data.len());
                assert!(received == data);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
}

#[test]
fn dropping_sockets_with_operations_in_flight_keeps_the_loop_sound() {
    const ROUNDS: usize = 20;
    const PAIRS: usize = 50;
    run_on(Which::Uring, || async {
        for round in 0..ROUNDS {
            let mut survivors = Vec::new();
            for (index, (mut client, server)) in pairs(PAIRS).await.into_iter().enumerate() {
                // A read armed on the server side, sends in flight on the
                // client side, then one or both ends dropped at once.
                let mut server = server;
                let mut buf = [0; 64];
                assert!(poll_once_then_drop(server.read(&mut buf)).is_none());
                let big = vec![byte(round); 1024 * 1024];
                let _ = poll_once_then_drop(client.write_all(&big));
                drop(client);
                if index % 2 == 0 {
                    drop(server);
                } else {
                    survivors.push(server);
                }
            }
            // The surviving ends read what was sent, then end-of-file or a
            // reset: never garbage, never a hang.
            for mut server in survivors {
                let mut received = Vec::new();
                let result = corio::time::timeout(
                    Duration::from_secs(10),
                    server.read_to_end(&mut received),
                )
                .await
                .expect("a dropped peer ends the stream");
                if let Err(error) = result {
                    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
                }
                assert!(received.iter().all(|&b| b == byte(round)));
            }
        }
    });
}

#[test]
fn sockets_outliving_their_driver_fail_with_an_error() {
    let Some(mut kept) = run_on(Which::Uring, || async {
        let (client, server) = pairs(1).await.pop().unwrap();
        let mut waiting = server;
        let _detached = corio::spawn_local(async move {
            let mut buf = [0; 8];
            let _ = waiting.read(&mut buf).await;
        });
        corio::yield_now().await;
        client
    }) else {
        return;
    };
    // The runtime, its driver and the waiting task are gone.
    let mut buf = [0; 8];
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    let polled = pin!(kept.read(&mut buf)).poll(&mut cx);
    match polled {
        Poll::Ready(Err(error)) => assert!(error.to_string().contains("driver"), "{error}"),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn sockets_that_do_not_read_never_starve_the_others() {
    // More unread data than the driver's buffer pool holds, spread over
    // many sockets nobody reads yet.
    const IDLE: usize = 150;
    const EACH: usize = 256 * 1024;
    run_on(Which::Uring, || async {
        let mut idle = Vec::new();
        let mut writers = Vec::new();
        for (index, (mut client, mut server)) in pairs(IDLE).await.into_iter().enumerate() {
            // Arm the receive, then stop reading.
            let mut first = [0; 1];
            assert!(poll_once_then_drop(server.read(&mut first)).is_none());
            writers.push(corio::spawn(async move {
                let data = vec![byte(index); EACH];
                client.write_all(&data).await.unwrap();
                client.flush().await.unwrap();
                client
            }));
            idle.push(server);
        }
        corio::sleep(Duration::from_millis(200)).await;
        // A new connection still gets its bytes at once.
        let (mut client, mut server) = pairs(1).await.pop().unwrap();
        client.write_all(b"still served").await.unwrap();
        let mut buf = [0; 12];
        corio::time::timeout(Duration::from_secs(5), server.read_exact(&mut buf))
            .await
            .expect("a busy pool starved a new connection")
            .unwrap();
        assert_eq!(&buf, b"still served");
        // And every idle socket then reads all it was sent, intact.
        for (index, mut server) in idle.into_iter().enumerate() {
            let mut received = vec![0; EACH];
            server.read_exact(&mut received).await.unwrap();
            assert!(received.iter().all(|&b| b == byte(index)));
        }
        for writer in writers {
            writer.await.unwrap();
        }
    });
}
