//! Counters of a run and its latency distribution (a fixed-size histogram: a run that never
//! ends keeps constant memory).

use super::frame_error::FrameError;
use super::latency::LatencyHistogram;
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
    /// Sampled, then dropped before inference because inference fell behind (a live stream
    /// under `OverloadPolicy::DropBeforeInference`); 0 when frames are pushed one by one.
    pub frames_dropped: u64,
    pub ok_frames: u64,
    pub ng_frames: u64,
    pub snapshots_written: u64,
    /// Bytes of inference requests sent to a server ([`crate::infer::InferBackend::request_bytes_sent`]),
    /// as of [`super::Runner::finish`]; 0 for the embedded runtime.
    pub request_bytes_sent: u64,
    /// The first reasons frames were not inferred.
    #[serde(serialize_with = "as_messages")]
    pub errors: Vec<FrameError>,
    /// Decode-to-verdict latency of the inferred frames.
    #[serde(skip)]
    pub latency: LatencyHistogram,
}

fn as_messages<S: serde::Serializer>(errors: &[FrameError], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(errors.iter().map(ToString::to_string))
}

impl RunStats {
    pub(super) fn count_verdict(&mut self, status: Status, latency_ns: u64) {
        self.frames_inferred += 1;
        match status {
            Status::Ok => self.ok_frames += 1,
            Status::Ng => self.ng_frames += 1,
        }
        self.latency.record(latency_ns);
    }

    pub(super) fn count_not_inferred(&mut self, error: FrameError) {
        self.frames_not_inferred += 1;
        if self.errors.len() < KEPT_ERRORS {
            self.errors.push(error);
        }
    }

    /// The `p`-th percentile (0–100, nearest rank) of decode-to-verdict latency, within
    /// [`LatencyHistogram::RELATIVE_ERROR`] (1.6 %); `None` before any frame was inferred.
    pub fn latency_percentile_ns(&self, p: f64) -> Option<u64> {
        self.latency.percentile_ns(p)
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame_error::StageError;
    use super::*;

    #[test]
    fn percentiles_within_the_histograms_error() {
        let mut s = RunStats::default();
        assert_eq!(s.latency_percentile_ns(50.0), None);
        for v in (1..=100).rev() {
            s.count_verdict(Status::Ok, v * 1000);
        }
        let close = |got: Option<u64>, want: u64| {
            let got = got.unwrap_or(0) as f64;
            (got - want as f64).abs() <= want as f64 * LatencyHistogram::RELATIVE_ERROR
        };
        assert!(close(s.latency_percentile_ns(50.0), 50_000), "{:?}", s.latency_percentile_ns(50.0));
        assert!(close(s.latency_percentile_ns(99.0), 99_000), "{:?}", s.latency_percentile_ns(99.0));
        assert_eq!(s.latency_percentile_ns(100.0), Some(100_000));
        assert_eq!(s.latency_percentile_ns(0.0), Some(1_000));
        assert_eq!(s.latency_percentile_ns(f64::NAN), None);
        assert_eq!((s.frames_inferred, s.ok_frames, s.ng_frames), (100, 100, 0));
    }

    #[test]
    fn keeps_only_the_first_errors() {
        let mut s = RunStats::default();
        for i in 0..10 {
            let error = StageError::MissingOutput { output: format!("e{i}") };
            s.count_not_inferred(FrameError { frame_index: i, error });
        }
        assert_eq!(s.frames_not_inferred, 10);
        let kept: Vec<u64> = s.errors.iter().map(|e| e.frame_index).collect();
        assert_eq!(kept, [0, 1, 2, 3, 4]);
        assert_eq!(s.errors[0].to_string(), "frame 0: infer: the model returned no output \"e0\"");
    }
}
