//! Running inspections: one [`StreamInspection`] per inspection (libifc's ingest and inference
//! threads, never the runtime's workers), a writer task per inspection that stores its results,
//! snapshots and events, and the status every camera's source reports.
//!
//! ```text
//! camera ─▶ StreamInspection (ingest thread ─bounded queue─▶ inference thread ─▶ ChannelSink)
//!        ─bounded channel─▶ writer task ─▶ object store (snapshot) ─▶ one transaction:
//!          results row + `verdicts` outbox row ─▶ relay ─▶ bus, WebSocket feed
//! on_status ─▶ status map (API) + `camera-status` outbox row
//! ```
//!
//! A camera that fails, reconnects or sends garbage touches only its own threads and task.

mod build;
mod metrics;
mod sink;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ifc::inspect::{InspectionOptions, OverloadPolicy, SourceStatus, StreamCounters, StreamInspection};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::api::error::ApiError;
use crate::api::views::{InspectionCounters, SourceStatusView};
use crate::api::AppState;
use crate::config::CameraPolicy;
use crate::db::{now_ms, InspectionRow};

/// The product, lot and serial results are stamped with (changes while running).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    pub product: Option<String>,
    pub lot: Option<String>,
    pub serial: Option<String>,
}

/// What an inspection is doing now.
#[derive(Debug, Clone)]
pub struct LiveState {
    /// `running`, `stopped`, `failed`.
    pub state: String,
    pub error: Option<String>,
    pub source: SourceStatusView,
    pub counters: InspectionCounters,
}

struct Running {
    camera_id: String,
    inspection: Option<StreamInspection>,
    counters: Arc<StreamCounters>,
    item: Arc<Mutex<Item>>,
    writer: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Inner {
    running: HashMap<String, Running>,
    /// Why an inspection ended on its own.
    failed: HashMap<String, String>,
}

/// See the module docs.
pub struct Manager {
    inner: Mutex<Inner>,
    /// Per camera, shared with the status callbacks.
    statuses: Arc<Mutex<HashMap<String, SourceStatusView>>>,
    policy: CameraPolicy,
    next_stream_id: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Manager {
    pub fn new(policy: CameraPolicy) -> Self {
        Self {
            inner: Mutex::default(),
            statuses: Arc::default(),
            policy,
            next_stream_id: AtomicU64::new(1),
        }
    }

    /// Starts the inspection unless it runs already. Errors name what is wrong (the camera,
    /// the document's node, the model).
    pub async fn start(&self, state: &AppState, row: &InspectionRow) -> Result<(), ApiError> {
        if lock(&self.inner).running.contains_key(&row.id) {
            return Ok(());
        }
        let camera = state.db.camera(&row.camera_id).await?;
        let version = state.db.pipeline_version(&row.pipeline_id, Some(row.pipeline_version)).await?;
        let built = build::build(&camera, &version.document, &self.policy, &state.media).await?;
        let (records_tx, records_rx) = mpsc::channel(64);
        let (status_tx, status_rx) = mpsc::unbounded_channel();
        let (source, runner) = built.into_parts(records_tx)?;
        let item = Arc::new(Mutex::new(Item { product: row.product.clone(), lot: row.lot.clone(), serial: row.serial.clone() }));
        let statuses = Arc::clone(&self.statuses);
        let camera_id = camera.id.clone();
        let on_status = Box::new(move |s: SourceStatus| {
            lock(&statuses).insert(camera_id.clone(), status_view(&s));
            let _ = status_tx.send(s);
        });
        let mut options = InspectionOptions::default();
        options.queue_frames = self.policy.queue_frames.max(1);
        options.overload = OverloadPolicy::DropBeforeInference;
        options.stream_id = self.next_stream_id.fetch_add(1, Ordering::Relaxed);
        let inspection = tokio::task::spawn_blocking(move || StreamInspection::start(source, runner, options, on_status))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::invalid("camera", e.to_string()))?;
        let counters = inspection.counters();
        let writer = tokio::spawn(writer::run(
            state.clone(),
            row.id.clone(),
            camera.id.clone(),
            Arc::clone(&item),
            records_rx,
            status_rx,
        ));
        {
            let mut inner = lock(&self.inner);
            inner.failed.remove(&row.id);
            inner.running.insert(
                row.id.clone(),
                Running { camera_id: camera.id.clone(), inspection: Some(inspection), counters, item, writer: Some(writer) },
            );
        }
        writer::inspection_event(state, &row.id, &camera.id, "running", None).await;
        tracing::info!(inspection = %row.id, camera = %camera.id, "inspection started");
        Ok(())
    }

    /// Stops an inspection and waits for its results to be stored.
    pub async fn stop(&self, id: &str) {
        let Some(mut running) = lock(&self.inner).running.remove(id) else { return };
        if let Some(inspection) = running.inspection.take() {
            inspection.stop();
            let joined = tokio::task::spawn_blocking(move || inspection.join()).await;
            if let Ok(Err(e)) = joined {
                tracing::warn!(inspection = %id, error = %e, "inspection ended with an error");
            }
        }
        if let Some(writer) = running.writer.take() {
            let _ = writer.await;
        }
        lock(&self.statuses).remove(&running.camera_id);
    }

