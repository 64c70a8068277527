//! Retries with capped exponential backoff on UNAVAILABLE (server restarting, connection reset).

use std::time::Duration;

/// How often and how patiently a call is retried when the server is unavailable.
///
/// The wait after failed attempt `n` (1-based) is `initial_backoff × 2^(n-1)`, capped at
/// `max_backoff`, then jittered down to between half and all of it. The jitter is a hash of
/// `jitter_seed` and `n`, not a random draw: runs are reproducible, and clients given different
/// seeds (e.g. one per camera) still spread their reconnects instead of arriving together.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 means no retry.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub jitter_seed: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            jitter_seed: 0,
        }
    }
}

impl RetryPolicy {
    /// A single attempt.
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    pub fn new(max_attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self { max_attempts: max_attempts.max(1), initial_backoff, max_backoff, jitter_seed: 0 }
    }

    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = seed;
        self
    }

    /// The wait after failed attempt `attempt` (1-based) before the next one.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        let uncapped = self.initial_backoff.saturating_mul(1u32 << doublings.min(31));
        let capped = uncapped.min(self.max_backoff);
        // Fraction in [0.5, 1.0] from the top 24 bits of the hash (exact in f64).
        let hash = splitmix64(self.jitter_seed ^ u64::from(attempt));
        let fraction = 0.5 + 0.5 * ((hash >> 40) as f64 / f64::from(1u32 << 24));
        capped.mul_f64(fraction).min(self.max_backoff)
    }

    /// The longest a call can spend waiting between attempts.
    pub fn total_backoff_max(&self) -> Duration {
        (1..self.max_attempts).map(|n| self.backoff(n)).sum()
    }
}

/// SplitMix64's finaliser (Steele, Lea, Flood 2014): a cheap, well-mixed hash of a counter.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_cap() {
        let policy = RetryPolicy::new(12, Duration::from_millis(10), Duration::from_millis(300));
        for attempt in 1..12 {
            let nominal = (Duration::from_millis(10) * (1 << (attempt - 1))).min(Duration::from_millis(300));
            let wait = policy.backoff(attempt);
            assert!(wait <= nominal, "attempt {attempt}: {wait:?} > {nominal:?}");
            assert!(wait >= nominal / 2, "attempt {attempt}: {wait:?} < half of {nominal:?}");
        }
        // Huge attempt numbers neither overflow nor exceed the cap.
        assert!(policy.backoff(u32::MAX) <= Duration::from_millis(300));
    }

    #[test]
    fn jitter_is_deterministic_per_seed_and_differs_between_seeds() {
        let a = RetryPolicy::default().with_jitter_seed(1);
        let b = RetryPolicy::default().with_jitter_seed(2);
        let waits_a: Vec<_> = (1..5).map(|n| a.backoff(n)).collect();
        let again: Vec<_> = (1..5).map(|n| a.clone().backoff(n)).collect();
        let waits_b: Vec<_> = (1..5).map(|n| b.backoff(n)).collect();
        assert_eq!(waits_a, again);
        assert_ne!(waits_a, waits_b);
    }

    #[test]
    fn no_retry_policy_never_waits() {
        assert_eq!(RetryPolicy::none().total_backoff_max(), Duration::ZERO);
        assert_eq!(RetryPolicy::new(0, Duration::from_secs(1), Duration::from_secs(1)).max_attempts, 1);
    }
}
