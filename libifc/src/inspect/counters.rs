//! [`StreamCounters`]: one stream's counters, written by its threads and readable at any time
//! from any thread (for `/metrics` and progress bars).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::runner::{AtomicLatencyHistogram, LatencyHistogram};

/// See the module docs. Counts only grow, except `queue_depth` (a gauge).
#[derive(Debug, Default)]
pub struct StreamCounters {
    pub(super) packets_received: AtomicU64,
    pub(super) malformed_packets: AtomicU64,
    pub(super) frames_decoded: AtomicU64,
    pub(super) frames_sampled: AtomicU64,
    pub(super) frames_inferred: AtomicU64,
    pub(super) frames_dropped: AtomicU64,
    pub(super) frames_not_inferred: AtomicU64,
    pub(super) ok_frames: AtomicU64,
    pub(super) ng_frames: AtomicU64,
    pub(super) decode_errors: AtomicU64,
    pub(super) frames_damaged: AtomicU64,
    pub(super) packets_skipped: AtomicU64,
    pub(super) queue_depth: AtomicU64,
    pub(super) reconnects: AtomicU64,
    pub(super) latency: AtomicLatencyHistogram,
}

/// The counters at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CountersSnapshot {
    /// Encoded packets (access units) handed to the decoder.
    pub packets_received: u64,
    /// RTP packets that could not be used (malformed, foreign, unusable parameter sets).
    pub malformed_packets: u64,
    pub frames_decoded: u64,
    /// Chosen by the sample node (inferred, not inferred or dropped).
    pub frames_sampled: u64,
    pub frames_inferred: u64,
    /// Sampled but dropped before inference: the queue to inference was full.
    pub frames_dropped: u64,
    /// Sampled, reached inference, and failed (preprocess, infer or postprocess).
    pub frames_not_inferred: u64,
    pub ok_frames: u64,
    pub ng_frames: u64,
    /// Damaged access units and decoder failures, over every session.
    pub decode_errors: u64,
    /// Decoded pictures found damaged (by libavcodec or ifc's own analysis) and not delivered
    /// (or delivered flagged, under `Conceal`), over every session.
    pub frames_damaged: u64,
    /// Packets skipped while waiting for a key frame (after damage, or joining mid-GOP): their
    /// pictures are lost. Over every session.
    pub packets_skipped: u64,
    /// Frames waiting for inference now.
    pub queue_depth: u64,
    /// Sessions started after the first (pull cameras).
    pub reconnects: u64,
}

impl StreamCounters {
    pub fn snapshot(&self) -> CountersSnapshot {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CountersSnapshot {
            packets_received: n(&self.packets_received),
            malformed_packets: n(&self.malformed_packets),
            frames_decoded: n(&self.frames_decoded),
            frames_sampled: n(&self.frames_sampled),
            frames_inferred: n(&self.frames_inferred),
            frames_dropped: n(&self.frames_dropped),
            frames_not_inferred: n(&self.frames_not_inferred),
            ok_frames: n(&self.ok_frames),
            ng_frames: n(&self.ng_frames),
            decode_errors: n(&self.decode_errors),
            frames_damaged: n(&self.frames_damaged),
            packets_skipped: n(&self.packets_skipped),
            queue_depth: n(&self.queue_depth),
            reconnects: n(&self.reconnects),
        }
    }

    /// Decode-to-verdict latency of the inferred frames so far.
    pub fn latency(&self) -> LatencyHistogram {
        self.latency.snapshot()
    }

    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
