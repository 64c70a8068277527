//! The letterbox padding: the pad colour, normalised and encoded once per spec, copied into
//! every output element outside the content box.

use super::geometry::ContentBox;
use super::rows::{Element, F16, F32, U8};
use super::spec::{DType, Fit, Layout, PreprocessSpec};

/// The encoded pad element of each output plane (NCHW: one per channel; NHWC: one pixel of
/// three channels). Empty for [`Fit::Stretch`], which has no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PadFill {
    patterns: Vec<Vec<u8>>,
}

impl PadFill {
    pub(crate) fn new(spec: &PreprocessSpec) -> Self {
        let Some(values) = pad_values(spec) else { return Self { patterns: Vec::new() } };
        let channels: Vec<Vec<u8>> = values.iter().map(|&value| encode(spec.dtype, value)).collect();
        let patterns = match spec.layout {
            Layout::Nchw => channels,
            Layout::Nhwc => vec![channels.concat()],
        };
        Self { patterns }
    }

    /// Fills everything outside `content` in one output image.
    pub(crate) fn fill(&self, image: &mut [u8], spec: &PreprocessSpec, content: ContentBox) {
        let Some(pattern_len) = self.patterns.first().map(Vec::len) else { return };
        let plane_len = image.len() / self.patterns.len();
        let row_len = spec.out_width as usize * pattern_len;
        let ContentBox { left, top, width, height } = content;
        let (left, top, width, height) = (left as usize, top as usize, width as usize, height as usize);
        for (plane, pattern) in image.chunks_exact_mut(plane_len).zip(&self.patterns) {
            let (above, rest) = plane.split_at_mut((top * row_len).min(plane.len()));
            let (middle, below) = rest.split_at_mut((height * row_len).min(rest.len()));
            fill_pattern(above, pattern);
            fill_pattern(below, pattern);
            if left == 0 && width * pattern_len == row_len {
                continue;
            }
            for row in middle.chunks_exact_mut(row_len) {
                let (before, rest) = row.split_at_mut(left * pattern_len);
                fill_pattern(before, pattern);
                fill_pattern(rest.get_mut(width * pattern_len..).unwrap_or_default(), pattern);
            }
        }
    }
}

/// The pad colour of each output channel, normalised (before conversion to the element type);
/// `None` for [`Fit::Stretch`]. The CUDA kernel writes the same values.
pub(crate) fn pad_values(spec: &PreprocessSpec) -> Option<[f32; 3]> {
    let Fit::Letterbox { pad } = spec.fit else { return None };
    let rgb_index = spec.order.rgb_index();
    let affine = spec.affine();
    Some(std::array::from_fn(|k| f32::from(pad[rgb_index[k]]) * affine[k].0 + affine[k].1))
}

fn encode(dtype: DType, value: f32) -> Vec<u8> {
    let mut bytes = vec![0; dtype.size_bytes()];
    match dtype {
        DType::F32 => F32::write(&mut bytes, value),
        DType::F16 => F16::write(&mut bytes, value),
        DType::U8 => U8::write(&mut bytes, value),
    }
    bytes
}

/// Repeats `pattern` over `dst` (a whole number of patterns), doubling the filled prefix so
/// that large areas go at memcpy speed.
fn fill_pattern(dst: &mut [u8], pattern: &[u8]) {
    let first = pattern.len().min(dst.len());
    dst[..first].copy_from_slice(&pattern[..first]);
    let mut filled = first;
    while filled > 0 && filled < dst.len() {
        let n = filled.min(dst.len() - filled);
        dst.copy_within(..n, filled);
        filled += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::spec::ChannelOrder;

    #[test]
    fn nchw_f32_pad_is_normalised_per_output_channel() {
        let spec = PreprocessSpec::default()
            .with_output_size(4, 3)
            .with_fit(Fit::Letterbox { pad: [10, 20, 30] })
            .with_order(ChannelOrder::Bgr)
            .with_normalisation(1.0, [1.0, 2.0, 3.0], [2.0, 2.0, 2.0]);
        let mut image = vec![0u8; 4 * 3 * 3 * 4];
        let content = ContentBox { left: 1, top: 1, width: 2, height: 1 };
        PadFill::new(&spec).fill(&mut image, &spec, content);
        let values: Vec<f32> = image.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect();
        // Output channel 0 is blue: (30 - 1) / 2.
        let (b, g, r) = (14.5, 9.0, 3.5);
        #[rustfmt::skip]
        let expected = [b, b, b, b,  b, 0.0, 0.0, b,  b, b, b, b,
                        g, g, g, g,  g, 0.0, 0.0, g,  g, g, g, g,
                        r, r, r, r,  r, 0.0, 0.0, r,  r, r, r, r];
        assert_eq!(values, expected);
    }

    #[test]
    fn nhwc_u8_pad_fills_around_the_content_only() {
        let spec = PreprocessSpec::default()
            .with_output_size(3, 2)
            .with_fit(Fit::Letterbox { pad: [1, 2, 3] })
            .with_layout(Layout::Nhwc)
            .with_dtype(DType::U8)
            .with_normalisation(1.0, [0.0; 3], [1.0; 3]);
        let mut image = vec![0u8; 3 * 2 * 3];
        PadFill::new(&spec).fill(&mut image, &spec, ContentBox { left: 0, top: 0, width: 2, height: 1 });
        assert_eq!(image, [0, 0, 0, 0, 0, 0, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn stretch_has_nothing_to_fill() {
        let spec = PreprocessSpec::default().with_output_size(2, 2).with_fit(Fit::Stretch);
        let mut image = vec![7u8; 2 * 2 * 3 * 4];
        PadFill::new(&spec).fill(&mut image, &spec, ContentBox { left: 0, top: 0, width: 1, height: 1 });
        assert!(image.iter().all(|&b| b == 7));
    }

    #[test]
    fn pattern_fill_covers_long_and_short_areas() {
        for len in [0, 2, 4, 6, 1000] {
            let mut dst = vec![0u8; len];
            fill_pattern(&mut dst, &[5, 6]);
            assert!(dst.chunks(2).all(|c| c == [5, 6]), "{len}");
        }
    }
}
