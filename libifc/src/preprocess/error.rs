//! [`PreprocessError`]: why a frame could not be preprocessed. Each message names the field at
//! fault (`frame.planes[1]`, `spec.roi`, `out`) the way the parsers' errors name a box or a
//! syntax structure.

use super::frame::PixelFormat;
use super::spec::Rect;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PreprocessError {
    #[error("frame: pixel format {0} is not taken (4:2:0 only: yuv420p, nv12, yuv420p10le, p010le)")]
    UnsupportedFormat(&'static str),

    #[error("frame: empty ({width}x{height})")]
    EmptyFrame { width: u32, height: u32 },

    #[error("frame: {format:?} subsamples chroma 2:1 and needs an even size, got {width}x{height}")]
    OddSize { format: PixelFormat, width: u32, height: u32 },

    #[error("frame.planes[{plane}]: stride {stride_bytes} B is shorter than a row of {row_bytes} B")]
    StrideTooSmall { plane: usize, stride_bytes: usize, row_bytes: usize },

    #[error(
        "frame.planes[{plane}]: {len_bytes} B cannot hold {rows} rows of {row_bytes} B at stride {stride_bytes} B"
    )]
    PlaneTooSmall { plane: usize, len_bytes: usize, rows: usize, row_bytes: usize, stride_bytes: usize },

    #[error("spec.roi: {roi:?} is empty or reaches outside the {width}x{height} frame")]
    RoiOutsideFrame { roi: Rect, width: u32, height: u32 },

    #[error("spec: output size {width}x{height} is empty")]
    ZeroOutputSize { width: u32, height: u32 },

    #[error("spec: output size {width}x{height} does not fit in memory")]
    OutputTooLarge { width: u32, height: u32 },

    #[error("spec.{field}: {value} must be finite (and, for std, non-zero)")]
    InvalidNormalisation { field: &'static str, value: f32 },

    #[error("out: {len_bytes} B is shorter than the {needed_bytes} B where image {batch_index} of the batch ends")]
    OutputTooSmall { len_bytes: usize, needed_bytes: usize, batch_index: usize },
}
