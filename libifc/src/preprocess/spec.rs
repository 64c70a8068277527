//! [`PreprocessSpec`]: what the model wants its input to look like.

use super::colour::ColourMatrix;
use super::PreprocessError;

/// How the region of interest is resampled to the content box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Resize {
    /// Bilinear with half-pixel centres and edge replication, like `cv2.INTER_LINEAR`.
    #[default]
    Bilinear,
    /// Box filter (exact pixel-area overlap) on each axis that shrinks, like `cv2.INTER_AREA`;
    /// an axis that grows falls back to [`Resize::Bilinear`].
    Area,
}

/// How the region of interest is fitted into the output rectangle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fit {
    /// Keep the aspect ratio, centre the image and fill the rest with `pad`, an RGB colour on
    /// the same 0–255 scale as the converted pixels (it goes through the same normalisation).
    Letterbox { pad: [u8; 3] },
    /// Scale each axis independently to fill the whole output.
    Stretch,
}

impl Default for Fit {
    /// YOLO's grey (114, 114, 114) letterbox.
    fn default() -> Self {
        Fit::Letterbox { pad: [114; 3] }
    }
}

/// Order of the three colour channels in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChannelOrder {
    #[default]
    Rgb,
    Bgr,
}

impl ChannelOrder {
    /// For each output channel, which of R (0), G (1), B (2) it holds.
    pub(crate) fn rgb_index(self) -> [usize; 3] {
        match self {
            ChannelOrder::Rgb => [0, 1, 2],
            ChannelOrder::Bgr => [2, 1, 0],
        }
    }
}

/// Memory layout of one image in the output tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// Channel planes one after another: `[C][H][W]` (PyTorch, ONNX vision models).
    #[default]
    Nchw,
    /// Interleaved channels: `[H][W][C]` (TensorFlow, packed images).
    Nhwc,
}

/// Element type of the output tensor, stored in native byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DType {
    #[default]
    F32,
    /// IEEE 754 binary16, rounded to nearest, ties to even.
    F16,
    /// The normalised value rounded to nearest (ties to even) and clamped to 0..=255.
    U8,
}

impl DType {
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 => 2,
            DType::U8 => 1,
        }
    }
}

/// A rectangle in source pixels: columns `x..x + width`, rows `y..y + height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    pub fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self { x, y, width, height }
    }
}

/// The model input: size, fit, resampling, colour handling and normalisation.
///
/// `mean` and `std` are indexed by *output* channel (after `order`), as model cards list them;
/// `Fit::Letterbox::pad` is an RGB colour. See the [module docs](super) for the exact formulas.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PreprocessSpec {
    pub out_width: u32,
    pub out_height: u32,
    pub resize: Resize,
    pub fit: Fit,
    /// Part of the frame to use, in source pixels; `None` is the whole frame.
    pub roi: Option<Rect>,
    /// Overrides the matrix derived from the frame's colour description.
    pub matrix: Option<ColourMatrix>,
    /// Overrides the frame's `full_range` flag.
    pub full_range: Option<bool>,
    /// Multiplies the 0–255 pixel value before `mean` is subtracted (1/255 maps to 0–1).
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub order: ChannelOrder,
    pub layout: Layout,
    pub dtype: DType,
}

impl Default for PreprocessSpec {
    /// YOLO-style: 640×640, letterboxed with grey 114, bilinear, RGB, NCHW, f32 in 0–1.
    fn default() -> Self {
        Self {
            out_width: 640,
            out_height: 640,
            resize: Resize::Bilinear,
            fit: Fit::default(),
            roi: None,
            matrix: None,
            full_range: None,
            scale: 1.0 / 255.0,
            mean: [0.0; 3],
            std: [1.0; 3],
            order: ChannelOrder::Rgb,
            layout: Layout::Nchw,
            dtype: DType::F32,
        }
    }
}

impl PreprocessSpec {
    #[must_use]
    pub fn with_output_size(mut self, width: u32, height: u32) -> Self {
        self.out_width = width;
        self.out_height = height;
        self
    }

    #[must_use]
    pub fn with_resize(mut self, resize: Resize) -> Self {
        self.resize = resize;
        self
    }

    #[must_use]
    pub fn with_fit(mut self, fit: Fit) -> Self {
        self.fit = fit;
        self
    }

    #[must_use]
    pub fn with_roi(mut self, roi: Option<Rect>) -> Self {
        self.roi = roi;
        self
    }

    #[must_use]
    pub fn with_matrix(mut self, matrix: Option<ColourMatrix>) -> Self {
        self.matrix = matrix;
        self
    }

    #[must_use]
    pub fn with_full_range(mut self, full_range: Option<bool>) -> Self {
        self.full_range = full_range;
        self
    }

