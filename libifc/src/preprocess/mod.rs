//! One-pass preprocessing of decoded frames into a model's input tensor: colour conversion,
//! crop, resize, letterbox, normalisation, channel order, layout and element type, written
//! straight into a caller-provided buffer (the embedded runtime's input tensor or a Triton
//! shared-memory region).
//!
//! [`Preprocessor`] is the CPU path (SIMD where the CPU has it); [`reference`](mod@reference)
//! is a direct f64 version of the same semantics for tests. The CUDA kernel must reproduce
//! what follows.
//!
//! # Semantics
//!
//! **Source.** A [`FrameView`] of a 4:2:0 frame (`yuv420p`, `nv12`, `yuv420p10le`, `p010le`)
//! with even width and height. 10-bit samples are 16-bit little-endian: `yuv420p10le` keeps
//! the value in bits 0–9 (higher bits ignored), `p010le` in bits 6–15 (lower bits ignored).
//! The region of interest `spec.roi` (default: the whole frame) is an integer rectangle that
//! must lie inside the frame; everything below treats it as the whole image (so edge
//! replication happens at the ROI's edges, exactly as if the frame had been cropped first).
//!
//! **Colour.** Each source pixel `(x, y)` takes luma `Y(x, y)` and the chroma samples at
//! `(x / 2, y / 2)` (integer division: nearest chroma, each chroma sample covering its 2×2
//! luma block, as libswscale's unscaled converters and OpenCV's `COLOR_YUV2RGB_I420`/`NV12`
//! do). The matrix is `spec.matrix`, else from `colour.matrix`: 5 or 6 → BT.601, 1 → BT.709,
//! 9 or 10 → BT.2020, anything else (unspecified) → BT.601 at every size, as libswscale,
//! PyAV and OpenCV convert, so a model sees the colours it was trained on. The range
//! is `spec.full_range`, else `colour.full_range`. With bit depth `n` (ITU-T H.273 §8.3):
//!
//! - limited: `Y' = (Y − 16·2^(n−8)) / (219·2^(n−8))`, `C' = (C − 128·2^(n−8)) / (224·2^(n−8))`;
//! - full: `Y' = Y / (2^n − 1)`, `C' = (C − 2^(n−1)) / (2^n − 1)`;
//! - `R = Y' + 2(1−Kr)·Cr'`, `B = Y' + 2(1−Kb)·Cb'`, `G = (Y' − Kr·R − Kb·B) / (1−Kr−Kb)`;
//! - the pixel's value is `clamp(255·R, 0, 255)` (likewise G, B), not rounded.
//!
//! Samples outside the nominal range (limited-range footroom and headroom) go through the
//! matrix as they are, like libswscale; OpenCV's `COLOR_YUV2RGB_I420` differs there, as it
//! lifts luma below 16 to 16 first.
//!
//! **Content box.** [`Fit::Stretch`] resizes the ROI (`w × h`) to the whole output (`W × H`).
//! [`Fit::Letterbox`] keeps the aspect ratio: if `W·h ≤ H·w` the content is `W` wide and
//! `round(h·W / w)` high (half rounds up, at least 1), else `H` high and `round(w·H / h)` wide;
//! it starts at `left = (W − cw) / 2`, `top = (H − ch) / 2` (integer division, so the odd
//! pixel of padding goes right or bottom). Output pixels outside it get `pad` (an RGB colour
//! on the 0–255 scale).
//!
//! **Resize.** Separable, from the ROI (`w` wide) to the content box (`cw` wide), per axis
//! with `s = w / cw`:
//!
//! - [`Resize::Bilinear`] (cv2.INTER_LINEAR): output `i` reads source position
//!   `f = (i + 0.5)·s − 0.5`; with `x0 = floor(f)`, `t = f − x0` it is
//!   `(1−t)·p[x0] + t·p[x0+1]`; `f ≤ 0` gives `p[0]` and `f ≥ w − 1` gives `p[w−1]`.
//! - [`Resize::Area`] (cv2.INTER_AREA when shrinking): where `s ≥ 1`, output `i` is the mean
//!   of the source over `[i·s, (i+1)·s)`, each sample weighted by its overlap with that
//!   interval; on an axis where `s < 1` it is bilinear. (OpenCV switches to a different
//!   interpolation on *both* axes as soon as one grows; ifc decides per axis.)
//!
//! The value of a content pixel is `Σ_j Σ_i wy_j·wx_i·rgb(x_i, y_j)`: colour conversion and
//! clamping happen per source pixel, before resampling.
//!
//! **Normalisation and output.** Output channel `k` (`spec.order`: RGB or BGR) of a pixel
//! with value `v` is `(v·scale − mean[k]) / std[k]`; `mean` and `std` are indexed by output
//! channel. The element type is f32, f16 (round to nearest, ties to even; overflow is ±inf)
//! or u8 (round to nearest, ties to even, then clamp to 0..=255), in native byte order. Layout
//! NCHW puts channel `k`, row `y`, column `x` at element `(k·H + y)·W + x`; NHWC at
//! `(y·W + x)·3 + k`. Image `b` of a batch starts at byte `b · W·H·3·size_of(dtype)`.
//!
//! The CPU path computes in f32 (the reference in f64); the two agree to well within 1/255
//! of the 0–1 range. The AVX2 kernels use fused multiply-adds, so their f32 results may
//! differ from the portable kernels' in the last bits. [`Geometry`] maps model-input
//! coordinates back to the frame.
//!
//! # Cost
//!
//! Filters are built once per (source size, spec) and cached in the [`Preprocessor`]; per
//! frame only the source rows that the vertical filter reads are converted, each once, and
//! only the content box is resampled; the padding is a fill.

mod colour;
mod convert;
mod error;
mod f16;
mod frame;
mod geometry;
mod pad;
mod preprocessor;
pub mod reference;
mod rgb24;
mod rows;
mod simd;
mod spec;
mod taps;

#[cfg(test)]
mod equivalence_tests;
#[cfg(test)]
pub(crate) mod fixture_tests;

// What the CUDA kernel's parameters are derived from: the same code as the CPU path.
#[cfg(feature = "cuda")]
pub(crate) use {
    colour::YuvEncoding, frame::plane_shapes, frame::SampleKind, geometry::resolve_roi, geometry::ContentBox,
    pad::pad_values, taps::AxisTaps,
};

pub use colour::ColourMatrix;
pub use error::PreprocessError;
pub use frame::{FrameView, PixelFormat, Plane};
pub use geometry::Geometry;
pub use preprocessor::Preprocessor;
pub use rgb24::convert_to_rgb24;
pub use spec::{output_len_bytes, ChannelOrder, DType, Fit, Layout, PreprocessSpec, Rect, Resize};

/// Writes image `batch_index` of a batch into `out` (which holds the whole batch, see
/// [`output_len_bytes`]) and returns where the frame landed. Builds the filters on every
/// call: keep a [`Preprocessor`] for a stream of frames.
pub fn preprocess_into(
    frame: &FrameView<'_>,
    spec: &PreprocessSpec,
    out: &mut [u8],
    batch_index: usize,
) -> Result<Geometry, PreprocessError> {
    Preprocessor::new(spec.clone())?.run(frame, out, batch_index)
}
