use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// The obvious definition of the level: the lowest level above which
/// `elapsed` and `when` agree.
fn reference_level(elapsed: u64, when: u64) -> usize {
    (0..LEVELS)
        .find(|&level| {
            let shift = (level as u32 + 1) * LEVEL_BITS;
            shift >= 64 || elapsed >> shift == when >> shift
        })
        .expect("the top level covers every u64")
}

#[test]
#[cfg_attr(
    miri,
    ignore = "2.5 million pairs of pure arithmetic: hours under Miri, and no unsafe code"
)]
fn level_for_matches_the_reference_on_every_small_pair_and_every_bit() {
    for elapsed in 0..512u64 {
        for when in elapsed + 1..elapsed + 5000 {
            assert_eq!(
                level_for(elapsed, when),
                reference_level(elapsed, when),
                "{elapsed} {when}"
            );
        }
    }
    // Every position of the highest differing bit, from several bases.
    for base in [
        0u64,
        1,
        63,
        64,
        4095,
        1 << 40,
        u64::MAX >> 1,
        u64::MAX - (1 << 63),
    ] {
        for bit in 0..64 {
            let when = base | (1u64 << bit);
            let elapsed = base & !(1u64 << bit);
            if when > elapsed {
                let level = level_for(elapsed, when);
                assert_eq!(level, reference_level(elapsed, when));
                assert_eq!(level, bit as usize / 6, "bit {bit} base {base}");
            }
        }
    }
    assert_eq!(level_for(0, u64::MAX), LEVELS - 1);
    assert_eq!(level_for(u64::MAX - 1, u64::MAX), 0);
}

fn advance(wheel: &mut Wheel<u32>, now: u64) -> Vec<(u64, u64, u32)> {
    let mut fired = Vec::new();
    wheel.advance_to(now, &mut fired);
    fired
        .into_iter()
        .map(|f| (f.when, f.seq, f.value))
        .collect()
}

#[test]
fn a_deadline_equal_to_now_or_in_the_past_fires_at_the_next_advance() {
    let mut wheel = Wheel::new();
    wheel.advance_to(100, &mut Vec::new());
    wheel.insert(100, 1);
    wheel.insert(3, 2);
    assert_eq!(wheel.next_expiration(), Some(100));
    // Even an advance that does not move the wheel fires them.
    let fired = advance(&mut wheel, 100);
    assert_eq!(fired.iter().map(|f| f.2).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(wheel.len(), 0);
    assert_eq!(wheel.next_expiration(), None);
}

#[test]
fn every_level_boundary_fires_exactly_on_time() {
    for level in 0..LEVELS as u32 {
        let boundary = 1u64.checked_shl(level * 6).unwrap_or(0);
        for when in [
            boundary.saturating_sub(1),
            boundary,
            boundary.saturating_add(1),
        ] {
            if when == 0 {
                continue;
            }
            let mut wheel = Wheel::new();
            wheel.insert(when, 7);
            let mut now = 0;
            // Walk along next_expiration: nothing may fire before `when`.
            loop {
                let next = wheel.next_expiration().expect("the entry is still there");
                assert!(
                    next <= when,
                    "next expiration {next} is after the deadline {when}"
                );
                let fired = advance(&mut wheel, next);
                assert!(next > now || next == 0);
                now = next;
                if !fired.is_empty() {
                    assert_eq!(fired, [(when, 0, 7)]);
                    assert_eq!(now, when);
                    break;
                }
            }
        }
    }
}

#[test]
fn far_futures_up_to_u64_max_fire_and_never_overflow() {
    let mut wheel = Wheel::new();
    wheel.advance_to(12_345, &mut Vec::new());
    wheel.insert(u64::MAX, 1);
    wheel.insert(u64::MAX - 1, 2);
    wheel.insert(1 << 63, 3);
    wheel.insert(1 << 36, 4);
    assert!(advance(&mut wheel, (1 << 36) - 1).is_empty());
    assert_eq!(advance(&mut wheel, 1 << 36), [(1 << 36, 3, 4)]);
    assert_eq!(advance(&mut wheel, u64::MAX - 2), [(1 << 63, 2, 3)]);
    assert_eq!(
        advance(&mut wheel, u64::MAX),
        [(u64::MAX - 1, 1, 2), (u64::MAX, 0, 1)]
    );
    // At the very end of time, new entries are due at once.
    wheel.insert(u64::MAX, 5);
    assert_eq!(advance(&mut wheel, u64::MAX), [(u64::MAX, 4, 5)]);
}

#[test]
fn a_big_jump_fires_everything_in_tick_order() {
    let mut wheel = Wheel::new();
    let whens = [5u64, 70, 64, 4096, 4095, 1 << 30, 3, 262_144];
    for (i, &when) in whens.iter().enumerate() {
        wheel.insert(when, i as u32);
    }
    let fired = advance(&mut wheel, 1 << 31);
    let ticks: Vec<u64> = fired.iter().map(|f| f.0).collect();
    let mut sorted = whens.to_vec();
    sorted.sort_unstable();
    assert_eq!(ticks, sorted);
}

#[test]
fn stale_keys_do_not_touch_a_reused_entry() {
    let mut wheel = Wheel::new();
    let old = wheel.insert(10, 1);
    assert_eq!(wheel.remove(old), Some(1));
    let new = wheel.insert(20, 2);
    assert_eq!(new.index, old.index, "the slab reuses the freed entry");
    assert_eq!(wheel.remove(old), None);
    assert!(wheel.get_mut(old).is_none());
    assert_eq!(wheel.get_mut(new), Some(&mut 2));
    assert_eq!(advance(&mut wheel, 20), [(20, 1, 2)]);
    assert_eq!(wheel.remove(new), None, "a fired entry cannot be removed");
}

#[test]
fn the_slab_does_not_grow_in_the_steady_state() {
    let mut wheel = Wheel::new();
    // Fewer rounds under Miri (87 s for 10,000): the steady state shows
    // after a few.
    let rounds = if cfg!(miri) { 200 } else { 10_000u64 };
    for round in 0..rounds {
        let key = wheel.insert(round * 7 + 10_000, 0u32);
        let other = wheel.insert(round + 1, 1);
        assert_eq!(wheel.remove(key), Some(0));
        wheel.advance_to(round + 1, &mut Vec::new());
        assert!(wheel.get_mut(other).is_none());
    }
    assert!(
        wheel.entries.len() <= 2,
        "slab grew to {}",
        wheel.entries.len()
    );
}

#[derive(Debug, Clone)]
enum Op {
    /// Insert at `elapsed + delta`, or at a past tick when `past`.
    Insert { delta: u64, past: bool },
    /// Cancel the n-th live entry (modulo the live count).
    Cancel(usize),
    /// Advance by `delta`.
    Advance(u64),
}

fn delta() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..70u64,
        3 => 0..5000u64,
        2 => 0..400_000u64,
        1 => (0..64u32).prop_map(|bit| 1u64 << bit),
        1 => (0..64u32).prop_map(|bit| (1u64 << bit).wrapping_sub(1)),
        1 => any::<u64>(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (delta(), proptest::bool::weighted(0.1)).prop_map(|(delta, past)| Op::Insert { delta, past }),
        2 => any::<usize>().prop_map(Op::Cancel),
        3 => delta().prop_map(Op::Advance),
    ]
}

