//! [`Clock`]: where the timer driver reads the time.

use crate::Instant;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The source of time of a timer driver: the system's monotonic clock, or a
/// virtual clock that moves only when told to.
///
/// Clones share one clock: advancing a clone of a virtual clock advances
/// them all.
///
/// # Examples
///
/// ```
/// use corio_timer::Clock;
/// use std::time::Duration;
///
/// let clock = Clock::manual();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(clock.now() - start, Duration::from_secs(3600));
/// assert!(clock.is_virtual() && !Clock::real().is_virtual());
/// ```
#[derive(Debug, Clone)]
pub struct Clock {
    kind: ClockKind,
}

#[derive(Debug, Clone)]
enum ClockKind {
    Real,
    /// The current time as nanoseconds of [`Instant`]; only ever increases.
    Virtual(Arc<AtomicU64>),
}

impl Clock {
    /// The system's monotonic clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = corio_timer::Clock::real();
    /// assert!(clock.now() <= clock.now());
    /// ```
    pub fn real() -> Clock {
        Clock {
            kind: ClockKind::Real,
        }
    }

    /// A virtual clock: it starts at the system's current time and moves
    /// only through [`Clock::advance`], [`Clock::advance_to`] or
    /// [`Timers::advance_virtual`](crate::Timers::advance_virtual).
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = corio_timer::Clock::manual();
    /// let t = clock.now();
    /// std::thread::sleep(std::time::Duration::from_millis(2));
    /// assert_eq!(clock.now(), t);
    /// ```
    #[doc(alias = "virtual")]
    pub fn manual() -> Clock {
        let now = Instant::system_now().as_nanos();
        Clock {
            kind: ClockKind::Virtual(Arc::new(AtomicU64::new(now))),
        }
    }

    /// Returns `true` for a virtual clock (made by [`Clock::manual`]).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(corio_timer::Clock::manual().is_virtual());
    /// ```
    pub fn is_virtual(&self) -> bool {
        matches!(self.kind, ClockKind::Virtual(_))
    }

    /// Reads the clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = corio_timer::Clock::real();
    /// let a = clock.now();
    /// assert!(clock.now() >= a);
    /// ```
    pub fn now(&self) -> Instant {
        match &self.kind {
            ClockKind::Real => Instant::system_now(),
            ClockKind::Virtual(nanos) => Instant::from_nanos(nanos.load(Ordering::Acquire)),
        }
    }

    /// Moves a virtual clock forward by `duration` (saturating at the end of
    /// time). Does nothing to a real clock, which cannot be moved.
    ///
    /// Timers due at the new time fire at the driver's next
    /// [`Timers::fire_due`](crate::Timers::fire_due).
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::Clock;
    /// use std::time::Duration;
    ///
    /// let clock = Clock::manual();
    /// let t = clock.now();
    /// clock.advance(Duration::from_millis(10));
    /// assert_eq!(clock.now(), t + Duration::from_millis(10));
    /// ```
    pub fn advance(&self, duration: Duration) {
        if let ClockKind::Virtual(nanos) = &self.kind {
            let step = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
            // `fetch_update` with a closure that always returns `Some` cannot
            // fail.
            let _ = nanos.fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(step))
            });
        }
    }

    /// Moves a virtual clock forward to `instant`; an instant in the past
    /// changes nothing (a clock never goes back). Does nothing to a real
    /// clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::Clock;
    /// use std::time::Duration;
    ///
    /// let clock = Clock::manual();
    /// let target = clock.now() + Duration::from_secs(5);
    /// clock.advance_to(target);
    /// clock.advance_to(target - Duration::from_secs(1));
    /// assert_eq!(clock.now(), target);
    /// ```
    pub fn advance_to(&self, instant: Instant) {
        if let ClockKind::Virtual(nanos) = &self.kind {
            nanos.fetch_max(instant.as_nanos(), Ordering::AcqRel);
        }
    }
}

impl Default for Clock {
    /// The real clock.
    fn default() -> Clock {
        Clock::real()
    }
}
