//! [`Instant`]: a point on corio's monotonic time line.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::sync::OnceLock;
use std::time::Duration;

/// A measurement of a monotonic clock, as seen by corio's timers.
///
/// Unlike [`std::time::Instant`], it can be read from a *virtual* clock:
/// [`Instant::now`] returns the time of the timer driver entered on the
/// current thread (see [`Timers::enter`](crate::Timers::enter)), which under
/// virtual time only moves when the loop jumps it. Outside a loop it reads
/// the system's monotonic clock.
///
/// Internally it counts nanoseconds from a process-wide origin, so every
/// arithmetic operation saturates instead of panicking: adding
/// [`Duration::MAX`] gives the end of time, which is also a valid deadline
/// ("never").
///
/// # Examples
///
/// ```
/// use corio_timer::Instant;
/// use std::time::Duration;
///
/// let start = Instant::now();
/// let later = start + Duration::from_millis(5);
/// assert!(later > start);
/// assert_eq!(later - start, Duration::from_millis(5));
/// assert_eq!(start - later, Duration::ZERO); // saturates
/// assert!(start + Duration::MAX > later); // no overflow
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// Nanoseconds since [`origin`].
    nanos: u64,
}

/// The std instant that corio's `Instant(0)` stands for.
///
/// It is fixed at first use, a day earlier when the platform allows, so that
/// std instants taken shortly before the first use still convert exactly.
fn origin() -> std::time::Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(|| {
        let now = std::time::Instant::now();
        now.checked_sub(Duration::from_secs(24 * 60 * 60))
            .unwrap_or(now)
    })
}

fn saturating_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Instant {
    /// Returns the current time of the current thread's timer clock, or of
    /// the system's monotonic clock when no corio timer is entered.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = corio_timer::Instant::now();
    /// let b = corio_timer::Instant::now();
    /// assert!(b >= a);
    /// ```
    pub fn now() -> Instant {
        crate::driver::current_now().unwrap_or_else(Instant::system_now)
    }

    /// Reads the system's monotonic clock.
    pub(crate) fn system_now() -> Instant {
        Instant::from_std(std::time::Instant::now())
    }

    pub(crate) fn from_nanos(nanos: u64) -> Instant {
        Instant { nanos }
    }

    pub(crate) fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// Converts a [`std::time::Instant`]. Instants before corio's origin (at
    /// least a day before the process first used an `Instant`, where the
    /// platform allows) saturate to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::Instant;
    ///
    /// let std_now = std::time::Instant::now();
    /// assert_eq!(Instant::from_std(std_now).into_std(), std_now);
    /// ```
    pub fn from_std(instant: std::time::Instant) -> Instant {
        Instant {
            nanos: saturating_nanos(instant.saturating_duration_since(origin())),
        }
    }

    /// Converts to a [`std::time::Instant`]; the end of time maps to the
    /// latest instant the platform represents, at most 584 years ahead.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::Instant;
    /// use std::time::Duration;
    ///
    /// let now = Instant::now();
    /// assert_eq!(Instant::from_std((now + Duration::from_secs(1)).into_std()), now + Duration::from_secs(1));
    /// ```
    pub fn into_std(self) -> std::time::Instant {
        let mut offset = Duration::from_nanos(self.nanos);
        loop {
            if let Some(instant) = origin().checked_add(offset) {
                return instant;
            }
            offset /= 2;
        }
    }

    /// Returns the time elapsed from `earlier` to `self`, or zero when
    /// `earlier` is later.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::Instant;
    /// use std::time::Duration;
    ///
    /// let a = Instant::now();
    /// let b = a + Duration::from_secs(2);
    /// assert_eq!(b.duration_since(a), Duration::from_secs(2));
    /// assert_eq!(a.duration_since(b), Duration::ZERO);
    /// ```
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }

    /// The same as [`Instant::duration_since`]; the name says that it
    /// saturates.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::Instant;
    /// use std::time::Duration;
    ///
    /// let a = Instant::now();
    /// assert_eq!(a.saturating_duration_since(a + Duration::from_secs(1)), Duration::ZERO);
    /// ```
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }

    /// Returns the time elapsed since `self` on the current thread's timer
    /// clock (see [`Instant::now`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let start = corio_timer::Instant::now();
    /// assert!(start.elapsed() < std::time::Duration::from_secs(60));
    /// ```
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// Returns `self + duration`, or `None` past the end of time (about 584
    /// years after the origin).
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::Instant;
    /// use std::time::Duration;
    ///
    /// let now = Instant::now();
    /// assert!(now.checked_add(Duration::from_secs(1)).is_some());
    /// assert!(now.checked_add(Duration::MAX).is_none());
    /// ```
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        let nanos = u64::try_from(duration.as_nanos()).ok()?;
        self.nanos.checked_add(nanos).map(Instant::from_nanos)
    }

    /// Returns `self - duration`, or `None` before the origin.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio_timer::Instant;
    /// use std::time::Duration;
    ///
    /// let now = Instant::now();
    /// assert_eq!(now.checked_sub(Duration::ZERO), Some(now));
    /// assert!(now.checked_sub(Duration::MAX).is_none());
    /// ```
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        let nanos = u64::try_from(duration.as_nanos()).ok()?;
        self.nanos.checked_sub(nanos).map(Instant::from_nanos)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Instant(origin + {:?})",
            Duration::from_nanos(self.nanos)
        )
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the end of time.
    fn add(self, duration: Duration) -> Instant {
        Instant::from_nanos(self.nanos.saturating_add(saturating_nanos(duration)))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, duration: Duration) {
        *self = *self + duration;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the origin.
    fn sub(self, duration: Duration) -> Instant {
        Instant::from_nanos(self.nanos.saturating_sub(saturating_nanos(duration)))
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, duration: Duration) {
        *self = *self - duration;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Saturates at zero, like [`Instant::saturating_duration_since`].
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(instant: std::time::Instant) -> Instant {
        Instant::from_std(instant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_at_both_ends() {
        let end = Instant::from_nanos(u64::MAX);
        assert_eq!(Instant::from_nanos(5) + Duration::MAX, end);
        assert_eq!(end + Duration::from_secs(1), end);
        assert_eq!(
            Instant::from_nanos(5) - Duration::from_secs(1),
            Instant::from_nanos(0)
        );
        let mut instant = Instant::from_nanos(10);
        instant += Duration::from_nanos(5);
        instant -= Duration::from_nanos(3);
        assert_eq!(instant, Instant::from_nanos(12));
        // The end of time still converts to a std instant without panicking.
        assert!(end.into_std() >= Instant::from_nanos(0).into_std());
    }
}