proptest! {
    // Without failure persistence under Miri, which isolates the file system.
    #![proptest_config(corio_test_support::proptest_config())]

    /// Model: a BTreeMap from (tick, seq) to value. Every live entry fires
    /// exactly once, at the first advance whose target reaches its tick (never
    /// early, never late in ticks); cancelled entries never fire; the next
    /// expiration is never after the model's earliest tick, and equals it
    /// whenever that lies in level 0 or is due.
    #[test]
    fn prop_wheel_matches_a_sorted_map_model(ops in proptest::collection::vec(op(), 1..200)) {
        let mut wheel = Wheel::new();
        let mut model: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        let mut keys: Vec<(Key, u64)> = Vec::new();
        let mut next_value = 0u32;
        for op in ops {
            match op {
                Op::Insert { delta, past } => {
                    let now = wheel.elapsed();
                    let when = if past { now.saturating_sub(delta) } else { now.saturating_add(delta) };
                    let key = wheel.insert(when, next_value);
                    model.insert((when, key.seq()), next_value);
                    keys.push((key, when));
                    next_value += 1;
                }
                Op::Cancel(n) => {
                    if keys.is_empty() {
                        continue;
                    }
                    let (key, when) = keys.swap_remove(n % keys.len());
                    let expected = model.remove(&(when, key.seq()));
                    prop_assert_eq!(wheel.remove(key), expected);
                }
                Op::Advance(delta) => {
                    let now = wheel.elapsed().saturating_add(delta);
                    let mut fired: Vec<(u64, u64, u32)> = advance(&mut wheel, now);
                    fired.sort_unstable();
                    let mut expected = Vec::new();
                    while let Some(entry) = model.first_entry() {
                        if entry.key().0 > now {
                            break;
                        }
                        let ((when, seq), value) = entry.remove_entry();
                        expected.push((when, seq, value));
                    }
                    prop_assert_eq!(fired, expected);
                }
            }
            prop_assert_eq!(wheel.len(), model.len());
            let earliest = model.keys().next().map(|&(when, _)| when);
            let next = wheel.next_expiration();
            match earliest {
                None => prop_assert_eq!(next, None),
                Some(earliest) => {
                    let next = next.expect("a non-empty wheel has a next expiration");
                    prop_assert!(next <= earliest.max(wheel.elapsed()));
                    if earliest <= wheel.elapsed() || level_for(wheel.elapsed(), earliest) == 0 {
                        prop_assert_eq!(next, earliest.max(wheel.elapsed()));
                    }
                }
            }
        }
    }

    /// Walking the wheel along `next_expiration` reaches every entry exactly
    /// at its tick, so a driver that parks until the next expiration never
    /// fires a timer late or early.
    #[test]
    fn prop_walking_next_expiration_fires_each_entry_at_its_tick(
        whens in proptest::collection::vec(delta(), 1..40),
    ) {
        let mut wheel = Wheel::new();
        let mut expected: Vec<(u64, u64)> = Vec::new();
        for (i, &when) in whens.iter().enumerate() {
            let key = wheel.insert(when, i as u32);
            expected.push((when, key.seq()));
        }
        expected.sort_unstable();
        let mut seen = Vec::new();
        while let Some(next) = wheel.next_expiration() {
            for (when, seq, _) in advance(&mut wheel, next) {
                prop_assert_eq!(when, next);
                seen.push((when, seq));
            }
        }
        seen.sort_unstable();
        prop_assert_eq!(seen, expected);
    }
}
