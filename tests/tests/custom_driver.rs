//! The example driver of docs/REACTORS.md, compiled and run, so that the
//! document cannot drift from the `Driver` contract: the code between the
//! markers below must equal the document's example, and the tests run it on
//! an `EventLoop` over both the parking driver and the mio reactor.

use std::io::ErrorKind;
use std::sync::atomic::Ordering;
use std::time::Duration;

use corio::EventLoop;
use corio_core::ParkDriver;
use corio_reactor::Reactor;

// --- REACTORS.md example start ---
use std::any::Any;
use std::io;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use corio_core::{Driver, Unpark};

/// How often a loop parked and was unparked.
#[derive(Debug, Default)]
pub struct Counts {
    /// Calls to `park`.
    pub parks: AtomicUsize,
    /// Calls to `unpark`, from any thread.
    pub unparks: AtomicUsize,
}

/// A driver that wraps another one and counts its parks and unparks.
pub struct CountingDriver<D> {
    inner: D,
    counts: Arc<Counts>,
}

impl<D: Driver> CountingDriver<D> {
    /// Wraps `inner`; the returned counts can be read from any thread.
    pub fn new(inner: D) -> (CountingDriver<D>, Arc<Counts>) {
        let counts = Arc::new(Counts::default());
        let driver = CountingDriver {
            inner,
            counts: counts.clone(),
        };
        (driver, counts)
    }
}

impl<D: Driver> Driver for CountingDriver<D> {
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.counts.parks.fetch_add(1, Ordering::Relaxed);
        // The wrapped driver honours the contract: it blocks at most
        // `timeout`, keeps an unpark that came early, retries EINTR.
        self.inner.park(timeout)
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        Arc::new(CountingUnpark {
            inner: self.inner.unparker(),
            counts: self.counts.clone(),
        })
    }

    fn io_context(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        // Sockets find their reactor through this object: forwarding it
        // keeps the wrapped driver's IO (if it has any) working.
        self.inner.io_context()
    }
}

struct CountingUnpark {
    inner: Arc<dyn Unpark>,
    counts: Arc<Counts>,
}

impl Unpark for CountingUnpark {
    fn unpark(&self) {
        self.counts.unparks.fetch_add(1, Ordering::Relaxed);
        self.inner.unpark();
    }
}
// --- REACTORS.md example end ---

#[test]
fn the_document_shows_exactly_this_code() {
    let source = include_str!("custom_driver.rs");
    let start = "// --- REACTORS.md example start ---\n";
    let end = "// --- REACTORS.md example end ---";
    let code = &source[source.find(start).unwrap() + start.len()..source.find(end).unwrap()];
    let document = include_str!("../../docs/REACTORS.md");
    assert!(
        document.contains(&format!("```rust\n{code}```")),
        "docs/REACTORS.md must show the example of tests/tests/custom_driver.rs verbatim, \
         in a ```rust block"
    );
}

#[test]
fn a_loop_on_the_counting_parking_driver_runs_tasks_and_timers() {
    let (driver, counts) = CountingDriver::new(ParkDriver::new());
    let mut event_loop = EventLoop::with_driver(driver);
    let sum = event_loop.run_until_complete(async {
        let task = corio::spawn(async {
            corio::sleep(Duration::from_millis(5)).await;
            20
        });
        corio::sleep(Duration::from_millis(1)).await;
        task.await.unwrap() + 22
    });
    assert_eq!(sum, 42);
    // Nothing was ready while the timers ran: the loop had to park.
    assert!(counts.parks.load(Ordering::Relaxed) >= 1);
}

#[test]
fn sockets_on_a_loop_without_io_fail_with_a_clear_error() {
    let (driver, _counts) = CountingDriver::new(ParkDriver::new());
    let mut event_loop = EventLoop::with_driver(driver);
    let error = event_loop
        .run_until_complete(corio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert!(error.to_string().contains("no corio IO reactor"), "{error}");
    let error = event_loop
        .run_until_complete(corio::open_connection("127.0.0.1:1"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
}

#[test]
fn wrapping_the_reactor_keeps_sockets_working() {
    let (driver, counts) = CountingDriver::new(Reactor::new().unwrap());
    let mut event_loop = EventLoop::with_driver(driver);
    let received = event_loop
        .run_until_complete(async {
            let a = corio::net::UdpSocket::bind("127.0.0.1:0").await?;
            let b = corio::net::UdpSocket::bind("127.0.0.1:0").await?;
            let to = b.local_addr()?;
            let receiver = corio::spawn(async move {
                let mut buf = [0; 16];
                let (len, _) = b.recv_from(&mut buf).await?;
                io::Result::Ok(buf[..len].to_vec())
            });
            // Let the receiver wait first, so that the loop parks in the
            // reactor until the datagram arrives.
            corio::sleep(Duration::from_millis(1)).await;
            a.send_to(b"through", to).await?;
            receiver.await.unwrap()
        })
        .unwrap();
    assert_eq!(received, b"through");
    assert!(counts.parks.load(Ordering::Relaxed) >= 1);
}

#[test]
fn unparks_from_another_thread_go_through_the_wrapper() {
    let (driver, counts) = CountingDriver::new(ParkDriver::new());
    let mut event_loop = EventLoop::with_driver(driver);
    let promise = corio::Promise::new();
    let resolver = promise.clone();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        resolver.set_result(7).unwrap();
    });
    assert_eq!(event_loop.run_until_complete(promise), Ok(7));
    thread.join().unwrap();
    assert!(counts.unparks.load(Ordering::Relaxed) >= 1);
}
