//! A socket dropped on the io_uring driver with operations in flight is
//! closed once the kernel has finished them: the process's descriptor count
//! comes back to where it was. (Alone in its binary: other tests would open
//! descriptors meanwhile.)

#![cfg(target_os = "linux")]

mod drivers;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use corio::io::{AsyncReadExt, AsyncWriteExt};
use corio::net::{TcpListener, TcpStream, UdpSocket, UnixStream};
use drivers::{run_on, Which};

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn poll_once<F: Future>(future: F) -> bool {
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    matches!(pin!(future).poll(&mut cx), Poll::Ready(_))
}

#[test]
fn dropped_sockets_with_operations_in_flight_close_their_descriptors() {
    run_on(Which::Uring, || async {
        let before = open_descriptors();
        for _ in 0..10 {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            for _ in 0..50 {
                let mut client = TcpStream::connect(addr).await.unwrap();
                let (mut server, _) = listener.accept().await.unwrap();
                let mut buf = [0; 16];
                // A receive armed on both ends, a send in flight.
                assert!(!poll_once(server.read(&mut buf)));
                assert!(!poll_once(client.read(&mut buf)));
                let _ = poll_once(client.write_all(&[1; 300_000]));
                drop((client, server));
            }
            // A listener whose multishot accept is armed.
            assert!(!poll_once(listener.accept()));
            drop(listener);
            let (mut left, right) = UnixStream::pair().unwrap();
            let mut buf = [0; 16];
            assert!(!poll_once(left.read(&mut buf)));
            drop((left, right));
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            assert!(!poll_once(udp.recv_from(&mut buf)));
            drop(udp);
        }
        // The cancellations complete within a few loop iterations.
        let deadline = Instant::now() + Duration::from_secs(10);
        while open_descriptors() > before && Instant::now() < deadline {
            corio::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(open_descriptors(), before, "descriptors leaked");
    });
}
