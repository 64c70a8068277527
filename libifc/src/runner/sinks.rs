//! Where records go: [`ResultSink`] and the library's sinks for JSON Lines and snapshots. The
//! SQLite sink is `ifc_service::run_store::SqliteSink` (on the service layer's SQL library).

use super::stats::RunStats;
use super::FrameRecord;
use crate::annotate::{annotate_frame, RgbCanvas};
use crate::decode::Frame;
use crate::pipeline::SnapshotWhen;
use crate::preprocess::convert_to_rgb24;
use crate::verdict::Status;
use std::collections::VecDeque;
use std::io::Write;

/// A sink failed (a full disk, a locked database): the run stops, since results would be lost.
#[derive(Debug, thiserror::Error)]
#[error("sink {sink}: {message}")]
pub struct SinkError {
    /// `jsonl`, `sqlite`, `snapshots`, with the path when there is one.
    pub sink: String,
    pub message: String,
}

impl SinkError {
    pub fn new(sink: impl Into<String>, message: impl Into<String>) -> Self {
        Self { sink: sink.into(), message: message.into() }
    }
}

/// Takes each inferred frame's record (and the frame, for sinks that draw it).
pub trait ResultSink: Send {
    /// Returns whether a snapshot was written (for the run's counters).
    fn write(&mut self, record: &FrameRecord, frame: &Frame) -> Result<bool, SinkError>;

    /// Called once after the last frame.
    fn finish(&mut self, _stats: &RunStats) -> Result<(), SinkError> {
        Ok(())
    }
}

/// One JSON object per line ([`FrameRecord::to_json_line`]) to any writer.
pub struct JsonlSink<W: Write + Send> {
    name: String,
    out: W,
}

impl<W: Write + Send> JsonlSink<W> {
    /// `name` identifies the sink in errors (the file's path).
    pub fn new(name: impl Into<String>, out: W) -> Self {
        Self { name: name.into(), out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write + Send> ResultSink for JsonlSink<W> {
    fn write(&mut self, record: &FrameRecord, _frame: &Frame) -> Result<bool, SinkError> {
        let err = |e: &dyn std::fmt::Display| SinkError::new(format!("jsonl {}", self.name), e.to_string());
        let line = record.to_json_line().map_err(|e| err(&e))?;
        self.out.write_all(line.as_bytes()).and_then(|()| self.out.write_all(b"\n")).map_err(|e| err(&e))?;
        Ok(false)
    }

    fn finish(&mut self, _stats: &RunStats) -> Result<(), SinkError> {
        self.out.flush().map_err(|e| SinkError::new(format!("jsonl {}", self.name), e.to_string()))
    }
}

/// Encodes and stores one annotated snapshot (the CLI writes JPEG files).
pub trait SnapshotWriter: Send {
    /// `stem` is the file name without extension ([`snapshot_stem`]); `rgb` is packed RGB24.
    fn write_snapshot(&mut self, stem: &str, rgb: &[u8], width: u32, height: u32) -> Result<(), SinkError>;
}

/// `frame_000123_ng`: the frame index (six digits, more when needed) and the verdict.
pub fn snapshot_stem(record: &FrameRecord) -> String {
    let status = match record.verdict.status {
        Status::Ok => "ok",
        Status::Ng => "ng",
    };
    format!("frame_{:06}_{status}", record.frame_index)
}

/// Snapshots of chosen frames: the source frame as RGB with every detection outlined and
/// labelled ([`annotate_frame`]).
pub struct SnapshotSink<W: SnapshotWriter> {
    writer: W,
    when: SnapshotWhen,
    max_per_minute: Option<u32>,
    /// pts of the snapshots in the last minute of media time (for `max_per_minute`).
    recent_pts_90k: VecDeque<i64>,
    rgb: Vec<u8>,
}

impl<W: SnapshotWriter> SnapshotSink<W> {
    /// `when` defaults to NG frames (the document's default).
    pub fn new(writer: W, when: Option<SnapshotWhen>, max_per_minute: Option<u32>) -> Self {
        Self {
            writer,
            when: when.unwrap_or(SnapshotWhen::Ng),
            max_per_minute,
            recent_pts_90k: VecDeque::new(),
            rgb: Vec::new(),
        }
    }

    pub fn into_inner(self) -> W {
        self.writer
    }

    /// The cap counts snapshots in the last 60 s of media time (sans-IO: no wall clock), so
    /// a line stuck at NG keeps getting a few per minute rather than one per frame.
    fn under_cap(&mut self, pts_90k: Option<i64>) -> bool {
        let (Some(cap), Some(pts)) = (self.max_per_minute, pts_90k) else { return true };
        const MINUTE_90K: i64 = 60 * 90_000;
        while self.recent_pts_90k.front().is_some_and(|&t| t <= pts.saturating_sub(MINUTE_90K) || t > pts) {
            self.recent_pts_90k.pop_front();
        }
        if self.recent_pts_90k.len() >= cap as usize {
            return false;
        }
        self.recent_pts_90k.push_back(pts);
        true
    }
}

impl<W: SnapshotWriter> ResultSink for SnapshotSink<W> {
    fn write(&mut self, record: &FrameRecord, frame: &Frame) -> Result<bool, SinkError> {
        let wanted = match self.when {
            SnapshotWhen::All => true,
            SnapshotWhen::Ng => record.verdict.status == Status::Ng,
            SnapshotWhen::Ok => record.verdict.status == Status::Ok,
        };
        if !wanted || !self.under_cap(record.pts_90k) {
            return Ok(false);
        }
        let (w, h) = (frame.width(), frame.height());
        let err = |e: &dyn std::fmt::Display| SinkError::new("snapshots", format!("frame {}: {e}", record.frame_index));
        let len =
            (w as usize).checked_mul(h as usize).and_then(|n| n.checked_mul(3)).ok_or_else(|| err(&"too large"))?;
        self.rgb.resize(len, 0);
        let view = frame.view().map_err(|e| err(&e))?;
        convert_to_rgb24(&view, None, &mut self.rgb).map_err(|e| err(&e))?;
        let mut canvas = RgbCanvas::new(w, h, &mut self.rgb).map_err(|e| err(&e))?;
        annotate_frame(&mut canvas, &record.detections, &record.verdict);
        self.writer.write_snapshot(&snapshot_stem(record), &self.rgb, w, h)?;
        Ok(true)
    }
}
