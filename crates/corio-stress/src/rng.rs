//! A small xorshift64* generator: seeded, reproducible, no dependency.

/// Marsaglia's xorshift64* (Vigna's multiplier); plenty for choosing
/// deadlines and fates, useless for anything secret.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (zero is replaced: xorshift never leaves it).
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound` (`bound > 0`; the modulo bias is irrelevant
    /// here).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

#[cfg(test)]
mod tests {
    use super::XorShift;

    #[test]
    fn the_same_seed_gives_the_same_numbers_and_they_cover_the_range() {
        let (mut a, mut b) = (XorShift::new(7), XorShift::new(7));
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let n = a.below(10);
            assert_eq!(n, b.below(10));
            seen[n as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "every value of 0..10 comes up");
        assert_ne!(XorShift::new(0).next_u64(), 0);
    }
}
