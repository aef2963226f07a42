//! Faults on a running loop: a panic in each place user code runs (a task,
//! a `call_soon` callback, a done callback, the drop of a cancelled future,
//! a waker woken from a foreign thread while a task is cancelled), wakers
//! that outlive their task or their runtime, a runtime dropped in the middle
//! of IO, a peer that resets mid-write, malformed input to `BufReader`.
//!
//! Each test checks the three things a user relies on: the loop keeps
//! running (a bystander task makes progress and the loop is used again
//! afterwards), the error reaches the caller it belongs to (the awaiter of
//! the task, the completer of the promise, the reader of the stream), and
//! nothing leaks (every future and callback is dropped exactly once,
//! counted with `DropCounter`).
//!
//! Covered elsewhere and not repeated here: EMFILE on accept
//! (`corio-reactor/tests/emfile.rs` for the listener, `tests/net.rs` for
//! `start_server`; both run in a child process with a low descriptor
//! limit), the task core's panic capture (`corio-core/tests/task.rs`), a
//! panicking done callback on a bare promise (`corio-core/tests/promise.rs`).

use std::cell::Cell;
use std::future::{pending, poll_fn};
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use corio::io::{AsyncReadExt, AsyncWriteExt, BufReader, LimitOverrunError};
use corio::net::{TcpListener, TcpStream};
use corio::{EventLoop, Promise, Runtime};
use corio_test_support::DropCounter;

/// A bystander: counts loop iterations until `stop` is set, so a test can
/// check that the loop kept running tasks around a fault.
async fn bystander(ticks: Rc<Cell<u32>>) {
    loop {
        ticks.set(ticks.get() + 1);
        corio::yield_now().await;
    }
}

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("drop panicked");
    }
}

#[test]
fn a_panic_in_a_task_reaches_its_awaiter_and_the_loop_goes_on() {
    let drops = DropCounter::new();
    let mut event_loop = EventLoop::new().unwrap();
    let ticks = Rc::new(Cell::new(0));
    let token = drops.token();
    let error = event_loop.run_until_complete(async {
        let watcher = corio::spawn_local(bystander(ticks.clone()));
        let bad = corio::spawn(async move {
            let _token = token;
            corio::yield_now().await;
            panic!("task failed");
        });
        let error = bad.await.unwrap_err();
        watcher.cancel();
        error
    });
    assert!(error.is_panic());
    assert_eq!(error.panic_message(), Some("task failed"));
    assert!(ticks.get() > 0, "the bystander ran");
    assert_eq!(drops.count(), 1, "the panicked future was dropped once");
    assert_eq!(event_loop.run_until_complete(async { 3 }), 3);
}

#[test]
fn a_panic_in_a_call_soon_callback_is_reported_and_the_loop_goes_on() {
    let drops = DropCounter::new();
    let mut event_loop = EventLoop::new().unwrap();
    let (panicking, next) = (drops.token(), drops.token());
    event_loop.call_soon(move || {
        let _token = panicking;
        panic!("callback failed");
    });
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    event_loop.call_soon(move || {
        let _token = next;
        flag.set(true);
    });
    // The callbacks run before the main future's second poll; the panic is
    // written to standard error (asyncio's exception handler) and goes no
    // further: there is no caller to hand it to.
    let after = event_loop.run_until_complete(async {
        corio::yield_now().await;
        corio::spawn(async { 5 }).await.unwrap()
    });
    assert_eq!(after, 5);
    assert!(ran.get(), "the callback after the panicking one ran");
    assert_eq!(drops.count(), 2, "both callbacks were dropped once");
}

#[test]
fn a_panic_in_a_done_callback_reaches_the_completer_and_the_awaiters_get_the_result() {
    let drops = DropCounter::new();
    let mut event_loop = EventLoop::new().unwrap();
    let (panicking, next) = (drops.token(), drops.token());
    let (completer, awaited) = event_loop.run_until_complete(async move {
        let promise: Promise<u32> = Promise::new();
        promise.add_done_callback(move |_| {
            let _token = panicking;
            panic!("done callback failed");
        });
        let later = Arc::new(AtomicBool::new(false));
        let flag = later.clone();
        promise.add_done_callback(move |_| {
            let _token = next;
            flag.store(true, Ordering::SeqCst);
        });
        let awaiter = corio::spawn(promise.clone());
        let setter = promise.clone();
        let completer = corio::spawn(async move { setter.set_result(9) }).await;
        assert!(later.load(Ordering::SeqCst), "the later callback still ran");
        (completer, awaiter.await.unwrap())
    });
    let error = completer.unwrap_err();
    assert_eq!(error.panic_message(), Some("done callback failed"));
    assert_eq!(awaited, Ok(9));
    assert_eq!(drops.count(), 2, "both callbacks were dropped once");
    assert_eq!(event_loop.run_until_complete(async { 1 }), 1);
}

