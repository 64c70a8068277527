//! MP4 (ISO/IEC 14496-12) and its fragmented form (CMAF, ISO/IEC 23000-19).
//!
//! - [`demux`]: reads progressive and fragmented MP4 into [`Sample`]s.
//! - [`fmp4`]: writes an init segment and media segments.
//! - [`segmenter`]: cuts a sample stream into segments at random-access points.

#![forbid(unsafe_code)]

mod box_reader;
mod box_writer;
pub mod demux;
pub mod fmp4;
pub mod segmenter;

use bytes::Bytes;

/// One access unit in MP4 form: length-prefixed NAL units and timing in the track's timescale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Length-prefixed NAL units (the sample's bytes in `mdat`); shares the input's memory.
    pub data: Bytes,
    /// Decode time, in track timescale ticks.
    pub dts: i64,
    /// Presentation time minus decode time (the composition offset), in ticks; may be negative.
    pub cts_offset: i32,
    /// Duration in ticks.
    pub duration: u32,
    /// A sync sample (random-access point).
    pub is_sync: bool,
}

impl Sample {
    pub fn pts(&self) -> i64 {
        self.dts + i64::from(self.cts_offset)
    }
}
