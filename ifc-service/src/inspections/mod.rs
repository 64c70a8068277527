//! Running inspections: one [`StreamInspection`] per inspection (libifc's ingest and inference
//! threads, never the runtime's workers), a writer task per inspection that stores its results,
//! snapshots and events, and the status every camera's source reports.
//!
//! ```text
//! camera's feed (MediaHub) ─▶ StreamInspection (ingest thread ─bounded queue─▶ inference
//!   thread ─▶ ChannelSink) ─bounded channel─▶ writer task ─▶ object store (snapshot) ─▶ one
//!   transaction: results row + `verdicts` outbox row ─▶ relay ─▶ bus, WebSocket feed
//! ```
//!
//! An inspection holds a [`SourceLease`] on its camera while it runs: the camera is ingested
//! once (its pump reports the camera's status), however many inspections and recorders
//! consume it.
//!
//! A camera that fails, reconnects or sends garbage touches only its own threads and task.

mod build;
mod metrics;
mod sink;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ifc::inspect::{InspectionOptions, OverloadPolicy, SourceStatus, StreamCounters, StreamInspection, StreamSource};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::api::error::ApiError;
use crate::api::views::InspectionCounters;
use crate::api::AppState;
use crate::config::CameraPolicy;
use crate::db::InspectionRow;
use crate::media::{MediaHub, SourceLease};

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
    pub source: crate::api::views::SourceStatusView,
    pub counters: InspectionCounters,
}

struct Running {
    camera_id: String,
    inspection: Option<StreamInspection>,
    counters: Arc<StreamCounters>,
    item: Arc<Mutex<Item>>,
    writer: Option<JoinHandle<()>>,
    /// The camera's ingest, held while the inspection runs (`None`: a pushed camera).
    lease: Option<SourceLease>,
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
    media: Arc<MediaHub>,
    policy: CameraPolicy,
    next_stream_id: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Manager {
    pub fn new(policy: CameraPolicy, media: Arc<MediaHub>) -> Self {
        Self {
            inner: Mutex::default(),
            media,
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
        let built = build::build(&version.document).await?;
        let (records_tx, records_rx) = mpsc::channel(64);
        let runner = built.into_runner(records_tx)?;
        let item = Arc::new(Mutex::new(Item { product: row.product.clone(), lot: row.lot.clone(), serial: row.serial.clone() }));
        let media = Arc::clone(&self.media);
        let camera_id = camera.id.clone();
        // A pulled camera's status is its pump's; a pushed camera has no pump, so the
        // inspection's view of its feed is the camera's status.
        let pushed = crate::media::pull_source(&camera, &self.policy).is_none();
        let on_status = Box::new(move |s: SourceStatus| {
            if pushed || matches!(s, SourceStatus::Error { .. }) {
                media.report_status(&camera_id, s);
            }
        });
        let mut options = InspectionOptions::default();
        options.queue_frames = self.policy.queue_frames.max(1);
        options.overload = OverloadPolicy::DropBeforeInference;
        options.stream_id = self.next_stream_id.fetch_add(1, Ordering::Relaxed);
        let source = StreamSource::Feed(self.media.feed(&camera.id));
        let (media, policy, for_lease) = (Arc::clone(&self.media), self.policy.clone(), camera.clone());
        // Subscribed first, then the camera's ingest held: the inspection sees its first packets.
        let (inspection, lease) = tokio::task::spawn_blocking(move || {
            let inspection = StreamInspection::start(source, runner, options, on_status)?;
            match media.acquire(&for_lease, &policy) {
                Ok(lease) => Ok((inspection, lease)),
                Err(e) => {
                    inspection.stop();
                    let _ = inspection.join();
                    Err(e)
                }
            }
        })
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
        ));
        {
            let mut inner = lock(&self.inner);
            inner.failed.remove(&row.id);
            inner.running.insert(
                row.id.clone(),
                Running { camera_id: camera.id.clone(), inspection: Some(inspection), counters, item, writer: Some(writer), lease },
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

    pub fn camera_in_use(&self, camera_id: &str) -> bool {
        lock(&self.inner).running.values().any(|r| r.camera_id == camera_id)
    }

    pub fn live_state(&self, id: &str) -> LiveState {
        let inner = lock(&self.inner);
        match inner.running.get(id) {
            Some(r) => LiveState {
                state: "running".into(),
                error: None,
                source: self.media.camera_status(&r.camera_id),
                counters: counters_view(&r.counters, r.lease.as_ref()),
            },
            None => LiveState {
                state: if inner.failed.contains_key(id) { "failed" } else { "stopped" }.into(),
                error: inner.failed.get(id).cloned(),
                source: crate::api::views::SourceStatusView::idle(),
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

/// An inspection's counters; reconnects are its camera's (the pump's).
fn counters_view(c: &StreamCounters, lease: Option<&SourceLease>) -> InspectionCounters {
    let s = c.snapshot();
    let reconnects = lease.map_or(s.reconnects, |l| l.counters().snapshot().reconnects);
    let latency = c.latency();
    InspectionCounters {
        packets_received: s.packets_received,
        frames_decoded: s.frames_decoded,
        frames_inferred: s.frames_inferred,
        frames_dropped: s.frames_dropped,
        frames_not_inferred: s.frames_not_inferred,
        decode_errors: s.decode_errors,
        frames_damaged: s.frames_damaged,
        reconnects,
        queue_depth: s.queue_depth,
        verdict_latency_p50_ms: latency.percentile_ns(50.0).map(|ns| ns as f64 / 1e6),
        verdict_latency_p99_ms: latency.percentile_ns(99.0).map(|ns| ns as f64 / 1e6),
    }
}
