//! A socket's readiness reaches a task while every thread of the runtime is
//! kept busy, so that IO is only ever polled by the periodic non-blocking
//! check (every 61 polls), never by a park: on the event loop and on the
//! multi-thread runtime.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corio::io::{AsyncReadExt, AsyncWriteExt};
use corio::net::TcpListener;

/// Keeps `spinners` tasks yielding until the accepted connection has
/// delivered its byte; fails rather than hangs if it never does.
async fn accept_while_busy(spinners: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..spinners)
        .map(|_| {
            let done = done.clone();
            corio::spawn(async move {
                let mut turns = 0u64;
                while !done.load(Ordering::Relaxed) {
                    corio::yield_now().await;
                    turns += 1;
                }
                turns
            })
        })
        .collect();
    // The peer runs on a plain thread, after the spinners have started.
    let peer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        std::io::Write::write_all(&mut stream, b"!").unwrap();
        stream
    });
    let received = corio::time::timeout(Duration::from_secs(10), async {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
        stream.write_all(&byte).await.unwrap();
        byte
    })
    .await;
    done.store(true, Ordering::Relaxed);
    for task in busy {
        assert!(task.await.unwrap() > 0, "the spinner ran");
    }
    drop(peer.join().unwrap());
    assert_eq!(
        received.expect("the connection was never seen while the loop was busy"),
        *b"!"
    );
}

#[test]
fn the_event_loop_sees_io_while_it_never_idles() {
    corio::run(async {
        accept_while_busy(1).await;
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn the_multi_thread_runtime_sees_io_while_every_worker_is_busy() {
    let runtime = corio::Runtime::builder()
        .multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(accept_while_busy(2));
}
