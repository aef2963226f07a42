//! Maintenance between iterations: polling the driver, firing timers,
//! jumping virtual time, and giving back the memory of a ready queue that a
//! burst grew.
//!
//! It runs when nothing is ready ([`Pace::Idle`]: the driver blocks until the
//! next timer, an IO event or a wake-up from another thread, after the
//! hand-off's `prepare_to_park`) and every [`EVENT_INTERVAL`] polls otherwise
//! ([`Pace::Busy`]: the driver is polled without blocking), so that a loop
//! full of ready tasks still sees its IO and timers.

use std::time::Duration;

use super::run::Stop;
use super::Local;
use crate::loom::Ordering;

/// How many entries the loop runs before it polls the driver and the timers
/// even though more work is ready (tokio uses the same figure).
///
/// ```
/// assert_eq!(corio_executor::EVENT_INTERVAL, 61);
/// ```
pub const EVENT_INTERVAL: u32 = 61;

/// Ready-queue entries whose memory the loop always keeps; beyond that, a
/// queue that a burst grew gives its memory back once it is three quarters
/// empty (see `Local::shrink_ready_queue`).
pub(super) const READY_KEPT: usize = 4096;

/// Why the loop does its maintenance now.
#[derive(Clone, Copy)]
pub(super) enum Pace {
    /// Nothing is ready: the driver may block.
    Idle,
    /// Work is ready, and `EVENT_INTERVAL` polls have passed: the driver is
    /// polled without blocking.
    Busy,
}

impl Local {
    /// Polls the driver and fires due timers. When idle, block until the next
    /// timer, an IO event or a remote wake-up (or not at all when work was
    /// handed over or a `stop` that `stop` honours is pending).
    pub(super) fn maintain(&self, pace: Pace, stop: Stop) {
        self.polls_since_maintenance.set(0);
        self.shrink_ready_queue();
        let timeout = match pace {
            Pace::Busy => Some(Duration::ZERO),
            Pace::Idle => {
                self.prepare_to_park();
                let stop_pending =
                    matches!(stop, Stop::Honour) && self.shared.stopping.load(Ordering::Acquire);
                if stop_pending || !self.ready.borrow().is_empty() {
                    Some(Duration::ZERO)
                } else {
                    self.idle_timeout()
                }
            }
        };
        let parked = self.driver.borrow_mut().park(timeout);
        if let Err(error) = parked {
            // The driver could not wait for events; report it and go on
            // rather than take the loop down. Sleep a little so that a
            // persistent failure does not spin.
            eprintln!("corio: the event loop's driver failed to park: {error}");
            std::thread::sleep(Duration::from_millis(1));
        }
        match pace {
            // Most likely woken by a push: look at the queue itself rather
            // than wait for its flag to be seen.
            Pace::Idle => self.drain_remote_now(),
            Pace::Busy => self.drain_remote(),
        }
        let idle = matches!(pace, Pace::Idle) && self.ready.borrow().is_empty();
        if idle && self.timers.clock().is_virtual() {
            self.timers.advance_virtual();
        }
        self.timers.fire_due();
    }

    /// Gives back the memory of a ready queue that a burst grew (a million
    /// spawns make it 16 MB) once at most a quarter of it is in use, keeping
    /// room for twice what is queued: a queue that keeps growing and draining
    /// by the same amount is reallocated once per fourfold change, not at
    /// every burst.
    fn shrink_ready_queue(&self) {
        let mut ready = self.ready.borrow_mut();
        if ready.capacity() > READY_KEPT && ready.len() <= ready.capacity() / 4 {
            let keep = (2 * ready.len()).max(READY_KEPT);
            ready.shrink_to(keep);
        }
    }

    fn idle_timeout(&self) -> Option<Duration> {
        if self.timers.clock().is_virtual() && !self.timers.is_empty() {
            // Virtual time jumps after this poll of the driver; don't sleep.
            return Some(Duration::ZERO);
        }
        self.timers.park_timeout()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{EVENT_INTERVAL, READY_KEPT};

    fn ready_capacity() -> usize {
        crate::context::with_local(|local| {
            local.expect("inside the loop").ready.borrow().capacity()
        })
    }

    #[test]
    fn a_ready_queue_gives_back_the_memory_of_a_burst() {
        let mut event_loop = crate::EventLoop::with_driver(corio_core::ParkDriver::new());
        let burst = 100 * READY_KEPT;
        event_loop.run_until_complete(async move {
            let tasks: Vec<_> = (0..burst).map(|i| crate::spawn(async move { i })).collect();
            let grown = ready_capacity();
            assert!(grown >= burst, "the burst is queued at once: {grown}");
            for (i, task) in tasks.into_iter().enumerate() {
                assert_eq!(task.await.unwrap(), i);
            }
            // Enough iterations for the loop's maintenance to run.
            for _ in 0..2 * EVENT_INTERVAL {
                crate::yield_now().await;
            }
            let kept = ready_capacity();
            assert!(
                kept <= 2 * READY_KEPT,
                "the queue kept room for {kept} entries"
            );
        });
    }
}
