//! Export of a camera's time range as one MP4, without re-encoding: the segments overlapping
//! the range, read back (`remux::mp4_source`), put on one timeline and muxed again
//! (`mp4::fmp4`: one init segment, one fragment per source segment). It starts at the key
//! frame at or before the range's start and ends with the segment holding the range's end.
//!
//! Timeline: each segment's samples are placed at its wall start (the index's `start_ms`) plus
//! their media time within the segment, so segments of different feed sessions (whose media
//! clocks restart) line up by wall time; presentation 0 is the first key frame exported.

use std::path::Path;

use bytes::Bytes;
use ifc::mp4::fmp4::{Fmp4Muxer, MuxError};
use ifc::mp4::Sample;
use ifc::record::{segment_file_name, TIMESCALE_90K};
use ifc::remux::mp4_source;

use super::Recorder;
use crate::db::RecordingRow;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    #[error("no recording in the range")]
    Empty,
    #[error("segment {id}: {message}")]
    Segment { id: i64, message: String },
    #[error("the range spans two stream configurations (segment {id} changes it); export a shorter range")]
    ConfigChange { id: i64 },
    #[error("muxing: {0}")]
    Mux(#[from] MuxError),
}

/// An exported MP4.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The file's bytes in order (init segment, then each fragment's header and samples).
    pub payload: Vec<Bytes>,
    pub bytes: u64,
    /// Wall time of the first (key) frame, ms.
    pub start_ms: i64,
    /// Wall time the last segment ends, ms.
    pub end_ms: i64,
    pub frame_count: u64,
}

impl Exported {
    /// The whole file in one buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(usize::try_from(self.bytes).unwrap_or(0));
        for p in &self.payload {
            out.extend_from_slice(p);
        }
        Bytes::from(out)
    }
}

/// Wall ms → 90 kHz ticks.
fn ms_to_90k(ms: i64) -> i64 {
    ms.saturating_mul(90)
}

/// Builds the export of `from_ms..to_ms` from `rows` (the camera's live segments overlapping
/// it, oldest first). Blocking: reads files.
pub fn export_range(root: &Path, rows: &[RecordingRow], from_ms: i64) -> Result<Exported, ExportError> {
    let first_row = rows.first().ok_or(ExportError::Empty)?;
    let mut muxer: Option<(Fmp4Muxer, ifc::codec::DecoderConfig)> = None;
    let mut fragments: Vec<Bytes> = Vec::new();
    let mut base_90k: Option<i64> = None;
    let mut last_dts: Option<i64> = None;
    let mut frame_count = 0u64;
    let mut start_ms = first_row.start_ms;
    for row in rows {
        let path = Recorder::camera_dir(root, &row.camera_id).join(segment_file_name(row.id));
        let data = std::fs::read(&path)
            .map_err(|e| ExportError::Segment { id: row.id, message: format!("{}: {e}", path.display()) })?;
        let source =
            mp4_source(Bytes::from(data)).map_err(|e| ExportError::Segment { id: row.id, message: e.to_string() })?;
        if source.timescale != TIMESCALE_90K {
            return Err(ExportError::Segment {
                id: row.id,
                message: format!("timescale {} (not a recording segment)", source.timescale),
            });
        }
        let mut samples = source.samples;
        // Where this segment's media time 0 sits on the wall-time timeline.
        let wall_origin_90k = ms_to_90k(row.start_ms) - row.media_start_90k;
        if base_90k.is_none() {
            // The first segment: from the last key frame at or before the start.
            let from_90k = ms_to_90k(from_ms) - wall_origin_90k;
            let key = samples
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_sync && s.pts() <= from_90k)
                .map(|(i, _)| i)
                .next_back()
                .unwrap_or(0);
            samples.drain(..key);
            let first = samples.first().ok_or(ExportError::Segment { id: row.id, message: "no samples".into() })?;
            let first_pts = first.pts();
            base_90k = Some(wall_origin_90k + first_pts);
            start_ms = (wall_origin_90k + first_pts) / 90;
        }
        let base = base_90k.unwrap_or(0);
        let mut offset = wall_origin_90k - base;
        // Decode times must keep increasing across segments even where wall times overlap.
        if let (Some(prev), Some(first)) = (last_dts, samples.first()) {
            if first.dts + offset <= prev {
                offset += prev - (first.dts + offset) + 1;
            }
        }
        let moved: Vec<Sample> = samples.iter().map(|s| Sample { dts: s.dts + offset, ..s.clone() }).collect();
        let Some(last) = moved.last() else { continue };
        last_dts = Some(last.dts);
        let (m, config) = match &mut muxer {
            Some(m) => m,
            None => muxer.insert((Fmp4Muxer::new(&source.config, TIMESCALE_90K), source.config.clone())),
        };
        if config.record != source.config.record {
            return Err(ExportError::ConfigChange { id: row.id });
        }
        let fragment = m.media_segment(&moved)?;
        frame_count += moved.len() as u64;
        fragments.push(Bytes::from(fragment.header));
        fragments.extend(fragment.payload);
    }
    let (m, _) = muxer.ok_or(ExportError::Empty)?;
    let mut payload = vec![Bytes::from(m.init_segment())];
    payload.extend(fragments);
    let bytes = payload.iter().map(|p| p.len() as u64).sum();
    let end_ms = rows.last().map_or(start_ms, |r| r.end_ms);
    Ok(Exported { payload, bytes, start_ms, end_ms, frame_count })
}
