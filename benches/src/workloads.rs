//! The workloads, each written once and generic over the runtime.
//!
//! Every workload times itself from inside the runtime (building and dropping
//! the runtime are not measured) and validates what it computed: a runtime
//! that loses a task, a message or a byte fails instead of winning.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::own_sync::{AsyncChannel, Channel, OwnChannel, OwnMutex};
use crate::runtime::{LocalRuntime, NetRuntime, Runtime};

/// What one run of a workload measured.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Seconds, or bytes for the memory benchmark.
    pub value: f64,
    /// A secondary figure (max lateness in ms for the sleep benchmark).
    pub extra: Option<f64>,
}

impl Sample {
    pub fn elapsed(started: Instant) -> Sample {
        Sample {
            value: started.elapsed().as_secs_f64(),
            extra: None,
        }
    }
}

/// The outcome of one run: a sample, or why the result is wrong.
pub type Outcome = Result<Sample, String>;

pub fn check(what: &str, got: u64, expected: u64) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: got {got}, expected {expected}"))
    }
}

/// Spawns `count` tasks that each return their index, then joins them all.
pub async fn spawn_join<R: Runtime>(count: u64) -> Outcome {
    let started = Instant::now();
    let handles: Vec<_> = (0..count).map(|i| R::spawn(async move { i })).collect();
    let mut sum = 0;
    for handle in handles {
        sum += handle.await;
    }
    let sample = Sample::elapsed(started);
    check(
        "sum of the joined results",
        sum,
        count * count.saturating_sub(1) / 2,
    )?;
    Ok(sample)
}

/// `tasks` tasks that each call `yield_now` `yields` times.
pub async fn yield_many<R: Runtime>(tasks: u64, yields: u64) -> Outcome {
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            R::spawn(async move {
                let mut done = 0u64;
                for _ in 0..yields {
                    R::yield_now().await;
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for handle in handles {
        total += handle.await;
    }
    let sample = Sample::elapsed(started);
    check("yields completed", total, tasks * yields)?;
    Ok(sample)
}

/// `pairs` pairs of tasks bouncing a number `trips` times over two
/// capacity-1 async-channel channels; the pong side adds one.
pub async fn ping_pong<R: Runtime>(pairs: u64, trips: u64) -> Outcome {
    ping_pong_over::<R, AsyncChannel>(pairs, trips).await
}

/// The `ping_pong` workload over each runtime's own channel instead of
/// async-channel.
pub async fn ping_pong_own<R: OwnChannel>(pairs: u64, trips: u64) -> Outcome {
    ping_pong_over::<R, R::Channel>(pairs, trips).await
}

/// `pairs` pairs of tasks bouncing a number `trips` times over two
/// capacity-1 channels of kind `C`; the pong side adds one.
async fn ping_pong_over<R: Runtime, C: Channel>(pairs: u64, trips: u64) -> Outcome {
    let started = Instant::now();
    let mut pings = Vec::with_capacity(pairs as usize);
    let mut pongs = Vec::with_capacity(pairs as usize);
    for _ in 0..pairs {
        let (to_pong, mut from_ping) = C::channel(1);
        let (to_ping, mut from_pong) = C::channel(1);
        pongs.push(R::spawn(async move {
            let mut served = 0u64;
            while let Some(value) = C::recv(&mut from_ping).await {
                if C::send(&to_ping, value + 1).await.is_err() {
                    break;
                }
                served += 1;
            }
            served
        }));
        pings.push(R::spawn(async move {
            let mut correct = 0u64;
            for trip in 0..trips {
                if C::send(&to_pong, trip).await.is_err() {
                    break;
                }
                match C::recv(&mut from_pong).await {
                    Some(answer) if answer == trip + 1 => correct += 1,
                    _ => break,
                }
            }
            // Dropping `to_pong` here closes the channel, which ends the
            // pong task.
            correct
        }));
    }
    let mut correct = 0;
    for ping in pings {
        correct += ping.await;
    }
    let mut served = 0;
    for pong in pongs {
        served += pong.await;
    }
    let sample = Sample::elapsed(started);
    check("correct answers", correct, pairs * trips)?;
    check("requests served", served, pairs * trips)?;
    Ok(sample)
}

/// `tasks` tasks that each, `rounds` times, lock one shared mutex, yield
/// while holding it, and unlock it. The value in the mutex is read before
/// the yield and written (plus one) after it, so that a holder that
/// overlapped another would lose an increment; a counter outside the mutex
/// also counts the holders that found another one inside.
pub async fn mutex<R: OwnMutex>(tasks: u64, rounds: u64) -> Outcome {
    let started = Instant::now();
    let shared = Arc::new(R::mutex(0));
    let holders = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let shared = shared.clone();
            let holders = holders.clone();
            R::spawn(async move {
                let mut overlaps = 0u64;
                for _ in 0..rounds {
                    let mut guard = R::lock(&shared).await;
                    if holders.fetch_add(1, Ordering::Relaxed) != 0 {
                        overlaps += 1;
                    }
                    let before = *guard;
                    R::yield_now().await;
                    *guard = before + 1;
                    holders.fetch_sub(1, Ordering::Relaxed);
                    drop(guard);
                }
                overlaps
            })
        })
        .collect();
    let mut overlaps = 0;
    for handle in handles {
        overlaps += handle.await;
    }
    let sample = Sample::elapsed(started);
    check("holders that found another holder inside", overlaps, 0)?;
    check(
        "value in the mutex",
        *R::lock(&shared).await,
        tasks * rounds,
    )?;
    Ok(sample)
}

/// How a chain's links spawn the next one.
trait LinkSpawn<R>: Sized + 'static {
    fn spawn_link(link: Link<R, Self>);
}

