//! From a stored pipeline document to the [`Runner`] a [`StreamInspection`] needs, whose sink
//! is the inspection's channel. The camera's feed replaces the document's source node; the document's file sinks (JSONL, SQLite) are for `ifc run` and
//! ignored here; its snapshot settings choose which frames get an annotated JPEG.
//!
//! [`StreamInspection`]: ifc::inspect::StreamInspection

use std::time::Instant;

use ifc::infer::InferBackend;
use ifc::pipeline::{PipelineDocument, SnapshotWhen};
use ifc::postprocess::{parse_labels, Labels};
use ifc::runner::{open_backend, Clock, ModelBinding, RunPlan, Runner};
use tokio::sync::mpsc;

use super::sink::{ChannelSink, RecordMsg};
use crate::api::error::{ApiError, FieldError};

/// Nanoseconds since the inspection started, for latency only.
struct MonotonicClock(Instant);

impl Clock for MonotonicClock {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

pub struct Built {
    plan: RunPlan,
    binding: ModelBinding,
    backend: Box<dyn InferBackend>,
    labels: Option<Labels>,
    snapshot_when: Option<SnapshotWhen>,
    snapshot_cap: Option<u32>,
}

impl Built {
    /// The runner writing to `records`.
    pub fn into_runner(self, records: mpsc::Sender<RecordMsg>) -> Result<Runner, ApiError> {
        let sink = ChannelSink::new(records, self.snapshot_when, self.snapshot_cap);
        Runner::new(
            &self.plan,
            self.binding,
            self.backend,
            self.labels,
            vec![Box::new(sink)],
            Box::new(MonotonicClock(Instant::now())),
        )
        .map_err(|e| ApiError::invalid("preprocess", e.to_string()))
    }
}

pub async fn build(document_json: &str) -> Result<Built, ApiError> {
    let doc = PipelineDocument::from_json_str(document_json)
        .map_err(|e| ApiError::Internal(format!("stored pipeline document: {e}")))?;
    let plan = RunPlan::from_document(&doc).map_err(|errors| ApiError::Invalid {
        message: format!("the pipeline cannot run: {}", errors.first().map(ToString::to_string).unwrap_or_default()),
        details: errors
            .iter()
            .map(|e| FieldError {
                node_index: e.node.as_ref().map(|n| n.index),
                node_id: e.node.as_ref().and_then(|n| n.id.clone()),
                field: e.field.clone(),
                message: e.message.clone(),
            })
            .collect(),
    })?;
    let (snapshot_when, snapshot_cap) = plan
        .sinks
        .iter()
        .find_map(|s| s.node.snapshots.as_ref())
        .map_or((Some(SnapshotWhen::Ng), Some(30)), |s| (s.when, s.max_per_minute));
    // Loading a model or connecting to Triton blocks (Triton's client runs its own runtime):
    // off the async workers.
    tokio::task::spawn_blocking(move || {
        let node_error = |placed_index: usize, id: &str, field: &str, message: String| ApiError::Invalid {
            message: format!("nodes[{placed_index}].{field}: {message}"),
            details: vec![FieldError { node_index: Some(placed_index), node_id: Some(id.to_owned()), field: field.into(), message }],
        };
        let backend = open_backend(&plan.infer.node)
            .map_err(|e| node_error(plan.infer.index, &plan.infer.id, "infer", e.to_string()))?;
        let binding = plan.bind_model(backend.metadata()).map_err(|errors| {
            let message = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            node_error(plan.infer.index, &plan.infer.id, "infer", message)
        })?;
        let labels = match &plan.postprocess.node.labels {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    node_error(plan.postprocess.index, &plan.postprocess.id, "postprocess.labels", format!("{path}: {e}"))
                })?;
                Some(parse_labels(&text).map_err(|e| {
                    node_error(plan.postprocess.index, &plan.postprocess.id, "postprocess.labels", e.to_string())
                })?)
            }
            None => None,
        };
        Ok(Built { plan, binding, backend, labels, snapshot_when, snapshot_cap })
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}
