//! [`Runner`]: one decoded frame at a time through sample → preprocess → infer → postprocess
//! → rules → window → sinks.
//!
//! Batch size is 1: an inspection line wants each frame's verdict as soon as it is decoded,
//! and the embedded runtime and Triton both keep a busy CPU/GPU at batch 1 for the input
//! sizes these models take.

use super::frame_error::{FrameError, StageError};
use super::plan::{ModelBinding, RunPlan};
use super::sinks::{ResultSink, SinkError};
use super::stats::RunStats;
use super::{Clock, FrameRecord};
use crate::decode::{Frame, Sampler};
use crate::infer::InferBackend;
use crate::pipeline::PostprocessKind;
use crate::postprocess::{as_detections, classify, decode_detections, Detection, Labels, SourceMapping};
use crate::preprocess::{PreprocessError, Preprocessor};
use crate::verdict::{RuleSet, WindowAggregator};

/// What became of one pushed frame.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameOutcome {
    /// The sample node passed it over.
    Skipped,
    /// Inferred, judged and written to the sinks.
    Inferred(FrameRecord),
    /// Sampled, but preprocessing, inference or postprocessing failed; the error names the
    /// frame and the stage. Counted in [`RunStats::frames_not_inferred`].
    NotInferred(FrameError),
}

/// Runs a bound plan over decoded frames.
pub struct Runner {
    backend: Box<dyn InferBackend>,
    binding: ModelBinding,
    sampler: Sampler,
    preprocessor: Preprocessor,
    postprocess: crate::pipeline::PostprocessNode,
    labels: Option<Labels>,
    rules: RuleSet,
    window: Option<WindowAggregator>,
    sinks: Vec<Box<dyn ResultSink>>,
    clock: Box<dyn Clock>,
    stats: RunStats,
}

impl Runner {
    /// `labels`: the postprocess node's labels file, parsed by the caller (sans-IO).
    pub fn new(
        plan: &RunPlan,
        binding: ModelBinding,
        backend: Box<dyn InferBackend>,
        labels: Option<Labels>,
        sinks: Vec<Box<dyn ResultSink>>,
        clock: Box<dyn Clock>,
    ) -> Result<Self, PreprocessError> {
        let rules = plan.rules.as_ref().map_or_else(|| RuleSet { rules: Vec::new(), window: None }, |r| r.node.clone());
        Ok(Self {
            preprocessor: Preprocessor::new(binding.spec.clone())?,
            // The plan checked the rule when it read the document; a bad one samples every frame.
            sampler: Sampler::new(plan.sampling).unwrap_or_else(|_| Sampler::all()),
            backend,
            binding,
            postprocess: plan.postprocess.node.clone(),
            labels,
            window: rules.window.map(WindowAggregator::new),
            rules,
            sinks,
            clock,
            stats: RunStats::default(),
        })
    }

    pub fn stats(&self) -> &RunStats {
        &self.stats
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.backend_name()
    }

    /// See [`InferBackend::request_bytes_sent`].
    pub fn request_bytes_sent(&self) -> u64 {
        self.backend.request_bytes_sent()
    }

    /// Takes the next decoded frame (display order). `decoded_at_ns` is when the decoder
    /// handed it over, on the runner's [`Clock`]. Errors only when a sink fails.
    pub fn push_frame(&mut self, frame: &Frame, decoded_at_ns: u64) -> Result<FrameOutcome, SinkError> {
        let frame_index = self.stats.frames_decoded;
        self.stats.frames_decoded += 1;
        if !self.sampler.accept_frame(frame) {
            return Ok(FrameOutcome::Skipped);
        }
        self.infer_sampled(frame, frame_index, decoded_at_ns)
    }

    /// For a caller that samples on its own decode thread ([`Self::new_sampler`]) and hands
    /// over only the frames it kept: `frame_index` is the frame's position among all decoded
    /// frames, so records keep the numbering [`Self::push_frame`] gives.
    pub fn push_sampled_frame(
        &mut self,
        frame: &Frame,
        frame_index: u64,
        decoded_at_ns: u64,
    ) -> Result<FrameOutcome, SinkError> {
        self.stats.frames_decoded = self.stats.frames_decoded.max(frame_index.saturating_add(1));
        self.infer_sampled(frame, frame_index, decoded_at_ns)
    }

