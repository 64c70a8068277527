//! Counters of a run and its latency distribution.

use crate::verdict::Status;
use serde::Serialize;

/// How many reasons for frames not inferred are kept (the first ones: later ones repeat).
const KEPT_ERRORS: usize = 5;

/// What a run did, for the closing summary and the `runs` row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunStats {
    pub frames_decoded: u64,
    /// Chosen by the sample node.
    pub frames_sampled: u64,
    pub frames_inferred: u64,
    /// Sampled but not inferred (preprocessing, inference or postprocessing failed).
    pub frames_not_inferred: u64,
    pub ok_frames: u64,
    pub ng_frames: u64,
    pub snapshots_written: u64,
    /// The first reasons frames were not inferred.
    pub errors: Vec<String>,
    /// Decode-to-verdict latency of each inferred frame, nanoseconds.
    #[serde(skip)]
    pub latencies_ns: Vec<u64>,
}

impl RunStats {
    pub(super) fn count_verdict(&mut self, status: Status, latency_ns: u64) {
        self.frames_inferred += 1;
        match status {
            Status::Ok => self.ok_frames += 1,
            Status::Ng => self.ng_frames += 1,
        }
        self.latencies_ns.push(latency_ns);
    }

    pub(super) fn count_not_inferred(&mut self, reason: String) {
        self.frames_not_inferred += 1;
        if self.errors.len() < KEPT_ERRORS {
            self.errors.push(reason);
        }
    }

    /// The `p`-th percentile (0–100, nearest rank) of decode-to-verdict latency; `None`
    /// before any frame was inferred.
    pub fn latency_percentile_ns(&self, p: f64) -> Option<u64> {
        let mut sorted = self.latencies_ns.clone();
        sorted.sort_unstable();
        let n = sorted.len();
        if n == 0 || !p.is_finite() {
            return None;
        }
        // Nearest rank: the smallest value with at least p % of the values at or below it.
        let rank = ((p.clamp(0.0, 100.0) / 100.0) * n as f64).ceil() as usize;
        sorted.get(rank.clamp(1, n) - 1).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s = RunStats::default();
        assert_eq!(s.latency_percentile_ns(50.0), None);
        for v in (1..=100).rev() {
            s.count_verdict(Status::Ok, v * 1000);
        }
        assert_eq!(s.latency_percentile_ns(50.0), Some(50_000));
        assert_eq!(s.latency_percentile_ns(99.0), Some(99_000));
        assert_eq!(s.latency_percentile_ns(100.0), Some(100_000));
        assert_eq!(s.latency_percentile_ns(0.0), Some(1_000));
        assert_eq!(s.latency_percentile_ns(f64::NAN), None);
        assert_eq!((s.frames_inferred, s.ok_frames, s.ng_frames), (100, 100, 0));
    }

    #[test]
    fn keeps_only_the_first_errors() {
        let mut s = RunStats::default();
        for i in 0..10 {
            s.count_not_inferred(format!("e{i}"));
        }
        assert_eq!(s.frames_not_inferred, 10);
        assert_eq!(s.errors, ["e0", "e1", "e2", "e3", "e4"]);
    }
}
