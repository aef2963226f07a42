//! Timers for corio: a hierarchical timer wheel, `Sleep`, `Timeout`, `Interval`,
//! and real and virtual clocks.
