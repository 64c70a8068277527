//! `ifc.VideoMetadata`: what a recording is, from its parameter sets and sample table.

use ifc::codec::DecoderConfig;
use ifc::remux::VideoInput;
use pyo3::prelude::*;

use crate::index::DisplayIndex;

/// Codec, size, timing and colour of a video (Python: ``ifc.VideoMetadata``).
#[pyclass(module = "ifc._ifc", name = "VideoMetadata", frozen, get_all)]
pub struct VideoMetadata {
    /// ``h264`` or ``hevc`` (FFmpeg's names).
    pub codec: String,
    /// RFC 6381 codec string, e.g. ``avc1.64001f``.
    pub codec_string: String,
    pub profile: String,
    /// Displayed size (after cropping), in pixels.
    pub width: u32,
    pub height: u32,
    pub bit_depth: u8,
    /// Frames in the video (display order).
    pub num_frames: usize,
    /// Average frame rate: frames over duration (the stream's VUI rate when it has no timing).
    pub fps: f64,
    /// Seconds from the first frame's start to the last frame's end.
    pub duration_seconds: f64,
    /// Presentation time of the first frame.
    pub begin_seconds: f64,
    /// FFmpeg's names for the colour description, or None when unspecified.
    pub color_primaries: Option<String>,
    pub color_transfer: Option<String>,
    pub color_space: Option<String>,
    /// ``"pc"`` (full) or ``"tv"`` (limited), as FFmpeg names the range.
    pub color_range: String,
    /// A live stream (RTSP): no frame count (0), duration NaN, iteration only.
    pub is_live: bool,
}

impl VideoMetadata {
    pub fn new(input: &VideoInput, index: &DisplayIndex) -> Self {
        let (begin_seconds, duration_seconds) = index.span_seconds();
        let fps = if duration_seconds > 0.0 {
            index.len() as f64 / duration_seconds
        } else {
            input.config.params.frame_rate.map_or(0.0, |r| r.as_f64())
        };
        Self { num_frames: index.len(), fps, duration_seconds, begin_seconds, ..Self::from_config(&input.config) }
    }

    /// A live stream's: `framerate` from its session description, else the stream's VUI.
    pub fn live(config: &DecoderConfig, framerate: Option<f64>) -> Self {
        let vui = config.params.frame_rate.map(|r| r.as_f64());
        let fps = framerate.filter(|f| f.is_finite() && *f > 0.0).or(vui).unwrap_or(0.0);
        Self { fps, is_live: true, ..Self::from_config(config) }
    }

    fn from_config(config: &DecoderConfig) -> Self {
        let p = &config.params;
        Self {
            codec: p.codec.ffmpeg_name().to_owned(),
            codec_string: p.codec_string.clone(),
            profile: p.profile.clone(),
            width: p.width,
            height: p.height,
            bit_depth: p.bit_depth_luma,
            num_frames: 0,
            fps: 0.0,
            duration_seconds: f64::NAN,
            begin_seconds: 0.0,
            color_primaries: p.colour.primaries_name().map(str::to_owned),
            color_transfer: p.colour.transfer_name().map(str::to_owned),
            color_space: p.colour.matrix_name().map(str::to_owned),
            color_range: if p.colour.full_range { "pc" } else { "tv" }.to_owned(),
            is_live: false,
        }
    }
}

#[pymethods]
impl VideoMetadata {
    fn __repr__(&self) -> String {
        format!(
            "VideoMetadata(codec={:?}, {}x{}, {} frames, {:.3} fps, {:.3} s, color_space={:?}, color_range={:?})",
            self.codec,
            self.width,
            self.height,
            self.num_frames,
            self.fps,
            self.duration_seconds,
            self.color_space,
            self.color_range
        )
    }
}
