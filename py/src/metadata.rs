//! `ifc.VideoMetadata`: what a recording is, from its parameter sets and sample table.

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
}

impl VideoMetadata {
    pub fn new(input: &VideoInput, index: &DisplayIndex) -> Self {
        let p = &input.config.params;
        let (begin_seconds, duration_seconds) = index.span_seconds();
        let fps = if duration_seconds > 0.0 {
            index.len() as f64 / duration_seconds
        } else {
            p.frame_rate.map_or(0.0, |r| r.as_f64())
        };
        Self {
            codec: p.codec.ffmpeg_name().to_owned(),
            codec_string: p.codec_string.clone(),
            profile: p.profile.clone(),
            width: p.width,
            height: p.height,
            bit_depth: p.bit_depth_luma,
            num_frames: index.len(),
            fps,
            duration_seconds,
            begin_seconds,
            color_primaries: p.colour.primaries_name().map(str::to_owned),
            color_transfer: p.colour.transfer_name().map(str::to_owned),
            color_space: p.colour.matrix_name().map(str::to_owned),
            color_range: if p.colour.full_range { "pc" } else { "tv" }.to_owned(),
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
