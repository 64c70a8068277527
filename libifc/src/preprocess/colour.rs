//! Y'CbCr → R'G'B': the matrix (ITU-T H.273 §8.3, Table 4), the sample range (H.273 §8.3
//! equations for `video_full_range_flag`), and the f32 coefficients the kernels use.

use crate::codec::ColourDescription;

use super::frame::PixelFormat;
use super::spec::PreprocessSpec;

/// The luma coefficients (Kr, Kb) of a Y'CbCr encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColourMatrix {
    /// ITU-R BT.601 (H.273 `matrix_coefficients` 5 and 6): SD video, JPEG.
    Bt601,
    /// ITU-R BT.709 (1): HD video.
    Bt709,
    /// ITU-R BT.2020 non-constant luminance (9); 10 (constant luminance) is treated the same.
    Bt2020,
}

impl ColourMatrix {
    /// `(Kr, Kb)` from H.273 Table 4.
    pub fn kr_kb(self) -> (f64, f64) {
        match self {
            ColourMatrix::Bt601 => (0.299, 0.114),
            ColourMatrix::Bt709 => (0.2126, 0.0722),
            ColourMatrix::Bt2020 => (0.2627, 0.0593),
        }
    }

    /// The matrix a frame's VUI asks for. Unspecified (2) and code points ifc does not
    /// implement are BT.601 at every picture size, as the tools models are trained with
    /// convert them: libswscale (and with it ffmpeg's `rgb24`, PyAV, decord, torchcodec) and
    /// OpenCV. (Players guess BT.709 from 720 rows up; a model trained on frames from those
    /// tools saw BT.601 colours, so that is what it must be given.) Override it with
    /// [`PreprocessSpec::matrix`] when a stream is known to be otherwise.
    pub fn for_frame(colour: &ColourDescription) -> Self {
        match colour.matrix {
            1 => ColourMatrix::Bt709,
            9 | 10 => ColourMatrix::Bt2020,
            _ => ColourMatrix::Bt601,
        }
    }

    /// Whether the VUI names the matrix (`false`: [`Self::for_frame`] assumes BT.601).
    pub fn is_specified(colour: &ColourDescription) -> bool {
        matches!(colour.matrix, 1 | 5 | 6 | 9 | 10)
    }

    /// The name ifc's options and the pipeline document use (`bt601`, `bt709`, `bt2020`).
    pub fn name(self) -> &'static str {
        match self {
            ColourMatrix::Bt601 => "bt601",
            ColourMatrix::Bt709 => "bt709",
            ColourMatrix::Bt2020 => "bt2020",
        }
    }
}

/// Everything that decides how samples become RGB: matrix, range and bit depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct YuvEncoding {
    pub matrix: ColourMatrix,
    pub full_range: bool,
    pub bit_depth: u32,
}

impl YuvEncoding {
    /// The frame's own description, with the spec's overrides applied.
    pub(crate) fn resolve(format: PixelFormat, colour: &ColourDescription, spec: &PreprocessSpec) -> Self {
        Self {
            matrix: spec.matrix.unwrap_or_else(|| ColourMatrix::for_frame(colour)),
            full_range: spec.full_range.unwrap_or(colour.full_range),
            bit_depth: format.bit_depth(),
        }
    }

    /// `(black, span)` of luma and `(zero, span)` of chroma in sample units: limited range
    /// is Y 16–235 and C 16–240 scaled by 2^(n−8); full range spans 0..2^n − 1 with chroma
    /// centred on 2^(n−1).
    pub(crate) fn ranges(self) -> ((f64, f64), (f64, f64)) {
        let n = self.bit_depth;
        if self.full_range {
            let max = f64::from((1u32 << n) - 1);
            ((0.0, max), (f64::from(1u32 << (n - 1)), max))
        } else {
            let unit = f64::from(1u32 << (n - 8));
            ((16.0 * unit, 219.0 * unit), (128.0 * unit, 224.0 * unit))
        }
    }

