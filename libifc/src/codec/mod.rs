//! The codec layer: H.264 (ITU-T H.264) and H.265 (ITU-T H.265) bitstreams, sans-IO.
//!
//! - [`nal`]: NAL units over Annex B byte streams and length-prefixed (avcC/hvcC) data.
//! - [`h264`], [`h265`]: parameter sets, slice headers (what access-unit assembly and picture
//!   order need), decoder configuration records (avcC, hvcC).
//! - [`access_unit`]: groups NAL units into access units (one coded picture each).
//! - [`params`]: [`VideoParams`], what users need to know about a stream.

#![forbid(unsafe_code)]

mod bitreader;

pub mod access_unit;
pub mod config;
pub mod h264;
pub mod h265;
pub mod nal;
pub mod parameter_set_id;
pub mod params;
mod stream_state;

pub use access_unit::{AccessUnit, AccessUnitAssembler};
pub use bitreader::{rbsp_from_ebsp, BitReader};
pub use config::DecoderConfig;
pub use params::{ChromaFormat, ColourDescription, FrameRate, VideoParams};
pub use stream_state::{parse_sps_params, StreamState};

use serde::Serialize;

/// The video codecs ifc understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    H264,
    H265,
}

impl Codec {
    /// Length of the NAL unit header in bytes (H.264 7.3.1: 1; H.265 7.3.1.2: 2).
    pub fn nal_header_len(self) -> usize {
        match self {
            Codec::H264 => 1,
            Codec::H265 => 2,
        }
    }

    /// Guesses the codec of a raw Annex B file from its extension.
    pub fn from_raw_extension(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "h264" | "264" | "avc" => Some(Codec::H264),
            "h265" | "265" | "hevc" => Some(Codec::H265),
            _ => None,
        }
    }

    /// The name ffprobe uses (`h264`, `hevc`).
    pub fn ffmpeg_name(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::H265 => "hevc",
        }
    }

    /// Classifies a NAL unit from its header bytes. `nal` must hold at least the header.
    pub fn classify(self, nal: &[u8]) -> Option<NalKind> {
        match self {
            Codec::H264 => nal.first().map(|&b| h264_kind(b & 0x1f)),
            Codec::H265 => nal.first().map(|&b| h265_kind((b >> 1) & 0x3f)),
        }
    }
}

/// What a NAL unit is, in the terms that access-unit assembly and remuxing need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NalKind {
    /// A coded slice. `random_access`: IDR (H.264) or IRAP — IDR, CRA, BLA (H.265).
    Slice {
        random_access: bool,
        idr: bool,
    },
    Vps,
    Sps,
    Pps,
    AccessUnitDelimiter,
    /// SEI that precedes the slices of its access unit.
    PrefixSei,
    /// H.265 suffix SEI: follows the slices of its access unit.
    SuffixSei,
    EndOfSequence,
    EndOfStream,
    Filler,
    /// A NAL type that starts a new access unit when it follows a picture
    /// (H.264 7.4.1.2.3 types 14–18; H.265 7.4.2.4.4 types 41–44, 48–55).
    OtherPrefix,
    /// Anything else (reserved, unspecified, extensions): kept in its access unit.
    Other,
}

impl NalKind {
    pub fn is_vcl(self) -> bool {
        matches!(self, NalKind::Slice { .. })
    }

    pub fn is_parameter_set(self) -> bool {
        matches!(self, NalKind::Vps | NalKind::Sps | NalKind::Pps)
    }
}

fn h264_kind(nal_unit_type: u8) -> NalKind {
    match nal_unit_type {
        1..=4 => NalKind::Slice { random_access: false, idr: false },
        5 => NalKind::Slice { random_access: true, idr: true },
        6 => NalKind::PrefixSei,
        7 => NalKind::Sps,
        8 => NalKind::Pps,
        9 => NalKind::AccessUnitDelimiter,
        10 => NalKind::EndOfSequence,
        11 => NalKind::EndOfStream,
        12 => NalKind::Filler,
        14..=18 => NalKind::OtherPrefix,
        _ => NalKind::Other,
    }
}

fn h265_kind(nal_unit_type: u8) -> NalKind {
    match nal_unit_type {
        0..=9 => NalKind::Slice { random_access: false, idr: false },
        16..=18 | 21 => NalKind::Slice { random_access: true, idr: false },
        19 | 20 => NalKind::Slice { random_access: true, idr: true },
        // 22, 23: reserved IRAP types; 10-15, 24-31 reserved non-IRAP VCL.
        22 | 23 => NalKind::Slice { random_access: true, idr: false },
        10..=15 | 24..=31 => NalKind::Slice { random_access: false, idr: false },
        32 => NalKind::Vps,
        33 => NalKind::Sps,
        34 => NalKind::Pps,
        35 => NalKind::AccessUnitDelimiter,
        36 => NalKind::EndOfSequence,
        37 => NalKind::EndOfStream,
        38 => NalKind::Filler,
        39 => NalKind::PrefixSei,
        40 => NalKind::SuffixSei,
        41..=44 | 48..=55 => NalKind::OtherPrefix,
        _ => NalKind::Other,
    }
}

/// What the first slice of a picture says about it: enough to order pictures for display
/// and to find random-access points. Produced by `h264::StreamState` / `h265::StreamState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PictureInfo {
    /// Picture order count (H.264 8.2.1 `PicOrderCnt`, H.265 8.3.1 `PicOrderCntVal`).
    pub poc: i32,
    /// IDR (H.264) or IRAP (H.265): decoding can start here.
    pub random_access: bool,
    pub idr: bool,
    /// Picture order counts restart here (IDR, BLA, or CRA that starts decoding, or the first
    /// picture after an end of sequence): display order never crosses this picture.
    pub new_sequence: bool,
    /// H.265 RASL picture: not decodable when decoding starts at its associated CRA.
    pub rasl: bool,
}
