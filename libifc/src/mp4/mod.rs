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
    /// Presentation time: `dts + cts_offset`. The demuxer and the remuxer's sources refuse
    /// samples whose presentation end ([`Sample::checked_end`]) does not fit in an `i64`, with
    /// an error naming the box; for a sample built by hand this saturates instead of wrapping.
    pub fn pts(&self) -> i64 {
        self.dts.saturating_add(i64::from(self.cts_offset))
    }

    /// `dts + cts_offset + duration`: where the sample stops being shown; `None` when that
    /// does not fit in an `i64` (times read from a hostile file).
    pub fn checked_end(&self) -> Option<i64> {
        self.dts.checked_add(i64::from(self.cts_offset))?.checked_add(i64::from(self.duration))
    }
}