    /// The conversion as `rgb = y_gain * Y + u * U + v * V + bias`, per channel, on the
    /// 0–255 scale (before clamping).
    pub(crate) fn coefficients(self) -> RgbCoefficients {
        let (kr, kb) = self.matrix.kr_kb();
        let kg = 1.0 - kr - kb;
        let ((y_black, y_span), (c_zero, c_span)) = self.ranges();
        let y_gain = 255.0 / y_span;
        let c_gain = 255.0 / c_span;
        // E'R = Y' + 2(1-Kr) Cr', E'B = Y' + 2(1-Kb) Cb', E'G = (Y' - Kr E'R - Kb E'B) / Kg.
        let u = [0.0, -2.0 * kb * (1.0 - kb) / kg * c_gain, 2.0 * (1.0 - kb) * c_gain];
        let v = [2.0 * (1.0 - kr) * c_gain, -2.0 * kr * (1.0 - kr) / kg * c_gain, 0.0];
        let bias: [f64; 3] = std::array::from_fn(|c| -y_gain * y_black - (u[c] + v[c]) * c_zero);
        let lanes = |x: [f64; 3]| [x[0] as f32, x[1] as f32, x[2] as f32, 0.0];
        RgbCoefficients { y_gain: y_gain as f32, u: lanes(u), v: lanes(v), bias: lanes(bias) }
    }
}

/// f32 coefficients in RGBx lanes (the fourth lane is unused and stays zero).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RgbCoefficients {
    pub y_gain: f32,
    pub u: [f32; 4],
    pub v: [f32; 4],
    pub bias: [f32; 4],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coefficients(matrix: ColourMatrix, full_range: bool, bit_depth: u32) -> RgbCoefficients {
        YuvEncoding { matrix, full_range, bit_depth }.coefficients()
    }

    fn close(a: f32, b: f64) -> bool {
        (f64::from(a) - b).abs() < 1e-4
    }

    #[test]
    fn bt601_limited_matches_the_textbook_matrix() {
        // The classic 8-bit BT.601 studio-range formulas (e.g. Jack, "Video Demystified").
        let c = coefficients(ColourMatrix::Bt601, false, 8);
        assert!(close(c.y_gain, 1.164_383));
        assert!(close(c.v[0], 1.596_027) && close(c.u[2], 2.017_232));
        assert!(close(c.u[1], -0.391_762) && close(c.v[1], -0.812_968));
        // Black (16, 128, 128) is 0 and white (235, 128, 128) is 255 on every channel.
        for ch in 0..3 {
            let at = |y: f32| c.y_gain * y + (c.u[ch] + c.v[ch]) * 128.0 + c.bias[ch];
            assert!(at(16.0).abs() < 1e-3 && (at(235.0) - 255.0).abs() < 1e-3);
        }
    }

    #[test]
    fn bt709_full_range_uses_the_hd_coefficients() {
        let c = coefficients(ColourMatrix::Bt709, true, 8);
        assert!(close(c.y_gain, 1.0));
        assert!(close(c.v[0], 1.5748) && close(c.u[2], 1.8556));
        assert!(close(c.u[1], -0.187_324) && close(c.v[1], -0.468_124));
    }

    #[test]
    fn ten_bit_limited_scales_offsets_by_four() {
        let c = coefficients(ColourMatrix::Bt2020, false, 10);
        let at = |y: f32, ch: usize| c.y_gain * y + (c.u[ch] + c.v[ch]) * 512.0 + c.bias[ch];
        assert!(at(64.0, 1).abs() < 1e-3 && (at(940.0, 1) - 255.0).abs() < 1e-3);
        assert!(close(c.v[0] * 4.0 * 224.0 / 255.0, 2.0 * (1.0 - 0.2627)));
    }

    #[test]
    fn unspecified_matrix_is_bt601_at_every_size_and_named_ones_are_kept() {
        let mut colour = ColourDescription::default();
        assert_eq!(ColourMatrix::for_frame(&colour), ColourMatrix::Bt601);
        assert!(!ColourMatrix::is_specified(&colour));
        for (code, want) in [(1, ColourMatrix::Bt709), (5, ColourMatrix::Bt601), (6, ColourMatrix::Bt601), (9, ColourMatrix::Bt2020)] {
            colour.matrix = code;
            assert_eq!(ColourMatrix::for_frame(&colour), want);
            assert!(ColourMatrix::is_specified(&colour));
        }
        colour.matrix = 7; // SMPTE 240M: not implemented, treated as unspecified
        assert_eq!(ColourMatrix::for_frame(&colour), ColourMatrix::Bt601);
    }

    #[test]
    fn spec_overrides_win_over_the_frame() {
        let colour = ColourDescription { matrix: 1, full_range: false, ..ColourDescription::default() };
        let spec = PreprocessSpec::default().with_matrix(Some(ColourMatrix::Bt2020)).with_full_range(Some(true));
        let enc = YuvEncoding::resolve(PixelFormat::P010le, &colour, &spec);
        assert_eq!(enc, YuvEncoding { matrix: ColourMatrix::Bt2020, full_range: true, bit_depth: 10 });
    }
}
