//! Reconnect delays for pull cameras: exponential backoff with jitter, sans-IO (the caller
//! sleeps; the random source is passed in, so tests pin the sequence).

/// How a pull camera retries after a failed or ended session.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// Delay before the first retry. Default 500 ms.
    pub initial_delay_ms: u64,
    /// The delay never grows past this. Default 30 s.
    pub max_delay_ms: u64,
    /// Each consecutive failure multiplies the delay by this (at least 1). Default 2.
    pub multiplier: f64,
    /// Each delay is drawn uniformly from [delay × (1 − jitter), delay]: cameras that failed
    /// together (a switch rebooting) do not all retry in the same instant. 0–1, default 0.3.
    pub jitter: f64,
    /// Give up after this many consecutive failed attempts (`None`: never, a camera on a
    /// line is expected back). Default `None`.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self { initial_delay_ms: 500, max_delay_ms: 30_000, multiplier: 2.0, jitter: 0.3, max_attempts: None }
    }
}

impl ReconnectPolicy {
    /// The delay before retry number `attempt` (1 for the first retry), `unit` a uniform
    /// random number in [0, 1) that picks the jitter.
    pub fn delay_ms(&self, attempt: u32, unit: f64) -> u64 {
        let growth = self.multiplier.max(1.0).powi(attempt.saturating_sub(1).min(64) as i32);
        let ceiling = (self.initial_delay_ms as f64 * growth).min(self.max_delay_ms as f64);
        let jitter = if self.jitter.is_finite() { self.jitter.clamp(0.0, 1.0) } else { 0.0 };
        let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
        (ceiling * (1.0 - jitter * unit)).round() as u64
    }

    /// Whether `attempt` (1-based) may still be made.
    pub fn allows(&self, attempt: u32) -> bool {
        self.max_attempts.is_none_or(|max| attempt <= max)
    }
}

/// A small xorshift64* generator for jitter: not for secrets, only to spread retries.
#[derive(Debug, Clone)]
pub struct JitterRng(u64);

impl JitterRng {
    /// `seed` 0 is replaced by a fixed odd constant (xorshift must not start at 0).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// Seeded from the wall clock's nanoseconds and the stream id: streams started together
    /// still differ.
    pub fn from_time(stream_id: u64) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self::new(nanos ^ stream_id.wrapping_mul(0x2545_f491_4f6c_dd1d))
    }

    /// Uniform in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_up_to_the_ceiling() {
        let p = ReconnectPolicy { jitter: 0.0, ..ReconnectPolicy::default() };
        let delays: Vec<u64> = (1..=9).map(|a| p.delay_ms(a, 0.5)).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
        assert_eq!(p.delay_ms(u32::MAX, 0.5), 30_000, "no overflow for absurd attempt numbers");
    }

    #[test]
    fn jitter_stays_within_its_band_and_spreads_retries() {
        let p = ReconnectPolicy::default();
        let mut rng = JitterRng::new(7);
        let delays: Vec<u64> = (0..200).map(|_| p.delay_ms(3, rng.next_unit())).collect();
        assert!(delays.iter().all(|&d| (1400..=2000).contains(&d)), "{delays:?}");
        let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
        assert!(distinct.len() > 50, "jitter spreads: {} distinct delays", distinct.len());
        // Same seed, same sequence: tests that depend on the delays can pin them.
        let again: Vec<u64> = {
            let mut rng = JitterRng::new(7);
            (0..200).map(|_| p.delay_ms(3, rng.next_unit())).collect()
        };
        assert_eq!(delays, again);
    }

    #[test]
    fn bad_numbers_do_not_panic_and_attempts_can_be_capped() {
        let p = ReconnectPolicy { multiplier: f64::NAN, jitter: f64::INFINITY, ..ReconnectPolicy::default() };
        assert_eq!(p.delay_ms(5, f64::NAN), 500);
        let capped = ReconnectPolicy { max_attempts: Some(2), ..ReconnectPolicy::default() };
        assert!(capped.allows(2) && !capped.allows(3));
        assert!(ReconnectPolicy::default().allows(u32::MAX));
    }
}
