//! [`DecoderConfig`]: the decoder configuration record of a track (ISO/IEC 14496-15:
//! `AVCDecoderConfigurationRecord` in an `avcC` box, `HEVCDecoderConfigurationRecord` in
//! `hvcC`), with the parameter sets it carries and what they say.

use bytes::Bytes;

use super::{h264, h265, Codec, VideoParams};
use crate::error::Result;

/// A track's decoder configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderConfig {
    pub codec: Codec,
    /// The record itself, exactly as stored in the `avcC` / `hvcC` box payload.
    pub record: Bytes,
    /// Size of the NAL length prefix in samples (1, 2 or 4).
    pub nal_length_size: u8,
    /// Parameter set NAL units (VPS, SPS, PPS order), without start codes or lengths.
    pub parameter_sets: Vec<Bytes>,
    /// What the first SPS says.
    pub params: VideoParams,
}

impl DecoderConfig {
    /// One picture's duration in 90 kHz ticks: from the stream's frame rate (VUI timing), else
    /// 25 fps. What a segment of one picture, or the last picture of a live stream, lasts.
    pub fn nominal_frame_duration_90k(&self) -> u32 {
        const TICKS_PER_SECOND: u64 = 90_000;
        self.params
            .frame_rate
            .filter(|r| r.num > 0 && r.den > 0)
            .and_then(|r| u32::try_from(TICKS_PER_SECOND * u64::from(r.den) / u64::from(r.num)).ok())
            .filter(|&d| d > 0)
            .unwrap_or(90_000 / 25)
    }

    /// Parses an `avcC` / `hvcC` payload.
    pub fn from_record(codec: Codec, record: Bytes) -> Result<Self> {
        match codec {
            Codec::H264 => h264::avcc::parse_record(record),
            Codec::H265 => h265::hvcc::parse_record(record),
        }
    }

    /// Builds a record (4-byte NAL lengths) from in-band parameter sets, as found in an Annex B
    /// stream. `parameter_sets` holds NAL units without start codes, in any order.
    pub fn from_parameter_sets(codec: Codec, parameter_sets: &[&[u8]]) -> Result<Self> {
        match codec {
            Codec::H264 => h264::avcc::build_record(parameter_sets),
            Codec::H265 => h265::hvcc::build_record(parameter_sets),
        }
    }

    /// The MP4 sample entry type: `avc1` / `hvc1` (parameter sets in the record).
    pub fn sample_entry_fourcc(&self) -> [u8; 4] {
        match self.codec {
            Codec::H264 => *b"avc1",
            Codec::H265 => *b"hvc1",
        }
    }

    /// The box type of the record: `avcC` / `hvcC`.
    pub fn record_fourcc(&self) -> [u8; 4] {
        match self.codec {
            Codec::H264 => *b"avcC",
            Codec::H265 => *b"hvcC",
        }
    }
}
