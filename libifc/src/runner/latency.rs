//! [`LatencyHistogram`]: a fixed-size log-linear histogram of latencies in nanoseconds, so that
//! a run that never ends keeps a constant amount of memory and a percentile costs one pass
//! over the buckets (no sorting, no growth).
//!
//! Buckets: values below 2^SUB_BITS are counted exactly; above, each power of two [2^e, 2^(e+1))
//! is split into 2^SUB_BITS equal buckets. A percentile answers the middle of its bucket,
//! clamped to the smallest and largest value recorded (which are kept exactly, and answer the
//! 0th and 100th percentiles), so it is within
//! [`LatencyHistogram::RELATIVE_ERROR`] (1/64, about 1.6 %) of the exact nearest-rank value.
//! Values from 2^MAX_EXPONENT ns (about 18 minutes) up share the last bucket.
//!
//! [`AtomicLatencyHistogram`] is the same layout with atomic counters, written by one thread
//! and read at any time by others (for `/metrics`).

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};

const SUB_BITS: u32 = 5;
const SUB_BUCKETS: usize = 1 << SUB_BITS;
/// Exponents SUB_BITS..MAX_EXPONENT get their own sub-buckets.
const MAX_EXPONENT: u32 = 40;
const BUCKETS: usize = SUB_BUCKETS + (MAX_EXPONENT - SUB_BITS) as usize * SUB_BUCKETS;

fn bucket_of(value_ns: u64) -> usize {
    if value_ns < SUB_BUCKETS as u64 {
        return value_ns as usize;
    }
    let exponent = 63 - value_ns.leading_zeros();
    if exponent >= MAX_EXPONENT {
        return BUCKETS - 1;
    }
    let sub = (value_ns >> (exponent - SUB_BITS)) as usize & (SUB_BUCKETS - 1);
    SUB_BUCKETS + (exponent - SUB_BITS) as usize * SUB_BUCKETS + sub
}

/// The smallest value of bucket `i` and its width.
fn bucket_range(i: usize) -> (u64, u64) {
    if i < SUB_BUCKETS {
        return (i as u64, 1);
    }
    let exponent = SUB_BITS + ((i - SUB_BUCKETS) / SUB_BUCKETS) as u32;
    let sub = ((i - SUB_BUCKETS) % SUB_BUCKETS) as u64;
    let width = 1u64 << (exponent - SUB_BITS);
    ((1u64 << exponent) + sub * width, width)
}

/// See the module docs.
#[derive(Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
    min_ns: u64,
    max_ns: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self { counts: vec![0; BUCKETS], total: 0, min_ns: u64::MAX, max_ns: 0 }
    }
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.total)
            .field("p50_ns", &self.percentile_ns(50.0))
            .field("p99_ns", &self.percentile_ns(99.0))
            .field("max_ns", &self.max_ns())
            .finish()
    }
}

impl LatencyHistogram {
    /// How far [`Self::percentile_ns`] may be from the exact nearest-rank value, relative to it.
    pub const RELATIVE_ERROR: f64 = 1.0 / 64.0;

    pub fn record(&mut self, value_ns: u64) {
        self.counts[bucket_of(value_ns)] += 1;
        self.total += 1;
        self.min_ns = self.min_ns.min(value_ns);
        self.max_ns = self.max_ns.max(value_ns);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max_ns(&self) -> Option<u64> {
        (self.total > 0).then_some(self.max_ns)
    }

    /// The `p`-th percentile (0–100, nearest rank) within [`Self::RELATIVE_ERROR`]; `None`
    /// when empty or `p` is not a number.
    pub fn percentile_ns(&self, p: f64) -> Option<u64> {
        if self.total == 0 || !p.is_finite() {
            return None;
        }
        let rank = (((p.clamp(0.0, 100.0) / 100.0) * self.total as f64).ceil() as u64).clamp(1, self.total);
        // The extremes are kept exactly.
        if rank == 1 {
            return Some(self.min_ns);
        }
        if rank == self.total {
            return Some(self.max_ns);
        }
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (low, width) = bucket_range(i);
                return Some((low + width / 2).clamp(self.min_ns, self.max_ns));
            }
        }
        Some(self.max_ns)
    }

    /// Buckets with at least one value: (smallest value of the bucket, count), ascending; for
    /// exporting (Prometheus wants cumulative counts per upper bound).
    pub fn nonempty_buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.counts.iter().enumerate().filter(|(_, n)| **n > 0).map(|(i, n)| (bucket_range(i).0, *n))
    }
}

