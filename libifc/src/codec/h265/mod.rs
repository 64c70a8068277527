//! ITU-T H.265 bitstream syntax: parameter sets, the slice-header fields ifc needs, picture order
//! count, and the decoder configuration record.
//!
//! STUB: the public API below is the contract other modules use; the implementation is being
//! written.

pub mod hvcc;

use super::{PictureInfo, VideoParams};
use crate::error::{ParseError, Result};

/// Tracks parameter sets and picture order across the NAL units of one stream.
#[derive(Debug, Default)]
pub struct StreamState {}

impl StreamState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one NAL unit (without start code or length). Parameter sets are stored; for the
    /// first slice of a picture, returns what the picture is. Other NAL units return `None`.
    pub fn push_nal(&mut self, _nal: &[u8]) -> Result<Option<PictureInfo>> {
        Err(ParseError::unsupported("h265", "not implemented"))
    }

    /// What the SPS of the most recent picture (or, before any picture, the most recently
    /// received SPS) says.
    pub fn video_params(&self) -> Option<VideoParams> {
        None
    }
}

/// Parses an SPS NAL unit (with its header) into what users need.
pub fn parse_sps_params(_nal: &[u8]) -> Result<VideoParams> {
    Err(ParseError::unsupported("h265.sps", "not implemented"))
}
