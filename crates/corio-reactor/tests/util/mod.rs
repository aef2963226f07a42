//! A tiny single-threaded executor for the reactor's tests: no executor
//! exists below the reactor, so tests bring their own.
#![allow(dead_code)]

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use corio_core::{coop, Driver, Unpark};
use corio_reactor::Reactor;
use futures_io::{AsyncRead, AsyncWrite};

type LocalTask = Pin<Box<dyn Future<Output = ()>>>;

thread_local! {
    static SPAWNED: RefCell<Vec<LocalTask>> = const { RefCell::new(Vec::new()) };
}

struct Flag {
    woken: AtomicBool,
    unparker: Arc<dyn Unpark>,
    thread: ThreadId,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if std::thread::current().id() != self.thread {
            self.unparker.unpark();
        }
    }
}

fn flag(reactor: &Reactor) -> Arc<Flag> {
    Arc::new(Flag {
        woken: AtomicBool::new(true),
        unparker: reactor.unparker(),
        thread: std::thread::current().id(),
    })
}

/// Runs `future` on a fresh reactor, with the tasks it spawns.
pub fn run<F: Future>(future: F) -> F::Output {
    let mut reactor = Reactor::new().expect("creating a reactor");
    block_on(&mut reactor, future)
}

/// Runs `future` and every task spawned with [`spawn`] on `reactor` until
/// `future` completes. Polls only tasks that were woken; parks otherwise.
pub fn block_on<F: Future>(reactor: &mut Reactor, future: F) -> F::Output {
    let _context = corio_core::enter_io_context(reactor.io_context());
    let mut future = pin!(future);
    let main_flag = flag(reactor);
    let main_waker = Waker::from(main_flag.clone());
    let mut tasks: Vec<(LocalTask, Arc<Flag>, Waker)> = Vec::new();
    loop {
        let mut progressed = false;
        if main_flag.woken.swap(false, Ordering::SeqCst) {
            progressed = true;
            let mut cx = Context::from_waker(&main_waker);
            if let Poll::Ready(output) = coop::with_budget(|| future.as_mut().poll(&mut cx)) {
                return output;
            }
        }
        for task in SPAWNED.with(|spawned| std::mem::take(&mut *spawned.borrow_mut())) {
            let task_flag = flag(reactor);
            let waker = Waker::from(task_flag.clone());
            tasks.push((task, task_flag, waker));
        }
        let mut index = 0;
        while index < tasks.len() {
            let (task, task_flag, waker) = &mut tasks[index];
            if task_flag.woken.swap(false, Ordering::SeqCst) {
                progressed = true;
                let mut cx = Context::from_waker(waker);
                if coop::with_budget(|| task.as_mut().poll(&mut cx)).is_ready() {
                    drop(tasks.swap_remove(index));
                    continue;
                }
            }
            index += 1;
        }
        let pending_spawns = SPAWNED.with(|spawned| !spawned.borrow().is_empty());
        if !progressed && !pending_spawns {
            reactor.park(None).expect("parking the reactor");
        }
    }
}

struct JoinState<T> {
    output: Option<T>,
    waker: Option<Waker>,
}

/// The output of a task started with [`spawn`].
pub struct JoinHandle<T> {
    state: Rc<RefCell<JoinState<T>>>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.state.borrow_mut();
        match state.output.take() {
            Some(output) => Poll::Ready(output),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Starts `future` as a concurrent task of the running [`block_on`].
pub fn spawn<T: 'static>(future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
    let state = Rc::new(RefCell::new(JoinState {
        output: None,
        waker: None,
    }));
    let task_state = state.clone();
    let task: LocalTask = Box::pin(async move {
        let output = future.await;
        let mut state = task_state.borrow_mut();
        state.output = Some(output);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    });
    SPAWNED.with(|spawned| spawned.borrow_mut().push(task));
    JoinHandle { state }
}

/// Waits at least `duration` (a helper thread wakes the task).
pub async fn sleep(duration: Duration) {
    let deadline = Instant::now() + duration;
    let mut started = false;
    poll_fn(|cx| {
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        if !started {
            started = true;
            let waker = cx.waker().clone();
            std::thread::spawn(move || {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                waker.wake();
            });
        }
        Poll::Pending
    })
    .await
}

pub async fn read(reader: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| Pin::new(&mut *reader).poll_read(cx, buf)).await
}

pub async fn read_to_end(reader: &mut (impl AsyncRead + Unpin)) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        let len = read(reader, &mut buf).await?;
        if len == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..len]);
    }
}

pub async fn write_all(writer: &mut (impl AsyncWrite + Unpin), mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let len = poll_fn(|cx| Pin::new(&mut *writer).poll_write(cx, buf)).await?;
        if len == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[len..];
    }
    Ok(())
}

pub async fn close(writer: &mut (impl AsyncWrite + Unpin)) -> io::Result<()> {
    poll_fn(|cx| Pin::new(&mut *writer).poll_close(cx)).await
}

/// Copies `reader` to `writer` until end-of-file; returns the byte count.
pub async fn copy(
    reader: &mut (impl AsyncRead + Unpin),
    writer: &mut (impl AsyncWrite + Unpin),
) -> io::Result<u64> {
    let mut buf = vec![0; 64 * 1024];
    let mut total = 0;
    loop {
        let len = read(reader, &mut buf).await?;
        if len == 0 {
            return Ok(total);
        }
        write_all(writer, &buf[..len]).await?;
        total += len as u64;
    }
}
