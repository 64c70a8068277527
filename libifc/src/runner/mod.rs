//! Running a pipeline: decoded frames in, one [`FrameRecord`] per inferred frame out, handed
//! to the sinks.
//!
//! The run loop (what `ifc run` does):
//!
//! 1. [`RunPlan::from_document`] picks the chain out of a validated [`PipelineDocument`];
//! 2. the caller opens the model the infer node names (any [`InferBackend`]) and
//!    [`RunPlan::bind_model`] resolves the preprocessing against its input (size, layout and
//!    element type default from the model; a document that disagrees is an error naming the
//!    node and field);
//! 3. the caller decodes the source once and passes every decoded frame, in display order, to
//!    [`Runner::push_frame`], which samples, preprocesses straight into the backend's lent
//!    input buffer, infers, postprocesses (boxes back to source pixels through the
//!    preprocessing's [`crate::preprocess::Geometry`]), judges the frame with the rule node,
//!    aggregates verdicts over the rule node's window, and hands the record to each
//!    [`ResultSink`].
//!
//! Sans-IO and clock-free: sinks sit behind [`ResultSink`] (the library's own write to any
//! `io::Write` or to a [`SnapshotWriter`]); latency is measured with a [`Clock`] the caller
//! passes in. A frame that fails to preprocess, infer or postprocess (a server down, a model
//! error) is counted as not inferred and the run goes on; only a failing sink stops it.
//!
//! [`PipelineDocument`]: crate::pipeline::PipelineDocument
//! [`InferBackend`]: crate::infer::InferBackend

#![forbid(unsafe_code)]

mod backend;
mod engine;
mod frame_error;
mod jpeg;
mod latency;
mod plan;
mod shorthand;
mod sinks;
mod stats;

#[cfg(all(test, feature = "ffmpeg"))]
mod tests;

pub use backend::{endpoint_url, open_backend};
pub use engine::{FrameOutcome, Runner};
pub use frame_error::{FrameError, Stage, StageError};
pub use jpeg::{encode_jpeg, JpegError};
pub use latency::{AtomicLatencyHistogram, LatencyHistogram};
pub use plan::{ModelBinding, Placed, RunPlan};
pub use shorthand::{shorthand_document, ShorthandBackend, ShorthandOptions};
pub use sinks::{snapshot_stem, JsonlSink, ResultSink, SinkError, SnapshotSink, SnapshotWriter};
pub use stats::RunStats;

use crate::postprocess::Detection;
use crate::verdict::{Verdict, WindowSummary};
use serde::Serialize;

/// Nanoseconds on some monotonic clock, for latency only (never written to results).
pub trait Clock: Send {
    fn now_ns(&self) -> u64;
}

/// The result of one inferred frame: a line of `results.jsonl` and a row of `results.sqlite`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameRecord {
    /// Position among decoded frames, display order, from 0.
    pub frame_index: u64,
    /// Presentation time in 90 kHz ticks and in seconds (absent when the stream has none).
    pub pts_90k: Option<i64>,
    pub pts_s: Option<f64>,
    /// Best first; boxes in source pixels.
    pub detections: Vec<Detection>,
    pub verdict: Verdict,
    /// The rule node's window ending at this frame (absent without a window).
    pub window: Option<WindowSummary>,
}

impl FrameRecord {
    /// One JSON object on one line (no trailing newline).
    pub fn to_json_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}
