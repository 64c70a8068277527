//! xorshift64* (Vigna 2016): the deterministic noise of the fuzz-style tests, so that a
//! failure replays from its seed. No dependency.

pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n`; 0 when `n` is 0.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True `p` times in a hundred.
    pub(crate) fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }
}
