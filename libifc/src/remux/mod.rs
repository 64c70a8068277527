//! Remuxing without re-encoding: raw Annex B or MP4 in, fMP4 (CMAF) segments and an HLS
//! playlist out. This is the Recorder's core; sans-IO, the caller writes the files.
//!
//! ```text
//! RawSource (Annex B → timed samples) ─┐
//!                                       ├─ SourceItem ─▶ Remuxer ─▶ Segmenter ─▶ Fmp4Muxer ─▶ RemuxOutput
//! mp4_source (MP4 → samples)   ────────┘                    └─▶ MediaPlaylist (index.m3u8)
//! ```
//!
//! `LiveSource` turns a live stream's access units (RTP) into decoder configurations and
//! packets, waiting for a random-access point at the start and after every loss.

mod live_source;
mod mp4_source;
mod parameter_sets;
mod raw_source;
pub mod raw_timing;
mod remuxer;
mod video_input;

pub use live_source::{LiveItem, LiveSource, LiveSourceStats};
pub use mp4_source::{mp4_source, Mp4Source};
pub use raw_source::{RawSource, RawSourceStats, RawTiming};
pub use remuxer::{RemuxError, RemuxOutput, RemuxStats, Remuxer};
pub use video_input::{
    input_kind, nothing_decodable_reason, sample_packet, ticks_to_90k, InputKind, VideoInput, VideoInputError,
};

use crate::codec::DecoderConfig;
use crate::mp4::Sample;

/// What a source yields, in order: a configuration before the samples that need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceItem {
    /// Decoder configuration for the samples that follow (a new init segment).
    Config(DecoderConfig),
    Sample(Sample),
}