/// With `spawn_local` (the `chain` row).
struct ViaSpawnLocal;

/// With `spawn` (the `mt_chain` row: on a multi-thread runtime
/// `spawn_local` pins every link to one worker).
struct ViaSpawn;

impl<R: LocalRuntime> LinkSpawn<R> for ViaSpawnLocal {
    fn spawn_link(link: Link<R, Self>) {
        R::spawn_local_detached(link);
    }
}

impl<R: Runtime> LinkSpawn<R> for ViaSpawn {
    fn spawn_link(link: Link<R, Self>) {
        R::spawn_detached(link);
    }
}

/// One link of the chain: spawns the next link (as `S` says), or, as the
/// last one, reports how many links ran.
struct Link<R, S> {
    remaining: u64,
    visited: u64,
    done: Option<async_channel::Sender<u64>>,
    runtime: std::marker::PhantomData<fn() -> (R, S)>,
}

impl<R, S: LinkSpawn<R>> Future for Link<R, S> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let done = self.done.take().expect("a link is polled once");
        let visited = self.visited + 1;
        if self.remaining == 0 {
            // The receiver may be gone only if the workload already failed.
            let _ = done.try_send(visited);
        } else {
            S::spawn_link(Link {
                remaining: self.remaining - 1,
                visited,
                done: Some(done),
                runtime: std::marker::PhantomData,
            });
        }
        Poll::Ready(())
    }
}

/// A chain of `length` tasks, each spawning the next with `spawn_local`.
pub async fn chain<R: LocalRuntime>(length: u64) -> Outcome {
    chain_via::<R, ViaSpawnLocal>(length).await
}

/// A chain of `length` tasks, each spawning the next with `spawn`.
pub async fn chain_spawn<R: Runtime>(length: u64) -> Outcome {
    chain_via::<R, ViaSpawn>(length).await
}

async fn chain_via<R, S: LinkSpawn<R>>(length: u64) -> Outcome {
    let started = Instant::now();
    let (done, finished) = async_channel::bounded(1);
    S::spawn_link(Link {
        remaining: length.saturating_sub(1),
        visited: 0,
        done: Some(done),
        runtime: std::marker::PhantomData,
    });
    let visited = finished
        .recv()
        .await
        .map_err(|_| "the chain was dropped before its end".to_string())?;
    let sample = Sample::elapsed(started);
    check("links run", visited, length)?;
    Ok(sample)
}

/// How many timeouts are created between two yields: far below every
/// runtime's coop budget, so that no runtime skips registering a timer
/// because the task ran out of budget.
const TIMEOUTS_PER_YIELD: u64 = 32;

/// `count` times: wrap a future that is always pending in a 10 s timeout,
/// poll it once (so the timer is really registered), then drop it (so the
/// timer is cancelled).
pub async fn timeout_cancel<R: Runtime>(count: u64) -> Outcome {
    let started = Instant::now();
    let mut pending_after_one_poll = 0u64;
    for i in 0..count {
        if i % TIMEOUTS_PER_YIELD == 0 {
            R::yield_now().await;
        }
        let mut timeout = pin!(R::timeout(
            Duration::from_secs(10),
            std::future::pending::<()>()
        ));
        if futures_lite::future::poll_once(timeout.as_mut())
            .await
            .is_none()
        {
            pending_after_one_poll += 1;
        }
    }
    let sample = Sample::elapsed(started);
    check(
        "timeouts still pending after one poll",
        pending_after_one_poll,
        count,
    )?;
    Ok(sample)
}