/// [`LatencyHistogram`] with atomic counters: one writer, any number of readers.
pub struct AtomicLatencyHistogram {
    counts: Vec<AtomicU64>,
    total: AtomicU64,
    min_ns: AtomicU64,
    max_ns: AtomicU64,
}

impl Default for AtomicLatencyHistogram {
    fn default() -> Self {
        Self {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            min_ns: AtomicU64::new(u64::MAX),
            max_ns: AtomicU64::new(0),
        }
    }
}

impl std::fmt::Debug for AtomicLatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl AtomicLatencyHistogram {
    pub fn record(&self, value_ns: u64) {
        self.counts[bucket_of(value_ns)].fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
        self.min_ns.fetch_min(value_ns, Ordering::Relaxed);
        self.max_ns.fetch_max(value_ns, Ordering::Relaxed);
    }

    /// A copy of the counts now (a reader racing the writer may see a value counted in one
    /// field and not yet in another; the total is recomputed from the buckets).
    pub fn snapshot(&self) -> LatencyHistogram {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let total = counts.iter().sum();
        let (min_ns, max_ns) = (self.min_ns.load(Ordering::Relaxed), self.max_ns.load(Ordering::Relaxed));
        LatencyHistogram { counts, total, min_ns, max_ns }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact nearest-rank percentile of `values`, the reference the histogram approximates.
    fn exact(values: &[u64], p: f64) -> u64 {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    #[test]
    fn percentiles_within_the_stated_relative_error() {
        // Latencies spread over six decades, as a run with a stalled server would see.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let values: Vec<u64> = (0..20_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let decades = (state % 6_000) as f64 / 1000.0;
                (1_000.0 * 10f64.powf(decades)) as u64
            })
            .collect();
        let mut h = LatencyHistogram::default();
        for &v in &values {
            h.record(v);
        }
        for p in [0.0, 1.0, 25.0, 50.0, 90.0, 99.0, 99.9, 100.0] {
            let (got, want) = (h.percentile_ns(p).unwrap() as f64, exact(&values, p) as f64);
            assert!((got - want).abs() <= want * LatencyHistogram::RELATIVE_ERROR, "p{p}: {got} vs {want}");
        }
        assert_eq!(h.percentile_ns(0.0), values.iter().min().copied());
        assert_eq!(h.percentile_ns(100.0), values.iter().max().copied());
        assert_eq!(h.count(), 20_000);
    }

    #[test]
    fn small_values_are_exact_and_huge_ones_do_not_overflow() {
        let mut h = LatencyHistogram::default();
        assert_eq!(h.percentile_ns(50.0), None);
        for v in [0, 1, 31, u64::MAX] {
            h.record(v);
        }
        assert_eq!(h.percentile_ns(25.0), Some(0));
        assert_eq!(h.percentile_ns(50.0), Some(1));
        assert_eq!(h.percentile_ns(75.0), Some(31));
        assert_eq!(h.percentile_ns(100.0), Some(u64::MAX));
        assert_eq!(h.percentile_ns(f64::NAN), None);
    }

    #[test]
    fn buckets_tile_the_range_without_gaps() {
        let mut expected_low = 0;
        for i in 0..BUCKETS {
            let (low, width) = bucket_range(i);
            assert_eq!(low, expected_low, "bucket {i}");
            assert_eq!(bucket_of(low), i);
            assert_eq!(bucket_of(low + width - 1), i);
            expected_low = low + width;
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn memory_stays_fixed_however_many_values() {
        let mut h = LatencyHistogram::default();
        for v in 0..1_000_000u64 {
            h.record(v * 997);
        }
        assert_eq!(h.counts.len(), BUCKETS);
    }

    #[test]
    fn the_atomic_twin_snapshots_the_same_counts() {
        let (a, mut h) = (AtomicLatencyHistogram::default(), LatencyHistogram::default());
        for v in [5, 500, 50_000, 5_000_000] {
            a.record(v);
            h.record(v);
        }
        assert_eq!(a.snapshot(), h);
    }
}