    /// A sampler for the plan's sample node, for a caller that samples before handing frames
    /// to [`Self::push_sampled_frame`] (so that a queue in between holds only wanted frames).
    pub fn new_sampler(&self) -> Sampler {
        // The plan checked the rule when it read the document; a bad one samples every frame.
        Sampler::new(self.sampler.rule()).unwrap_or_else(|_| Sampler::all())
    }

    /// Totals only the caller of [`Self::push_sampled_frame`] knows: every frame decoded, and
    /// the sampled frames it dropped before inference. Call before [`Self::finish`].
    pub fn count_stream(&mut self, frames_decoded: u64, frames_dropped: u64) {
        self.stats.frames_decoded = self.stats.frames_decoded.max(frames_decoded);
        self.stats.frames_sampled += frames_dropped.saturating_sub(self.stats.frames_dropped);
        self.stats.frames_dropped = self.stats.frames_dropped.max(frames_dropped);
    }

    /// Now on the runner's [`Clock`].
    pub fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }

    fn infer_sampled(&mut self, frame: &Frame, frame_index: u64, decoded_at_ns: u64) -> Result<FrameOutcome, SinkError> {
        self.stats.frames_sampled += 1;
        let detections = match self.infer(frame) {
            Ok(d) => d,
            Err(error) => {
                let error = FrameError { frame_index, error };
                self.stats.count_not_inferred(error.clone());
                return Ok(FrameOutcome::NotInferred(error));
            }
        };
        let verdict = self.rules.evaluate(&detections);
        let window = self.window.as_mut().zip(frame.pts_90k).map(|(w, pts)| {
            w.push_pts_90k(pts, verdict.status).unwrap_or_else(|_| {
                // Media time went backwards (a restarted stream): start the window over.
                w.reset();
                w.push_pts_90k(pts, verdict.status).unwrap_or_else(|_| w.summary())
            })
        });
        let record = FrameRecord {
            frame_index,
            pts_90k: frame.pts_90k,
            pts_s: frame.pts_90k.map(|p| p as f64 / 90_000.0),
            detections,
            verdict,
            window,
        };
        for sink in &mut self.sinks {
            if sink.write(&record, frame)? {
                self.stats.snapshots_written += 1;
            }
        }
        let latency = self.clock.now_ns().saturating_sub(decoded_at_ns);
        self.stats.count_verdict(record.verdict.status, latency);
        Ok(FrameOutcome::Inferred(record))
    }

    /// Lets every sink finish (flush files, close the run row).
    pub fn finish(&mut self) -> Result<&RunStats, SinkError> {
        self.stats.request_bytes_sent = self.backend.request_bytes_sent();
        for sink in &mut self.sinks {
            sink.finish(&self.stats)?;
        }
        Ok(&self.stats)
    }

    fn infer(&mut self, frame: &Frame) -> Result<Vec<Detection>, StageError> {
        let view = frame.view().map_err(StageError::Preprocess)?;
        let buffer = self.backend.input_buffer(self.binding.input_index, 1).map_err(StageError::Infer)?;
        let geometry = self.preprocessor.run(&view, buffer, 0).map_err(StageError::Preprocess)?;
        let outputs = self.backend.run(1).map_err(StageError::Infer)?;
        let name = &self.binding.output_name;
        let output = outputs
            .iter()
            .find(|o| &o.name == name)
            .ok_or_else(|| StageError::MissingOutput { output: name.clone() })?;
        let tensor = output.as_tensor();
        let labels = self.labels.as_ref();
        let result = if self.postprocess.kind == PostprocessKind::Classification {
            classify(&tensor, labels, &self.postprocess.classification_params())
                .map(|scores| as_detections(&scores, geometry.source_bounds()))
        } else {
            decode_detections(&tensor, labels, &self.postprocess.detection_params(), &geometry)
        };
        result.map_err(StageError::Postprocess)
    }
}
