//! The service's [`ResultSink`]: each record (and, for the frames the document's snapshot
//! settings choose, an annotated JPEG) goes to the inspection's writer task over a bounded
//! channel. A full channel blocks the inference thread, never the ingest thread, so a slow
//! database costs inferred frames (dropped before inference and counted), never accepted
//! results.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use ifc::decode::Frame;
use ifc::pipeline::SnapshotWhen;
use ifc::runner::{encode_jpeg, FrameRecord, ResultSink, SinkError, SnapshotSink, SnapshotWriter};
use tokio::sync::mpsc;

/// One inferred frame on its way to the store.
pub struct RecordMsg {
    pub record: FrameRecord,
    /// When the verdict was made, Unix ms.
    pub wall_ms: i64,
    pub jpeg: Option<Vec<u8>>,
}

/// Keeps the last snapshot's JPEG for the sink to pick up (shared: the snapshot sink owns
/// its writer).
#[derive(Default, Clone)]
struct JpegSlot(Arc<Mutex<Option<Vec<u8>>>>);

impl SnapshotWriter for JpegSlot {
    fn write_snapshot(&mut self, _stem: &str, rgb: &[u8], width: u32, height: u32) -> Result<(), SinkError> {
        let jpeg = encode_jpeg(rgb, width, height, 85).map_err(|e| SinkError::new("snapshots", e.to_string()))?;
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(jpeg);
        Ok(())
    }
}

pub struct ChannelSink {
    snapshots: SnapshotSink<JpegSlot>,
    slot: JpegSlot,
    sender: mpsc::Sender<RecordMsg>,
}

impl ChannelSink {
    pub fn new(sender: mpsc::Sender<RecordMsg>, when: Option<SnapshotWhen>, max_per_minute: Option<u32>) -> Self {
        let slot = JpegSlot::default();
        Self { snapshots: SnapshotSink::new(slot.clone(), when, max_per_minute), slot, sender }
    }
}

impl ResultSink for ChannelSink {
    fn write(&mut self, record: &FrameRecord, frame: &Frame) -> Result<bool, SinkError> {
        let wrote = self.snapshots.write(record, frame)?;
        let jpeg = if wrote { self.slot.0.lock().unwrap_or_else(PoisonError::into_inner).take() } else { None };
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_millis()).ok())
            .unwrap_or(0);
        self.sender
            .blocking_send(RecordMsg { record: record.clone(), wall_ms, jpeg })
            .map_err(|_| SinkError::new("service", "the result writer has stopped"))?;
        Ok(wrote)
    }
}