/// `count` tasks sleeping 1..=50 ms each; `extra` is the largest lateness in
/// ms. Waking early is a failure.
pub async fn sleeps<R: Runtime>(count: u64) -> Outcome {
    let started = Instant::now();
    let handles: Vec<_> = (0..count)
        .map(|i| {
            R::spawn(async move {
                let duration = Duration::from_millis(1 + i % 50);
                let slept_at = Instant::now();
                R::sleep(duration).await;
                let slept = slept_at.elapsed();
                // `Err` holds how early the sleep woke.
                slept.checked_sub(duration).ok_or_else(|| duration - slept)
            })
        })
        .collect();
    let mut worst = Duration::ZERO;
    let mut earliest = None;
    for handle in handles {
        match handle.await {
            Ok(lateness) => worst = worst.max(lateness),
            Err(early) => earliest = earliest.max(Some(early)),
        }
    }
    let mut sample = Sample::elapsed(started);
    if let Some(early) = earliest {
        return Err(format!("a sleep woke {early:?} early"));
    }
    sample.extra = Some(worst.as_secs_f64() * 1000.0);
    Ok(sample)
}

/// The size of one echo message.
const ECHO_MESSAGE: usize = 64;

/// `connections` clients each doing `trips` round trips of 64 bytes with an
/// echo server, all on the calling runtime over 127.0.0.1.
pub async fn tcp_echo<R: NetRuntime>(connections: u64, trips: u64) -> Outcome {
    let started = Instant::now();
    let listener = R::bind(([127, 0, 0, 1], 0).into())
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = R::local_addr(&listener).map_err(|e| format!("local_addr: {e}"))?;
    let server = R::spawn(async move {
        let mut echoers = Vec::new();
        for _ in 0..connections {
            let mut stream = R::accept(&listener).await?;
            echoers.push(R::spawn(async move {
                let mut buf = [0u8; ECHO_MESSAGE];
                let mut echoed = 0u64;
                for _ in 0..trips {
                    R::read_exact(&mut stream, &mut buf).await?;
                    R::write_all(&mut stream, &buf).await?;
                    echoed += ECHO_MESSAGE as u64;
                }
                Ok::<u64, std::io::Error>(echoed)
            }));
        }
        let mut echoed = 0u64;
        for echoer in echoers {
            echoed += echoer.await?;
        }
        Ok::<u64, std::io::Error>(echoed)
    });
    let clients: Vec<_> = (0..connections)
        .map(|client| {
            R::spawn(async move {
                let mut stream = R::connect(addr).await?;
                let mut sent = [0u8; ECHO_MESSAGE];
                let mut received = [0u8; ECHO_MESSAGE];
                let mut verified = 0u64;
                for trip in 0..trips {
                    sent.fill((client + trip) as u8);
                    sent[..8].copy_from_slice(&trip.to_le_bytes());
                    R::write_all(&mut stream, &sent).await?;
                    R::read_exact(&mut stream, &mut received).await?;
                    if received == sent {
                        verified += ECHO_MESSAGE as u64;
                    }
                }
                Ok::<u64, std::io::Error>(verified)
            })
        })
        .collect();
    let mut verified = 0u64;
    for client in clients {
        verified += client.await.map_err(|e| format!("client: {e}"))?;
    }
    let echoed = server.await.map_err(|e| format!("server: {e}"))?;
    let sample = Sample::elapsed(started);
    let expected = connections * trips * ECHO_MESSAGE as u64;
    check("bytes echoed back intact", verified, expected)?;
    check("bytes echoed by the server", echoed, expected)?;
    Ok(sample)
}

/// `count` futures each sleeping 1 ms and returning its index, run
/// concurrently inside one task by the runtime's gather.
pub async fn gather_sleeps<R: Runtime>(count: u64) -> Outcome {
    let started = Instant::now();
    let futures: Vec<_> = (0..count)
        .map(|i| async move {
            R::sleep(Duration::from_millis(1)).await;
            i
        })
        .collect();
    let results = R::gather(futures).await;
    let sample = Sample::elapsed(started);
    check("results", results.len() as u64, count)?;
    let in_order = results.iter().enumerate().all(|(i, &v)| v == i as u64);
    if !in_order {
        return Err("gather returned its results out of order".to_string());
    }
    Ok(sample)
}

