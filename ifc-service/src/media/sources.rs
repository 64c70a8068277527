//! Pull and file cameras ingested once: a [`SourcePump`] per camera, started by the first
//! [`SourceLease`] and stopped when the last one is dropped.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ifc::inspect::{InspectError, ReconnectPolicy, SourcePump, SourceStatus, StreamCounters, StreamSource};
use ifc::rtsp::RtspOptions;

use super::{lock, MediaHub};
use crate::camera_policy::url_with_credentials;
use crate::config::CameraPolicy;
use crate::db::CameraRow;

/// A camera's running pump and how many consumers hold it.
#[derive(Debug)]
pub(super) struct Pumped {
    pump: PumpHandle,
    leases: usize,
}

/// [`SourcePump`] is not `Debug`; the hub is.
struct PumpHandle(SourcePump);

impl std::fmt::Debug for PumpHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourcePump")
    }
}

/// What the camera's pump reads: a file replayed live, or the RTSP camera with reconnects.
/// `None` for cameras nothing pulls (pushed cameras).
pub fn pull_source(camera: &CameraRow, policy: &CameraPolicy) -> Option<StreamSource> {
    match camera.kind.as_str() {
        "file" => Some(StreamSource::File { path: camera.url.clone().into(), fps: None, realtime: true, looped: true }),
        "rtsp" => {
            let mut reconnect = ReconnectPolicy::default();
            reconnect.initial_delay_ms = policy.reconnect_initial_ms;
            reconnect.max_delay_ms = policy.reconnect_max_ms;
            Some(StreamSource::Rtsp {
                url: url_with_credentials(&camera.url, camera.username.as_deref(), camera.password.as_deref()),
                options: RtspOptions::default(),
                reconnect,
            })
        }
        _ => None,
    }
}

/// A consumer's hold on a camera's ingest: the pump runs while any lease lives.
#[derive(Debug)]
pub struct SourceLease {
    hub: Arc<MediaHub>,
    camera_id: String,
    counters: Arc<StreamCounters>,
}

impl SourceLease {
    /// The pump's counters (packets published, reconnects, malformed packets).
    pub fn counters(&self) -> &StreamCounters {
        &self.counters
    }
}

impl MediaHub {
    /// Holds the camera's ingest, starting its pump if this is the first consumer. Blocking (a
    /// file camera's file is opened here, so that a missing file is an error now): call it
    /// off the async workers. `Ok(None)` for a camera without a pull source (pushed).
    pub fn acquire(self: &Arc<Self>, camera: &CameraRow, policy: &CameraPolicy) -> Result<Option<SourceLease>, InspectError> {
        let Some(source) = pull_source(camera, policy) else { return Ok(None) };
        let mut pumps = lock(&self.pumps);
        if let Some(pumped) = pumps.get_mut(&camera.id) {
            pumped.leases += 1;
            let counters = pumped.pump.0.counters();
            return Ok(Some(SourceLease { hub: Arc::clone(self), camera_id: camera.id.clone(), counters }));
        }
        let hub = Arc::clone(self);
        let camera_id = camera.id.clone();
        let on_status = Box::new(move |status: SourceStatus| hub.report_status(&camera_id, status));
        let stream_id = self.next_stream_id.fetch_add(1, Ordering::Relaxed);
        let pump = SourcePump::start(source, self.feed(&camera.id), stream_id, None, on_status)?;
        let counters = pump.counters();
        pumps.insert(camera.id.clone(), Pumped { pump: PumpHandle(pump), leases: 1 });
        tracing::info!(camera = %camera.id, stream_id, "camera ingest started");
        Ok(Some(SourceLease { hub: Arc::clone(self), camera_id: camera.id.clone(), counters }))
    }
}

impl Drop for SourceLease {
    fn drop(&mut self) {
        let mut pumps = lock(&self.hub.pumps);
        let Some(pumped) = pumps.get_mut(&self.camera_id) else { return };
        pumped.leases -= 1;
        if pumped.leases > 0 {
            return;
        }
        let Some(Pumped { pump: PumpHandle(pump), .. }) = pumps.remove(&self.camera_id) else { return };
        drop(pumps);
        pump.stop();
        // Joining waits up to a camera read's timeout: on a thread of its own, never the caller's.
        let hub = Arc::clone(&self.hub);
        let camera_id = self.camera_id.clone();
        let joined = std::thread::Builder::new().name("ifc-source-stop".into()).spawn(move || {
            if let Err(e) = pump.join() {
                tracing::warn!(camera = %camera_id, error = %e, "camera ingest ended with an error");
            }
            // Unless a new consumer started the camera again meanwhile.
            if !lock(&hub.pumps).contains_key(&camera_id) {
                hub.forget_status(&camera_id);
            }
            tracing::info!(camera = %camera_id, "camera ingest stopped");
        });
        if let Err(e) = joined {
            tracing::warn!(error = %e, "cannot start a thread to join a camera's ingest");
        }
    }
}