#[test]
fn a_panic_in_the_drop_of_a_cancelled_future_reaches_its_awaiter() {
    let drops = DropCounter::new();
    let mut event_loop = EventLoop::new().unwrap();
    let token = drops.token();
    let ticks = Rc::new(Cell::new(0));
    let error = event_loop.run_until_complete(async {
        let watcher = corio::spawn_local(bystander(ticks.clone()));
        let task = corio::spawn(async move {
            let _token = token;
            let _bomb = PanicOnDrop;
            pending::<()>().await;
        });
        corio::yield_now().await;
        assert!(task.cancel());
        let error = task.await.unwrap_err();
        let before = ticks.get();
        corio::yield_now().await;
        corio::yield_now().await;
        assert!(ticks.get() > before, "the bystander still runs");
        watcher.cancel();
        error
    });
    assert!(
        error.is_panic(),
        "a panic while dropping is reported: {error}"
    );
    assert_eq!(error.panic_message(), Some("drop panicked"));
    assert_eq!(drops.count(), 1, "the rest of the future was dropped once");
}

#[test]
fn wakes_from_a_foreign_thread_racing_with_cancel_drop_each_future_once() {
    const ROUNDS: usize = 200;
    let drops = DropCounter::new();
    let mut event_loop = EventLoop::new().unwrap();
    for _ in 0..ROUNDS {
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let waker_thread = {
            let (slot, stop) = (slot.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    if let Some(waker) = slot.lock().unwrap().clone() {
                        waker.wake();
                    }
                    thread::yield_now();
                }
                // And once more after the task is gone: a wake of a
                // finished task is a no-op.
                if let Some(waker) = slot.lock().unwrap().take() {
                    waker.wake();
                }
            })
        };
        let token = drops.token();
        let outcome = event_loop.run_until_complete(async {
            let publish = slot.clone();
            let task = corio::spawn(async move {
                let _token = token;
                poll_fn(|cx| {
                    *publish.lock().unwrap() = Some(cx.waker().clone());
                    Poll::<()>::Pending
                })
                .await;
            });
            // Let the foreign thread's wakes reschedule the task a few times,
            // then cancel it while they keep coming.
            for _ in 0..3 {
                corio::yield_now().await;
            }
            task.cancel();
            task.await
        });
        stop.store(true, Ordering::SeqCst);
        waker_thread.join().unwrap();
        assert!(outcome.unwrap_err().is_cancelled());
    }
    assert_eq!(
        drops.count(),
        ROUNDS,
        "every future was dropped exactly once"
    );
}

/// A waker that panics when woken.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("waker failed");
    }
}

#[test]
fn a_panicking_wake_from_a_foreign_thread_racing_cancel_reaches_that_thread_only() {
    let drops = DropCounter::new();
    let mut event_loop = EventLoop::new().unwrap();
    let promise: Promise<u32> = Promise::new();
    // An awaiter outside the loop whose waker panics: the foreign thread
    // that completes the promise runs that wake.
    let mut outside = promise.clone();
    let waker = Waker::from(Arc::new(PanickingWaker));
    assert!(corio_test_support::poll_once(&mut outside, &waker).is_pending());
    let (kept, cancelled) = (drops.token(), drops.token());
    let (awaited, cancel_outcome, completer) = event_loop.run_until_complete(async {
        let awaiting = promise.clone();
        let awaiter = corio::spawn(async move {
            let _token = kept;
            awaiting.await
        });
        let awaiting = promise.clone();
        let to_cancel = corio::spawn(async move {
            let _token = cancelled;
            awaiting.await
        });
        corio::yield_now().await;
        let setter = promise.clone();
        let completer = thread::spawn(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| setter.set_result(4)))
        });
        // Races the foreign completion, which wakes this task too.
        to_cancel.cancel();
        let awaited = awaiter.await.unwrap();
        let cancel_outcome = to_cancel.await;
        let completer = corio::to_thread(move || completer.join().unwrap())
            .await
            .unwrap();
        (awaited, cancel_outcome, completer)
    });
    assert_eq!(awaited, Ok(4), "the loop's awaiter got the result");
    match cancel_outcome {
        Err(error) => assert!(error.is_cancelled()),
        Ok(result) => assert_eq!(result, Ok(4), "completed before the cancel"),
    }
    let payload = completer.expect_err("the completer sees the waker's panic");
    assert_eq!(corio_test_support::panic_message(payload), "waker failed");
    assert_eq!(drops.count(), 2, "both futures were dropped once");
    drop(outside);
    assert_eq!(event_loop.run_until_complete(async { 8 }), 8);
}