    /// `value = (pixel * scale - mean[c]) / std[c]`.
    #[must_use]
    pub fn with_normalisation(mut self, scale: f32, mean: [f32; 3], std: [f32; 3]) -> Self {
        self.scale = scale;
        self.mean = mean;
        self.std = std;
        self
    }

    #[must_use]
    pub fn with_order(mut self, order: ChannelOrder) -> Self {
        self.order = order;
        self
    }

    #[must_use]
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    #[must_use]
    pub fn with_dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// Bytes of one output image; `None` when that does not fit in `usize`.
    pub(crate) fn image_len_bytes(&self) -> Option<usize> {
        usize::try_from(self.out_width)
            .ok()?
            .checked_mul(usize::try_from(self.out_height).ok()?)?
            .checked_mul(3 * self.dtype.size_bytes())
    }

    /// Checks what does not depend on the frame: a non-empty output that fits in memory and a
    /// usable normalisation.
    pub(crate) fn validate(&self) -> Result<(), PreprocessError> {
        if self.out_width == 0 || self.out_height == 0 {
            return Err(PreprocessError::ZeroOutputSize { width: self.out_width, height: self.out_height });
        }
        if self.image_len_bytes().is_none() {
            return Err(PreprocessError::OutputTooLarge { width: self.out_width, height: self.out_height });
        }
        if !self.scale.is_finite() {
            return Err(PreprocessError::InvalidNormalisation { field: "scale", value: self.scale });
        }
        for (channel, &value) in self.mean.iter().enumerate() {
            if !value.is_finite() {
                return Err(PreprocessError::InvalidNormalisation { field: MEAN_FIELDS[channel], value });
            }
        }
        for (channel, &value) in self.std.iter().enumerate() {
            if !value.is_finite() || value == 0.0 {
                return Err(PreprocessError::InvalidNormalisation { field: STD_FIELDS[channel], value });
            }
        }
        Ok(())
    }

    /// Per output channel `(a, b)` such that `value = pixel * a + b`.
    pub(crate) fn affine(&self) -> [(f32, f32); 3] {
        std::array::from_fn(|c| (self.scale / self.std[c], -self.mean[c] / self.std[c]))
    }
}

const MEAN_FIELDS: [&str; 3] = ["mean[0]", "mean[1]", "mean[2]"];
const STD_FIELDS: [&str; 3] = ["std[0]", "std[1]", "std[2]"];

/// Bytes that a batch of `batch` images needs; saturates at `usize::MAX` (which no buffer can
/// satisfy) when the size overflows.
pub fn output_len_bytes(spec: &PreprocessSpec, batch: usize) -> usize {
    spec.image_len_bytes().map_or(usize::MAX, |image| image.saturating_mul(batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_yolo_letterbox() {
        let spec = PreprocessSpec::default();
        assert_eq!((spec.out_width, spec.out_height), (640, 640));
        assert_eq!(spec.fit, Fit::Letterbox { pad: [114; 3] });
        assert_eq!(output_len_bytes(&spec, 2), 2 * 640 * 640 * 3 * 4);
        assert!(spec.validate().is_ok());
    }

    #[test]
    fn output_len_scales_with_dtype_and_saturates() {
        let spec = PreprocessSpec::default().with_output_size(3, 2).with_dtype(DType::F16);
        assert_eq!(output_len_bytes(&spec, 5), 5 * 3 * 2 * 3 * 2);
        assert_eq!(output_len_bytes(&spec, usize::MAX), usize::MAX);
    }

    #[test]
    fn zero_std_and_non_finite_values_are_rejected() {
        let spec = PreprocessSpec::default().with_normalisation(1.0, [0.0; 3], [1.0, 0.0, 1.0]);
        assert_eq!(spec.validate(), Err(PreprocessError::InvalidNormalisation { field: "std[1]", value: 0.0 }));
        let spec = PreprocessSpec::default().with_normalisation(f32::NAN, [0.0; 3], [1.0; 3]);
        assert!(matches!(spec.validate(), Err(PreprocessError::InvalidNormalisation { field: "scale", .. })));
        let spec = PreprocessSpec::default().with_normalisation(1.0, [0.0, 0.0, f32::INFINITY], [1.0; 3]);
        assert!(matches!(spec.validate(), Err(PreprocessError::InvalidNormalisation { field: "mean[2]", .. })));
    }

    #[test]
    fn zero_output_size_is_rejected() {
        let spec = PreprocessSpec::default().with_output_size(0, 10);
        assert_eq!(spec.validate(), Err(PreprocessError::ZeroOutputSize { width: 0, height: 10 }));
    }
}
