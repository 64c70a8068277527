//! [`FramePixelFormat`]: the memory layouts of decoded pictures, and their plane geometry.
//!
//! Named `FramePixelFormat` so that it does not clash with the preprocessing module's own
//! pixel format while the two are developed side by side.

use serde::Serialize;

/// How the samples of a decoded picture lie in memory.
///
/// The planar YUV formats hold one plane per component; 4:2:0 and 4:2:2 chroma planes are
/// subsampled with rounding up (a 5×5 picture has 3×3 chroma in 4:2:0). Samples wider than 8
/// bits are little-endian `u16`, value in the low bits (`…10le`) or, for the semi-planar
/// `P010le`, in the high bits. Full-range 8-bit 4:2:0 (libavcodec's `yuvj420p`) is
/// [`FramePixelFormat::Yuv420p`] with [`ColourDescription::full_range`](crate::codec::ColourDescription)
/// set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FramePixelFormat {
    Yuv420p,
    Yuv422p,
    Yuv444p,
    Yuv420p10le,
    Yuv422p10le,
    Yuv444p10le,
    /// Luma only (monochrome streams).
    Gray8,
    Gray10le,
    /// Luma plane, then one plane of interleaved Cb/Cr pairs (hardware decoders).
    Nv12,
    /// 10-bit NV12, samples in the high bits of each `u16`.
    P010le,
}

impl FramePixelFormat {
    pub fn plane_count(self) -> usize {
        match self {
            Self::Gray8 | Self::Gray10le => 1,
            Self::Nv12 | Self::P010le => 2,
            _ => 3,
        }
    }

    /// Bytes per stored sample: 1, or 2 for the formats wider than 8 bits.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            Self::Yuv420p | Self::Yuv422p | Self::Yuv444p | Self::Gray8 | Self::Nv12 => 1,
            _ => 2,
        }
    }

    /// Significant bits per sample.
    pub fn bit_depth(self) -> u8 {
        if self.bytes_per_sample() == 1 {
            8
        } else {
            10
        }
    }

    /// How far a stored sample is shifted right to give its 8 most significant bits.
    pub fn shift_to_8bit(self) -> u32 {
        match self {
            Self::P010le => 8,
            f if f.bytes_per_sample() == 2 => 2,
            _ => 0,
        }
    }

    /// log2 of the chroma subsampling factors (horizontal, vertical).
    fn chroma_shift(self) -> (u32, u32) {
        match self {
            Self::Yuv420p | Self::Yuv420p10le | Self::Nv12 | Self::P010le => (1, 1),
            Self::Yuv422p | Self::Yuv422p10le => (1, 0),
            Self::Yuv444p | Self::Yuv444p10le | Self::Gray8 | Self::Gray10le => (0, 0),
        }
    }

    /// Bytes of picture data in one row of `plane` (no padding), or `None` when the format has
    /// no such plane.
    pub fn row_bytes(self, plane: usize, width: u32) -> Option<usize> {
        if plane >= self.plane_count() {
            return None;
        }
        let samples = if plane == 0 {
            width
        } else {
            let (shift_w, _) = self.chroma_shift();
            let chroma_width = width.div_ceil(1 << shift_w);
            // NV12/P010: Cb and Cr interleaved in one plane.
            if self.plane_count() == 2 {
                chroma_width.checked_mul(2)?
            } else {
                chroma_width
            }
        };
        usize::try_from(samples).ok()?.checked_mul(self.bytes_per_sample())
    }

    /// Rows in `plane`, or `None` when the format has no such plane.
    pub fn rows(self, plane: usize, height: u32) -> Option<usize> {
        if plane >= self.plane_count() {
            return None;
        }
        let rows = if plane == 0 { height } else { height.div_ceil(1 << self.chroma_shift().1) };
        usize::try_from(rows).ok()
    }

    /// ffmpeg's name for the format (`-pix_fmt`), e.g. `yuv420p10le`; `full_range` selects the
    /// `yuvj…` names that libavcodec uses for full-range 8-bit H.264.
    pub fn ffmpeg_name(self, full_range: bool) -> &'static str {
        match (self, full_range) {
            (Self::Yuv420p, true) => "yuvj420p",
            (Self::Yuv422p, true) => "yuvj422p",
            (Self::Yuv444p, true) => "yuvj444p",
            (Self::Yuv420p, false) => "yuv420p",
            (Self::Yuv422p, false) => "yuv422p",
            (Self::Yuv444p, false) => "yuv444p",
            (Self::Yuv420p10le, _) => "yuv420p10le",
            (Self::Yuv422p10le, _) => "yuv422p10le",
            (Self::Yuv444p10le, _) => "yuv444p10le",
            (Self::Gray8, _) => "gray",
            (Self::Gray10le, _) => "gray10le",
            (Self::Nv12, _) => "nv12",
            (Self::P010le, _) => "p010le",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_sizes_round_chroma_up() {
        let f = FramePixelFormat::Yuv420p;
        assert_eq!((f.row_bytes(0, 5), f.rows(0, 5)), (Some(5), Some(5)));
        assert_eq!((f.row_bytes(1, 5), f.rows(2, 5)), (Some(3), Some(3)));
        assert_eq!(f.row_bytes(3, 5), None);
        let f = FramePixelFormat::Yuv422p10le;
        assert_eq!((f.row_bytes(1, 5), f.rows(1, 5)), (Some(6), Some(5)));
    }

    #[test]
    fn semi_planar_chroma_rows_hold_both_components() {
        assert_eq!(FramePixelFormat::Nv12.row_bytes(1, 318), Some(318));
        assert_eq!(FramePixelFormat::Nv12.rows(1, 178), Some(89));
        assert_eq!(FramePixelFormat::P010le.row_bytes(1, 320), Some(640));
        assert_eq!(FramePixelFormat::P010le.row_bytes(2, 320), None);
    }

    #[test]
    fn names_match_ffmpeg() {
        assert_eq!(FramePixelFormat::Yuv420p.ffmpeg_name(true), "yuvj420p");
        assert_eq!(FramePixelFormat::Yuv420p10le.ffmpeg_name(true), "yuv420p10le");
        assert_eq!(FramePixelFormat::Gray8.ffmpeg_name(false), "gray");
    }
}
