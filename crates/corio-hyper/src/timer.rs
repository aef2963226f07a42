//! [`CorioTimer`]: hyper's `rt::Timer` over corio's timers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use corio::time::Instant as CorioInstant;

/// Gives hyper corio's timers (header read timeouts, keep-alive idle
/// timeouts, HTTP/2 pings): implements [`hyper::rt::Timer`].
///
/// Its clock is the loop's: [`now`](hyper::rt::Timer::now) reads
/// [`corio::time::Instant::now`], so under a runtime built with
/// `virtual_time(true)` hyper's deadlines live on the virtual clock too and a
/// 30-second header timeout passes at once when every task is idle. Sleeps
/// are corio [`Sleep`](corio::time::Sleep)s; like every corio timer they
/// must be polled inside a corio runtime, which is where hyper polls them
/// (inside the connection's task).
///
/// `sleep(d)` counts `d` from the call, as hyper expects, not from the first
/// poll as [`corio::sleep`] does.
///
/// # Examples
///
/// ```
/// use hyper::rt::Timer;
/// use std::time::Duration;
///
/// let runtime = corio::Runtime::builder().current_thread().virtual_time(true).build()?;
/// let waited = runtime.block_on(async {
///     let timer = corio_hyper::CorioTimer::new();
///     let start = timer.now();
///     timer.sleep(Duration::from_secs(30)).await;
///     timer.now() - start
/// });
/// assert_eq!(waited, Duration::from_secs(30));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CorioTimer {
    _private: (),
}

impl CorioTimer {
    /// A timer over the current corio runtime's timers.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = hyper::server::conn::http1::Builder::new()
    ///     .timer(corio_hyper::CorioTimer::new())
    ///     .header_read_timeout(std::time::Duration::from_secs(5))
    ///     .clone();
    /// # drop(builder);
    /// ```
    pub fn new() -> CorioTimer {
        CorioTimer { _private: () }
    }
}

impl hyper::rt::Timer for CorioTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = CorioInstant::now() + duration;
        Box::pin(CorioSleep {
            inner: corio::time::sleep_until(deadline),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(CorioSleep {
            inner: corio::time::sleep_until(CorioInstant::from_std(deadline)),
        })
    }

    fn now(&self) -> Instant {
        CorioInstant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<CorioSleep>() {
            // Moves the registered timer in place instead of allocating anew.
            Some(ours) => ours
                .project()
                .inner
                .reset(CorioInstant::from_std(new_deadline)),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

pin_project_lite::pin_project! {
    /// A corio `Sleep` as hyper's `rt::Sleep` (the orphan rule forbids
    /// implementing hyper's trait on corio's type directly).
    struct CorioSleep {
        #[pin]
        inner: corio::time::Sleep,
    }
}

impl Future for CorioSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

impl hyper::rt::Sleep for CorioSleep {}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Timer;

    fn virtual_runtime() -> corio::Runtime {
        corio::Runtime::builder()
            .current_thread()
            .virtual_time(true)
            .build()
            .unwrap()
    }

    #[test]
    fn sleep_until_waits_for_the_deadline_on_the_loops_clock() {
        let elapsed = virtual_runtime().block_on(async {
            let timer = CorioTimer::new();
            let start = timer.now();
            timer.sleep_until(start + Duration::from_secs(90)).await;
            timer.now() - start
        });
        assert_eq!(elapsed, Duration::from_secs(90));
    }

    #[test]
    fn sleep_counts_from_creation() {
        let elapsed = virtual_runtime().block_on(async {
            let timer = CorioTimer::new();
            let start = timer.now();
            let sleep = timer.sleep(Duration::from_secs(10));
            corio::sleep(Duration::from_secs(4)).await;
            sleep.await;
            timer.now() - start
        });
        assert_eq!(elapsed, Duration::from_secs(10));
    }

    #[test]
    fn reset_moves_the_deadline_both_ways() {
        let (earlier, later) = virtual_runtime().block_on(async {
            let timer = CorioTimer::new();
            let start = timer.now();
            let mut sleep = timer.sleep(Duration::from_secs(100));
            timer.reset(&mut sleep, start + Duration::from_secs(5));
            sleep.as_mut().await;
            let earlier = timer.now() - start;
            timer.reset(&mut sleep, start + Duration::from_secs(20));
            sleep.await;
            (earlier, timer.now() - start)
        });
        assert_eq!(earlier, Duration::from_secs(5));
        assert_eq!(later, Duration::from_secs(20));
    }

    #[test]
    fn reset_replaces_a_foreign_sleep() {
        struct Never;
        impl Future for Never {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
                Poll::Pending
            }
        }
        impl hyper::rt::Sleep for Never {}

        let elapsed = virtual_runtime().block_on(async {
            let timer = CorioTimer::new();
            let start = timer.now();
            let mut sleep: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Never);
            timer.reset(&mut sleep, start + Duration::from_secs(3));
            sleep.await;
            timer.now() - start
        });
        assert_eq!(elapsed, Duration::from_secs(3));
    }

    #[test]
    fn sleeps_fire_on_the_multi_thread_runtime() {
        let runtime = corio::Runtime::builder()
            .multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let waited = runtime.block_on(async {
            let task = corio::spawn(async {
                let timer = CorioTimer::new();
                let start = std::time::Instant::now();
                timer.sleep(Duration::from_millis(20)).await;
                start.elapsed()
            });
            task.await.unwrap()
        });
        assert!(waited >= Duration::from_millis(20));
    }
}
