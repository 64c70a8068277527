//! [`StreamState`]: parameter sets and picture order of one stream, whichever the codec.

use super::{h264, h265, Codec, PictureInfo, VideoParams};
use crate::error::Result;

/// Dispatches to the H.264 or H.265 stream state.
#[derive(Debug)]
pub enum StreamState {
    H264(h264::StreamState),
    H265(h265::StreamState),
}

impl StreamState {
    pub fn new(codec: Codec) -> Self {
        match codec {
            Codec::H264 => Self::H264(h264::StreamState::new()),
            Codec::H265 => Self::H265(h265::StreamState::new()),
        }
    }

    /// See [`h264::StreamState::push_nal`].
    pub fn push_nal(&mut self, nal: &[u8]) -> Result<Option<PictureInfo>> {
        match self {
            Self::H264(s) => s.push_nal(nal),
            Self::H265(s) => s.push_nal(nal),
        }
    }

    pub fn video_params(&self) -> Option<VideoParams> {
        match self {
            Self::H264(s) => s.video_params(),
            Self::H265(s) => s.video_params(),
        }
    }
}

/// Parses an SPS NAL unit of either codec.
pub fn parse_sps_params(codec: Codec, nal: &[u8]) -> Result<VideoParams> {
    match codec {
        Codec::H264 => h264::parse_sps_params(nal),
        Codec::H265 => h265::parse_sps_params(nal),
    }
}