#[test]
fn a_waker_used_after_its_runtime_was_dropped_is_harmless() {
    for flavor in ["current_thread", "multi_thread"] {
        let drops = DropCounter::new();
        let runtime = match flavor {
            "current_thread" => Runtime::builder().current_thread().build(),
            _ => Runtime::builder().multi_thread().worker_threads(2).build(),
        }
        .unwrap();
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let (publish, probe) = (slot.clone(), slot.clone());
        let token = drops.token();
        runtime.block_on(async move {
            let task = corio::spawn(async move {
                let _token = token;
                poll_fn(|cx| {
                    *publish.lock().unwrap() = Some(cx.waker().clone());
                    Poll::<()>::Pending
                })
                .await;
            });
            // Until the task has published its waker (on a worker thread,
            // for the multi-thread runtime).
            while probe.lock().unwrap().is_none() {
                corio::yield_now().await;
            }
            task.detach();
        });
        drop(runtime);
        assert_eq!(
            drops.count(),
            1,
            "{flavor}: dropping the runtime dropped the task"
        );
        let waker = slot.lock().unwrap().take().unwrap();
        let clone = waker.clone();
        thread::spawn(move || clone.wake()).join().unwrap();
        waker.wake_by_ref();
        drop(waker.clone());
        waker.wake();
        assert_eq!(drops.count(), 1, "{flavor}: nothing was dropped twice");
    }
}

#[test]
fn dropping_the_runtime_in_the_middle_of_io_drops_the_io_and_closes_the_sockets() {
    let drops = DropCounter::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut event_loop = EventLoop::new().unwrap();
    let token = drops.token();
    let connected = event_loop.run_until_complete(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let reading = corio::spawn_local(async move {
            let _token = token;
            let mut buf = [0; 16];
            // Never answered: the runtime is dropped while this waits.
            stream.read(&mut buf).await
        });
        reading.detach();
        corio::sleep(Duration::from_millis(5)).await;
        true
    });
    assert!(connected);
    let (mut peer, _) = listener.accept().unwrap();
    assert_eq!(drops.count(), 0, "the read is still pending");
    drop(event_loop);
    assert_eq!(drops.count(), 1, "the pending read was dropped once");
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0; 1];
    assert_eq!(peer.read(&mut buf).unwrap(), 0, "the socket was closed");
}

#[test]
fn a_peer_reset_mid_write_reaches_the_writer_and_other_clients_are_served() {
    let drops = DropCounter::new();
    let mut event_loop = EventLoop::new().unwrap();
    let token = drops.token();
    let (error, echoed) = event_loop.run_until_complete(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = corio::spawn_local(async move {
            // The first client resets; the writer to it gets the error.
            let (mut stream, _) = listener.accept().await.unwrap();
            let writer = corio::spawn_local(async move {
                let _token = token;
                let chunk = vec![7u8; 64 * 1024];
                loop {
                    if let Err(error) = stream.write_all(&chunk).await {
                        return error;
                    }
                }
            });
            // The second client is served meanwhile.
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut line = [0; 5];
            stream.read_exact(&mut line).await.unwrap();
            stream.write_all(&line).await.unwrap();
            writer.await.unwrap()
        });
        let resetter = corio::to_thread(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            let mut some = [0; 1024];
            stream.read_exact(&mut some).unwrap();
            // Unread data in the receive queue: closing sends a reset.
            drop(stream);
        });
        resetter.await.unwrap();
        let echoed = corio::to_thread(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.write_all(b"hello").unwrap();
            let mut back = [0; 5];
            stream.read_exact(&mut back).unwrap();
            back
        })
        .await
        .unwrap();
        (server.await.unwrap(), echoed)
    });
    assert!(
        matches!(
            error.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ),
        "unexpected error {error:?}"
    );
    assert_eq!(&echoed, b"hello");
    assert_eq!(drops.count(), 1, "the failed writer was dropped once");
    assert_eq!(event_loop.run_until_complete(async { 2 }), 2);
}

#[test]
fn malformed_input_to_buf_reader_reaches_its_reader_and_the_connection_goes_on() {
    corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = corio::spawn_local(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let mut long = vec![b'x'; 200];
            long.extend_from_slice(b"\nok\nabc");
            stream.write_all(&long).await.unwrap();
            // End of file in the middle of the 8-byte record.
        });
        let (stream, _) = listener.accept().await.unwrap();
        let mut reader = BufReader::new(stream).with_limit(128);
        let mut line = Vec::new();
        let error = reader.read_until(b'\n', &mut line).await.unwrap_err();
        let limit = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<LimitOverrunError>())
            .map(LimitOverrunError::limit);
        assert_eq!(
            (error.kind(), limit),
            (io::ErrorKind::InvalidData, Some(128))
        );
        // The reader goes on: the rest of the long line, then the next one.
        line.clear();
        assert_eq!(reader.read_until(b'\n', &mut line).await.unwrap(), 73);
        let mut next = String::new();
        reader.read_line(&mut next).await.unwrap();
        assert_eq!(next, "ok\n");
        let mut record = [0; 8];
        client.await.unwrap();
        let error = reader.read_exact(&mut record).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(&record[..3], b"abc");
    });
}
