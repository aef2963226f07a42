//! Conversion between [`Instant`]s and the wheel's integer ticks.
//!
//! A tick is 1 ms and tick 0 starts at the driver's origin, the
//! clock's time when the driver was created. Deadlines round *up* to a tick
//! and the current time rounds *down*, so a timer is only ever seen as due
//! once its deadline has passed.

use crate::Instant;

/// The wheel's resolution: 1 ms.
const TICK_NANOS: u64 = 1_000_000;

#[derive(Debug, Clone, Copy)]
pub(crate) struct TickSource {
    origin: Instant,
}

impl TickSource {
    pub(crate) fn new(origin: Instant) -> TickSource {
        TickSource { origin }
    }

    /// The first tick at which a timer for `deadline` may fire.
    pub(crate) fn deadline_to_tick(self, deadline: Instant) -> u64 {
        let nanos = deadline.as_nanos().saturating_sub(self.origin.as_nanos());
        nanos.div_ceil(TICK_NANOS)
    }

    /// The last tick that has fully started at `now`.
    pub(crate) fn now_to_tick(self, now: Instant) -> u64 {
        now.as_nanos().saturating_sub(self.origin.as_nanos()) / TICK_NANOS
    }

    /// The instant at which `tick` starts (saturating at the end of time).
    pub(crate) fn tick_to_instant(self, tick: u64) -> Instant {
        Instant::from_nanos(
            self.origin
                .as_nanos()
                .saturating_add(tick.saturating_mul(TICK_NANOS)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_and_now_rounds_down() {
        let source = TickSource::new(Instant::from_nanos(500));
        let at = |nanos| Instant::from_nanos(nanos);
        assert_eq!(source.deadline_to_tick(at(0)), 0, "before the origin");
        assert_eq!(source.deadline_to_tick(at(500)), 0);
        assert_eq!(source.deadline_to_tick(at(501)), 1);
        assert_eq!(source.deadline_to_tick(at(500 + TICK_NANOS)), 1);
        assert_eq!(source.deadline_to_tick(at(501 + TICK_NANOS)), 2);
        assert_eq!(source.now_to_tick(at(499 + TICK_NANOS)), 0);
        assert_eq!(source.now_to_tick(at(500 + TICK_NANOS)), 1);
        assert_eq!(source.tick_to_instant(2), at(500 + 2 * TICK_NANOS));
        // The end of time neither overflows nor maps before its deadline.
        let end = source.deadline_to_tick(at(u64::MAX));
        assert!(source.tick_to_instant(end) >= at(u64::MAX));
        assert_eq!(source.tick_to_instant(u64::MAX), at(u64::MAX));
    }

    #[test]
    fn a_tick_never_starts_before_its_deadline() {
        let source = TickSource::new(Instant::from_nanos(123_456));
        for nanos in (0..5 * TICK_NANOS).step_by(99_991) {
            let deadline = Instant::from_nanos(nanos);
            let tick = source.deadline_to_tick(deadline);
            assert!(source.tick_to_instant(tick) >= deadline);
            assert!(source.now_to_tick(source.tick_to_instant(tick)) >= tick);
        }
    }
}
