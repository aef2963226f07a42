//! The multi-thread runtime as a user sees it: spawning from inside and
//! outside, handles, wake-ups racing with steals, shutdown, pinned tasks,
//! timers, the blocking pool and the task introspection functions.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use corio_executor::{spawn, spawn_local, yield_now, Runtime};

fn runtime(workers: usize) -> Runtime {
    Runtime::builder()
        .multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

#[test]
fn a_hundred_thousand_tasks_from_inside_and_from_foreign_threads_all_complete() {
    const INSIDE: u64 = 50_000;
    const OUTSIDE_THREADS: u64 = 4;
    const PER_THREAD: u64 = 12_500;
    let runtime = runtime(4);
    let inside = runtime.block_on(async {
        let spawner = spawn(async {
            let tasks: Vec<_> = (0..INSIDE).map(|n| spawn(async move { n })).collect();
            let mut sum = 0;
            for task in tasks {
                sum += task.await.unwrap();
            }
            sum
        });
        spawner.await.unwrap()
    });
    assert_eq!(inside, INSIDE * (INSIDE - 1) / 2);
    let outside: u64 = (0..OUTSIDE_THREADS)
        .map(|t| {
            let handle = runtime.handle();
            thread::spawn(move || {
                let tasks: Vec<_> = (0..PER_THREAD)
                    .map(|n| handle.spawn(async move { t * PER_THREAD + n }))
                    .collect();
                handle.block_on(async move {
                    let mut sum = 0;
                    for task in tasks {
                        sum += task.await.unwrap();
                    }
                    sum
                })
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .sum();
    let total = OUTSIDE_THREADS * PER_THREAD;
    assert_eq!(outside, total * (total - 1) / 2);
}

/// A future that completes after `target` polls, counting each poll, and
/// hands its waker to whoever wants to wake it from outside.
struct Counted {
    polls: Arc<AtomicUsize>,
    target: usize,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Future for Counted {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let polls = self.polls.fetch_add(1, Ordering::SeqCst) + 1;
        if polls >= self.target {
            return Poll::Ready(());
        }
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        // Also wake itself, so that it sits in a local queue to be stolen
        // while the foreign thread wakes it again.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_task_woken_from_another_thread_while_it_is_stolen_runs_once_per_wake() {
    let runtime = runtime(4);
    for _ in 0..20 {
        let polls: Vec<_> = (0..64).map(|_| Arc::new(AtomicUsize::new(0))).collect();
        let wakers: Vec<_> = (0..64)
            .map(|_| Arc::new(Mutex::new(None::<Waker>)))
            .collect();
        let tasks: Vec<_> = polls
            .iter()
            .zip(&wakers)
            .map(|(polls, waker)| {
                runtime.spawn(Counted {
                    polls: polls.clone(),
                    target: 50,
                    waker: waker.clone(),
                })
            })
            .collect();
        let waking = {
            let wakers = wakers.clone();
            thread::spawn(move || {
                for _ in 0..200 {
                    for waker in &wakers {
                        if let Some(waker) = waker.lock().unwrap().clone() {
                            waker.wake();
                        }
                    }
                }
            })
        };
        runtime.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
        waking.join().unwrap();
        // A task polled after completing, or twice at once, would count
        // past its target.
        for count in &polls {
            assert_eq!(count.load(Ordering::SeqCst), 50);
        }
    }
}

/// Counts its drops.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_the_runtime_drops_each_pending_future_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    const TASKS: usize = 1000;
    {
        let runtime = runtime(3);
        for n in 0..TASKS {
            let counter = DropCounter(drops.clone());
            let started = started.clone();
            let task = runtime.spawn(async move {
                let _counter = counter;
                started.fetch_add(1, Ordering::SeqCst);
                if n % 2 == 0 {
                    // Some tasks keep yielding: queued at shutdown.
                    loop {
                        yield_now().await;
                    }
                } else {
                    std::future::pending::<()>().await;
                }
            });
            drop(task);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while started.load(Ordering::SeqCst) < TASKS && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        // Some pinned tasks too.
        let pinned_drops = drops.clone();
        runtime
            .block_on(runtime.spawn(async move {
                for _ in 0..10 {
                    let counter = DropCounter(pinned_drops.clone());
                    drop(spawn_local(async move {
                        let _counter = counter;
                        std::future::pending::<()>().await;
                    }));
                }
            }))
            .unwrap();
    }
    assert_eq!(drops.load(Ordering::SeqCst), TASKS + 10);
}

#[test]
fn block_on_from_several_threads_through_handles() {
    let runtime = runtime(2);
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let handle = runtime.handle();
            thread::spawn(move || {
                handle.block_on(async move {
                    let inner = spawn(async move { t * 10 }).await.unwrap();
                    yield_now().await;
                    inner + 1
                })
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results, [1, 11, 21, 31]);
    assert_eq!(runtime.block_on(async { 5 }), 5);
}

#[test]
fn tasks_run_on_the_worker_threads() {
    let runtime = runtime(2);
    let names = runtime.block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|_| spawn(async { thread::current().name().unwrap().to_string() }))
            .collect();
        let mut names = HashSet::new();
        for task in tasks {
            names.insert(task.await.unwrap());
        }
        names
    });
    assert!(names.iter().all(|name| name.starts_with("corio-worker-")));
}

#[test]
fn current_task_all_tasks_and_the_task_builder_work_on_workers() {
    let runtime = runtime(2);
    let (name, listed) = runtime.block_on(async {
        let _sleeper = spawn(std::future::pending::<()>());
        corio_executor::task::Builder::new()
            .name("worker-task")
            .spawn(async {
                let name =
                    corio_executor::current_task().and_then(|task| task.name().map(String::from));
                (name, corio_executor::all_tasks().len())
            })
            .await
            .unwrap()
    });
    assert_eq!(name.as_deref(), Some("worker-task"));
    assert!(
        listed >= 3,
        "main, the sleeper and the task itself: {listed}"
    );
    let main = runtime.block_on(async { corio_executor::current_task().unwrap() });
    assert_eq!(
        main.name(),
        Some("main"),
        "block_on's future is the main task"
    );
}

#[test]
fn a_nested_block_on_panics_with_a_clear_message() {
    let runtime = runtime(1);
    let handle = runtime.handle();
    let result = runtime.block_on(runtime.spawn(async move { handle.block_on(async {}) }));
    let payload = result.unwrap_err().into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap();
    assert!(message.contains("cannot be nested"), "{message}");
}

#[test]
fn the_builder_rejects_what_the_multi_thread_flavour_does_not_support() {
    let virtual_time = Runtime::builder().multi_thread().virtual_time(true).build();
    assert_eq!(
        virtual_time.unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
    let zero = Runtime::builder().multi_thread().worker_threads(0).build();
    assert_eq!(zero.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    let driver = Runtime::builder()
        .multi_thread()
        .driver(corio_core::ParkDriver::new())
        .build();
    assert_eq!(driver.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn runtime_new_is_multi_thread() {
    let runtime = Runtime::new().unwrap();
    let on_worker = runtime.block_on(runtime.spawn(async {
        thread::current()
            .name()
            .unwrap()
            .starts_with("corio-worker-")
    }));
    assert!(on_worker.unwrap());
}

#[test]
fn sleep_timeout_and_interval_work_on_every_worker() {
    use corio_timer::{interval, sleep, timeout};
    let runtime = runtime(3);
    let start = Instant::now();
    runtime.block_on(async {
        let sleepers: Vec<_> = (0..30u64)
            .map(|n| {
                spawn(async move {
                    sleep(Duration::from_millis(10 + n % 5)).await;
                    // A migrated task re-arms timers: an interval ticks on.
                    let mut ticks = interval(Duration::from_millis(2));
                    for _ in 0..3 {
                        ticks.tick().await;
                        yield_now().await;
                    }
                    timeout(Duration::from_millis(5), std::future::pending::<()>())
                        .await
                        .is_err()
                })
            })
            .collect();
        for sleeper in sleepers {
            assert!(sleeper.await.unwrap(), "the timeout expired");
        }
        // The `block_on` thread has timers too.
        sleep(Duration::from_millis(5)).await;
    });
    assert!(start.elapsed() >= Duration::from_millis(15));
}

#[test]
fn a_sleep_on_an_otherwise_idle_runtime_wakes_on_time() {
    let runtime = runtime(2);
    let took = runtime.block_on(runtime.spawn(async {
        let start = Instant::now();
        corio_timer::sleep(Duration::from_millis(30)).await;
        start.elapsed()
    }));
    let took = took.unwrap();
    assert!(took >= Duration::from_millis(30), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_spawn_local_task_stays_on_its_worker_even_when_woken_from_foreign_threads() {
    let runtime = runtime(4);
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let waking = {
        let wakers = wakers.clone();
        let stop = stop.clone();
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for waker in wakers.lock().unwrap().drain(..) {
                    waker.wake();
                }
                thread::yield_now();
            }
        })
    };
    let wakers_inside = wakers.clone();
    let ok = runtime.block_on(runtime.spawn(async move {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let wakers = wakers_inside.clone();
                // An `Rc` makes the future `!Send`.
                let home = std::rc::Rc::new(thread::current().id());
                spawn_local(async move {
                    for _ in 0..200 {
                        let mut parked = false;
                        std::future::poll_fn(|cx| {
                            if parked {
                                return Poll::Ready(());
                            }
                            parked = true;
                            wakers.lock().unwrap().push(cx.waker().clone());
                            Poll::Pending
                        })
                        .await;
                        if thread::current().id() != *home {
                            return false;
                        }
                    }
                    true
                })
            })
            .collect();
        let mut ok = true;
        for task in tasks {
            ok &= task.await.unwrap();
        }
        ok
    }));
    stop.store(true, Ordering::SeqCst);
    waking.join().unwrap();
    assert!(ok.unwrap(), "a pinned task ran on another thread");
}

#[test]
fn spawn_local_in_the_future_of_block_on_panics_with_a_clear_message() {
    let runtime = runtime(1);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async { spawn_local(async {}).await })
    }));
    let payload = caught.unwrap_err();
    let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(message.contains("block_on"), "{message}");
}

#[test]
fn spawn_blocking_does_not_stall_the_workers() {
    let runtime = runtime(2);
    let ticks = runtime.block_on(runtime.spawn(async {
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = {
            let ticks = ticks.clone();
            spawn(async move {
                loop {
                    corio_timer::sleep(Duration::from_millis(2)).await;
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        let sleepers: Vec<_> = (0..4)
            .map(|_| corio_executor::spawn_blocking(|| thread::sleep(Duration::from_millis(100))))
            .collect();
        for sleeper in sleepers {
            sleeper.await.unwrap();
        }
        ticker.cancel();
        ticks.load(Ordering::SeqCst)
    }));
    let ticks = ticks.unwrap();
    assert!(ticks >= 10, "the ticker ticked {ticks} times in 100 ms");
}

#[cfg(feature = "io")]
#[test]
fn a_tcp_echo_server_on_the_workers_serves_fifty_clients_from_outside() {
    use corio_reactor::net::{TcpListener, TcpStream};
    use futures_io::{AsyncRead, AsyncWrite};
    use std::io::{Read, Write};

    async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
        let mut buffer = [0u8; 1024];
        loop {
            let read =
                std::future::poll_fn(|cx| Pin::new(&mut stream).poll_read(cx, &mut buffer)).await?;
            if read == 0 {
                return Ok(());
            }
            let mut written = 0;
            while written < read {
                written += std::future::poll_fn(|cx| {
                    Pin::new(&mut stream).poll_write(cx, &buffer[written..read])
                })
                .await?;
            }
        }
    }

    let runtime = runtime(3);
    let listener = runtime
        .block_on(runtime.spawn(TcpListener::bind("127.0.0.1:0")))
        .unwrap()
        .unwrap();
    let address = listener.local_addr().unwrap();
    let server = runtime.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await?;
            drop(spawn(echo(stream)));
        }
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    });
    let clients: Vec<_> = (0..50)
        .map(|n| {
            thread::spawn(move || {
                let mut stream = std::net::TcpStream::connect(address).unwrap();
                for round in 0..10 {
                    let message = format!("client {n} round {round}");
                    stream.write_all(message.as_bytes()).unwrap();
                    let mut back = vec![0; message.len()];
                    stream.read_exact(&mut back).unwrap();
                    assert_eq!(back, message.as_bytes());
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    server.cancel();
}

#[test]
fn a_current_thread_handle_blocks_on_a_task_from_another_thread() {
    let runtime = Runtime::builder().current_thread().build().unwrap();
    let handle = runtime.handle();
    let (sender, receiver) = std::sync::mpsc::channel();
    let other = thread::spawn(move || {
        let task = handle.spawn(async { 6 * 7 });
        sender.send(()).unwrap();
        handle.block_on(task).unwrap()
    });
    receiver.recv().unwrap();
    // The loop runs the task while this thread is in `block_on`.
    runtime.block_on(async {
        for _ in 0..10 {
            yield_now().await;
        }
    });
    assert_eq!(other.join().unwrap(), 42);
}