/// The future each task of the memory workload runs: count itself started,
/// wait on the shared receiver until the channel closes, count itself
/// finished.
// An `async move` block, not an `async fn`: the block captures the three
// handles once, where an `async fn` keeps its arguments and the body's
// copies of them apart, which makes every task 33 bytes bigger and would
// change what this benchmark has always measured.
#[allow(clippy::manual_async_fn)]
fn pending_receive(
    receiver: async_channel::Receiver<()>,
    started: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
) -> impl Future<Output = ()> + Send + 'static {
    async move {
        started.fetch_add(1, Ordering::Relaxed);
        // Closing the channel ends every receive with an error.
        let _ = receiver.recv().await;
        finished.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counters shared by the memory workload's futures.
#[derive(Default)]
struct Progress {
    started: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

impl Progress {
    fn future(&self, receiver: &async_channel::Receiver<()>) -> impl Future<Output = ()> + Send {
        pending_receive(
            receiver.clone(),
            self.started.clone(),
            self.finished.clone(),
        )
    }

    fn check_finished(&self, count: u64) -> Result<(), String> {
        check(
            "tasks that finished",
            self.finished.load(Ordering::Relaxed) as u64,
            count,
        )
    }
}

fn resident_bytes() -> Result<u64, String> {
    crate::memory::resident_bytes().map_err(|e| format!("statm: {e}"))
}

fn per_item(before: u64, after: u64, count: u64) -> Sample {
    Sample {
        value: after.saturating_sub(before) as f64 / count as f64,
        extra: None,
    }
}

/// Bytes of resident memory per task pending on a channel receive: spawns
/// `count` tasks that each wait on one shared async-channel, reads the RSS
/// before and after (once every task has been polled), then closes the
/// channel and checks that every task finished.
pub async fn pending_task_bytes<R: Runtime>(count: u64) -> Outcome {
    let (sender, receiver) = async_channel::unbounded::<()>();
    let progress = Progress::default();
    let before = resident_bytes()?;
    for _ in 0..count {
        R::spawn_detached(progress.future(&receiver));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while progress.started.load(Ordering::Relaxed) < count as usize {
        if Instant::now() > deadline {
            return Err("the spawned tasks were not all polled within 60 s".to_string());
        }
        R::yield_now().await;
    }
    let after = resident_bytes()?;
    sender.close();
    while progress.finished.load(Ordering::Relaxed) < count as usize {
        if Instant::now() > deadline {
            break;
        }
        R::yield_now().await;
    }
    progress.check_finished(count)?;
    Ok(per_item(before, after, count))
}

/// The floor of [`pending_task_bytes`]: the same futures with no runtime,
/// each in a box of its own, polled once by hand (so that each registers its
/// event listener) and kept in a vector. What a runtime adds per task comes
/// on top of this.
pub fn pending_future_bytes(count: u64) -> Outcome {
    let (sender, receiver) = async_channel::unbounded::<()>();
    let progress = Progress::default();
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let before = resident_bytes()?;
    let mut futures: Vec<_> = (0..count)
        .map(|_| Box::pin(progress.future(&receiver)))
        .collect();
    for future in &mut futures {
        if future.as_mut().poll(&mut cx).is_ready() {
            return Err("a receive on an open, empty channel completed".to_string());
        }
    }
    let after = resident_bytes()?;
    sender.close();
    for future in &mut futures {
        if future.as_mut().poll(&mut cx).is_pending() {
            return Err("a receive on a closed channel is still pending".to_string());
        }
    }
    progress.check_finished(count)?;
    Ok(per_item(before, after, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::own_sync::Closed;
    use crate::runtime::Smol;

    /// smol with a broken timer and a `spawn_local` that loses tasks: every
    /// workload that depends on them must fail its validation.
    struct Broken;

    impl Runtime for Broken {
        const NAME: &'static str = "broken";

        fn new() -> std::io::Result<Self> {
            Ok(Broken)
        }

        fn block_on<F: Future>(&self, future: F) -> F::Output {
            Smol.block_on(future)
        }

        fn spawn<F>(future: F) -> impl Future<Output = F::Output> + Send + Unpin + 'static
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            Smol::spawn(future)
        }

        fn spawn_detached<F>(future: F)
        where
            F: Future<Output = ()> + Send + 'static,
        {
            Smol::spawn_detached(future);
        }

        fn yield_now() -> impl Future<Output = ()> + Send {
            Smol::yield_now()
        }

        async fn sleep(_: Duration) {}

        async fn timeout<F>(_: Duration, _: F) -> Option<F::Output>
        where
            F: Future + Send,
        {
            None
        }
    }

    impl LocalRuntime for Broken {
        fn spawn_local_detached<F>(future: F)
        where
            F: Future<Output = ()> + 'static,
        {
            drop(future);
        }
    }

    /// async-channel, but adding one to every message it carries.
    struct AddOne;

    impl Channel for AddOne {
        type Sender = async_channel::Sender<u64>;
        type Receiver = async_channel::Receiver<u64>;

        fn channel(capacity: usize) -> (Self::Sender, Self::Receiver) {
            AsyncChannel::channel(capacity)
        }

        fn send(
            sender: &Self::Sender,
            value: u64,
        ) -> impl Future<Output = Result<(), Closed>> + Send + '_ {
            AsyncChannel::send(sender, value + 1)
        }

        fn recv(receiver: &mut Self::Receiver) -> impl Future<Output = Option<u64>> + Send + '_ {
            AsyncChannel::recv(receiver)
        }
    }

    impl OwnChannel for Broken {
        type Channel = AddOne;
    }

    /// A guard that works on a copy of the value, taken without waiting for
    /// anyone, and writes it back when dropped: a mutex with no exclusion.
    struct CopyGuard<'a> {
        mutex: &'a std::sync::Mutex<u64>,
        value: u64,
    }

    impl std::ops::Deref for CopyGuard<'_> {
        type Target = u64;

        fn deref(&self) -> &u64 {
            &self.value
        }
    }

    impl std::ops::DerefMut for CopyGuard<'_> {
        fn deref_mut(&mut self) -> &mut u64 {
            &mut self.value
        }
    }

    impl Drop for CopyGuard<'_> {
        fn drop(&mut self) {
            *self.mutex.lock().unwrap() = self.value;
        }
    }

    impl OwnMutex for Broken {
        type Mutex = std::sync::Mutex<u64>;
        type Guard<'a> = CopyGuard<'a>;

        fn mutex(value: u64) -> Self::Mutex {
            std::sync::Mutex::new(value)
        }

        async fn lock(mutex: &Self::Mutex) -> CopyGuard<'_> {
            let value = *mutex.lock().unwrap();
            CopyGuard { mutex, value }
        }
    }

    fn run<F: Future<Output = Outcome>>(future: F) -> Outcome {
        Smol.block_on(future)
    }

    /// Runs the workloads over each runtime's own primitives on `R`.
    fn own_sync_passes<R: OwnChannel + OwnMutex>() {
        let runtime = R::new().unwrap();
        runtime.block_on(ping_pong_own::<R>(10, 10)).unwrap();
        runtime.block_on(mutex::<R>(10, 10)).unwrap();
    }

    #[test]
    fn every_runtimes_own_channel_and_mutex_pass_their_checks() {
        own_sync_passes::<crate::corio_rt::Corio>();
        own_sync_passes::<crate::runtime::Tokio>();
        own_sync_passes::<Smol>();
    }

    #[test]
    fn a_channel_that_alters_messages_fails() {
        let error = run(ping_pong_own::<Broken>(10, 10)).unwrap_err();
        assert!(error.contains("correct answers: got 0"), "{error}");
    }

    #[test]
    fn a_mutex_without_exclusion_fails() {
        let error = run(mutex::<Broken>(10, 10)).unwrap_err();
        assert!(error.contains("found another holder"), "{error}");
    }

    #[test]
    fn a_working_runtime_passes_every_check() {
        run(spawn_join::<Smol>(1_000)).unwrap();
        run(yield_many::<Smol>(10, 10)).unwrap();
        run(ping_pong::<Smol>(10, 10)).unwrap();
        run(chain::<Smol>(1_000)).unwrap();
        run(timeout_cancel::<Smol>(1_000)).unwrap();
        let sample = run(sleeps::<Smol>(100)).unwrap();
        assert!(sample.extra.is_some_and(|late| late >= 0.0));
        run(gather_sleeps::<Smol>(100)).unwrap();
        run(tcp_echo::<Smol>(2, 10)).unwrap();
        let memory = run(pending_task_bytes::<Smol>(1_000)).unwrap();
        assert!(memory.value >= 0.0);
    }

    #[test]
    fn the_memory_floor_polls_every_future_to_its_end() {
        let floor = pending_future_bytes(1_000).unwrap();
        assert!(floor.value >= 0.0);
    }

    #[test]
    fn a_timer_that_fires_early_fails() {
        let error = run(sleeps::<Broken>(100)).unwrap_err();
        assert!(error.contains("early"), "{error}");
    }

    #[test]
    fn a_timeout_that_does_not_wait_fails() {
        let error = run(timeout_cancel::<Broken>(100)).unwrap_err();
        assert!(error.contains("got 0, expected 100"), "{error}");
    }

    #[test]
    fn a_lost_task_fails() {
        let error = run(chain::<Broken>(100)).unwrap_err();
        assert!(error.contains("dropped before its end"), "{error}");
    }
}