    /// Called by a writer whose inspection's threads ended by themselves (not by `stop`).
    async fn ended(&self, state: &AppState, id: &str) {
        let Some(mut running) = lock(&self.inner).running.remove(id) else { return };
        let error = match running.inspection.take() {
            Some(inspection) => match tokio::task::spawn_blocking(move || inspection.join()).await {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
            },
            None => None,
        };
        let state_name = if error.is_some() { "failed" } else { "ended" };
        if let Some(e) = &error {
            tracing::error!(inspection = %id, error = %e, "inspection failed");
            lock(&self.inner).failed.insert(id.to_owned(), e.clone());
        }
        writer::inspection_event(state, id, &running.camera_id, state_name, error.as_deref()).await;
    }

    /// Starts every inspection the store says should run (after a restart).
    pub async fn restore(&self, state: &AppState) {
        let rows = match state.db.running_inspections().await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the inspections to restart");
                return;
            }
        };
        for row in rows {
            if let Err(e) = self.start(state, &row).await {
                tracing::error!(inspection = %row.id, error = %e, "cannot restart inspection");
                lock(&self.inner).failed.insert(row.id.clone(), e.to_string());
            }
        }
    }

    /// Stops everything, waiting for results to be stored (graceful shutdown).
    pub async fn stop_all(&self) {
        let ids: Vec<String> = lock(&self.inner).running.keys().cloned().collect();
        for id in ids {
            self.stop(&id).await;
        }
    }

    pub fn set_item(&self, id: &str, product: Option<String>, lot: Option<String>, serial: Option<String>) {
        if let Some(r) = lock(&self.inner).running.get(id) {
            *lock(&r.item) = Item { product, lot, serial };
        }
    }

    /// Sets a camera's status from outside an inspection (the RTSP ingest: `stalled`).
    pub fn set_camera_status(&self, camera_id: &str, status: SourceStatusView) {
        lock(&self.statuses).insert(camera_id.to_owned(), status);
    }

    pub fn camera_status(&self, camera_id: &str) -> SourceStatusView {
        lock(&self.statuses).get(camera_id).cloned().unwrap_or_else(SourceStatusView::idle)
    }

    pub fn camera_in_use(&self, camera_id: &str) -> bool {
        lock(&self.inner).running.values().any(|r| r.camera_id == camera_id)
    }

    pub fn live_state(&self, id: &str) -> LiveState {
        let inner = lock(&self.inner);
        match inner.running.get(id) {
            Some(r) => LiveState {
                state: "running".into(),
                error: None,
                source: self.camera_status(&r.camera_id),
                counters: counters_view(&r.counters),
            },
            None => LiveState {
                state: if inner.failed.contains_key(id) { "failed" } else { "stopped" }.into(),
                error: inner.failed.get(id).cloned(),
                source: SourceStatusView::idle(),
                counters: InspectionCounters::default(),
            },
        }
    }

    /// Prometheus text for every running inspection, plus the outbox backlog.
    pub fn render_metrics(&self, outbox_backlog: i64) -> String {
        let inner = lock(&self.inner);
        let mut streams: Vec<metrics::StreamMetrics<'_>> = inner
            .running
            .iter()
            .map(|(id, r)| metrics::StreamMetrics { inspection: id, camera: &r.camera_id, counters: &r.counters })
            .collect();
        streams.sort_by_key(|s| s.inspection);
        metrics::render(&streams, outbox_backlog)
    }
}

fn counters_view(c: &StreamCounters) -> InspectionCounters {
    let s = c.snapshot();
    let latency = c.latency();
    InspectionCounters {
        packets_received: s.packets_received,
        frames_decoded: s.frames_decoded,
        frames_inferred: s.frames_inferred,
        frames_dropped: s.frames_dropped,
        frames_not_inferred: s.frames_not_inferred,
        decode_errors: s.decode_errors,
        frames_damaged: s.frames_damaged,
        reconnects: s.reconnects,
        queue_depth: s.queue_depth,
        verdict_latency_p50_ms: latency.percentile_ns(50.0).map(|ns| ns as f64 / 1e6),
        verdict_latency_p99_ms: latency.percentile_ns(99.0).map(|ns| ns as f64 / 1e6),
    }
}

pub(crate) fn status_view(s: &SourceStatus) -> SourceStatusView {
    let now = now_ms();
    let (state, next_retry_at_ms, reason) = match s {
        SourceStatus::Connecting => ("connecting", None, None),
        SourceStatus::Live => ("live", None, None),
        SourceStatus::Backoff { retry_in_ms, reason } => {
            ("backoff", Some(now.saturating_add(i64::try_from(*retry_in_ms).unwrap_or(i64::MAX))), Some(reason.clone()))
        }
        SourceStatus::Error { reason } => ("error", None, Some(reason.clone())),
        _ => ("ended", None, None),
    };
    SourceStatusView { state: state.into(), next_retry_at_ms, reason, since_ms: now }
}
