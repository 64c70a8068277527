//! ITU-T H.264 bitstream syntax: parameter sets, the slice-header fields ifc needs, picture order
//! count, and the decoder configuration record.
//!
//! - [`Sps`] (7.3.2.1.1, with the VUI of E.1.1) and [`Pps`] (7.3.2.2).
//! - [`SliceHeader`] (7.3.3): what identifies a picture and orders it.
//! - [`PocState`]: picture order count (8.2.1) across pictures.
//! - [`StreamState`]: all of the above over the NAL units of one stream, one
//!   [`PictureInfo`](crate::codec::PictureInfo) per picture.
//! - [`avcc`]: the `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 5.3.3.1).
//!
//! Parsers take whole NAL units (header included, emulation prevention still in) and report
//! errors at dotted paths such as `sps.vui.timing_info.time_scale`, with byte offsets counted
//! in the RBSP after the NAL header.

pub mod avcc;
mod poc;
mod pps;
mod slice;
mod sps;
mod stream;
mod video_params;
mod vui;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod malformed_tests;
#[cfg(test)]
mod order_tests;
#[cfg(test)]
pub(crate) mod synthetic;
#[cfg(test)]
mod synthetic_tests;
#[cfg(test)]
mod testutil;
#[cfg(test)]
mod trace_tests;

use std::borrow::Cow;

pub use poc::PocState;
pub use pps::Pps;
pub use slice::{SliceHeader, SliceType};
pub use sps::{FrameCropping, PicOrderCntType, Sps, MAX_DPB_FRAMES, MAX_PIC_SIZE_IN_MBS};
pub use stream::StreamState;
pub use vui::{BitstreamRestriction, HrdParameters, TimingInfo, VideoSignalType, Vui};

use super::{rbsp_from_ebsp, VideoParams};
use crate::error::{ParseError, Result};

/// `nal_unit_type` values (Table 7-1) this module handles.
pub const NAL_SLICE: u8 = 1;
pub const NAL_SLICE_PARTITION_A: u8 = 2;
pub const NAL_IDR_SLICE: u8 = 5;
pub const NAL_SPS: u8 = 7;
pub const NAL_PPS: u8 = 8;
pub const NAL_END_OF_SEQUENCE: u8 = 10;
pub const NAL_SPS_EXTENSION: u8 = 13;

/// Parses an SPS NAL unit (with its header) into what users need.
pub fn parse_sps_params(nal: &[u8]) -> Result<VideoParams> {
    Ok(Sps::parse(nal)?.video_params())
}

/// Reads the one-byte NAL unit header (7.3.1): `(nal_ref_idc, nal_unit_type)`.
pub fn nal_header(nal: &[u8], at: &str) -> Result<(u8, u8)> {
    let &byte = nal.first().ok_or_else(|| ParseError::truncated(format!("{at}.nal_unit_header")))?;
    if byte & 0x80 != 0 {
        return Err(ParseError::invalid(format!("{at}.forbidden_zero_bit"), "must be 0").at_offset(0));
    }
    Ok(((byte >> 5) & 3, byte & 0x1f))
}

/// Checks the NAL unit type and returns the RBSP after the header.
fn nal_rbsp<'a>(nal: &'a [u8], expected_type: u8, at: &str) -> Result<Cow<'a, [u8]>> {
    let (_, nal_unit_type) = nal_header(nal, at)?;
    if nal_unit_type != expected_type {
        return Err(ParseError::invalid(
            format!("{at}.nal_unit_type"),
            format!("{nal_unit_type}, expected {expected_type}"),
        ));
    }
    Ok(rbsp_from_ebsp(nal.get(1..).unwrap_or_default()))
}
