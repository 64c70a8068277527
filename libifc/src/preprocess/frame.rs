//! [`FrameView`]: a decoded 4:2:0 picture as plane slices (libavcodec's buffers, or anything
//! laid out the same way), and the checks that make every later row access in bounds.

use crate::codec::ColourDescription;

use super::PreprocessError;

/// Memory layout of a decoded 4:2:0 frame (ffmpeg's names in [`PixelFormat::ffmpeg_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Three planes Y, U, V of 8-bit samples; U and V at half width and height.
    Yuv420p,
    /// Two planes: Y, then U and V interleaved (U first) at half height.
    Nv12,
    /// Like `Yuv420p` with 16-bit little-endian samples whose low 10 bits are significant.
    Yuv420p10le,
    /// Like `Nv12` with 16-bit little-endian samples whose high 10 bits are significant.
    P010le,
}

/// How a format stores one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SampleKind {
    U8,
    /// 16-bit LE, value in bits 0..10; the upper bits are ignored.
    U16Low10,
    /// 16-bit LE, value in bits 6..16; the lower bits are ignored.
    U16High10,
}

impl SampleKind {
    pub(crate) fn bytes(self) -> usize {
        match self {
            SampleKind::U8 => 1,
            SampleKind::U16Low10 | SampleKind::U16High10 => 2,
        }
    }
}

impl PixelFormat {
    /// Significant bits per sample.
    pub fn bit_depth(self) -> u32 {
        match self {
            PixelFormat::Yuv420p | PixelFormat::Nv12 => 8,
            PixelFormat::Yuv420p10le | PixelFormat::P010le => 10,
        }
    }

    /// Planes used; the rest of [`FrameView::planes`] is ignored.
    pub fn plane_count(self) -> usize {
        if self.interleaved_chroma() {
            2
        } else {
            3
        }
    }

    pub fn ffmpeg_name(self) -> &'static str {
        match self {
            PixelFormat::Yuv420p => "yuv420p",
            PixelFormat::Nv12 => "nv12",
            PixelFormat::Yuv420p10le => "yuv420p10le",
            PixelFormat::P010le => "p010le",
        }
    }

    pub(crate) fn interleaved_chroma(self) -> bool {
        matches!(self, PixelFormat::Nv12 | PixelFormat::P010le)
    }

    pub(crate) fn sample_kind(self) -> SampleKind {
        match self {
            PixelFormat::Yuv420p | PixelFormat::Nv12 => SampleKind::U8,
            PixelFormat::Yuv420p10le => SampleKind::U16Low10,
            PixelFormat::P010le => SampleKind::U16High10,
        }
    }
}

/// One plane: rows of samples `stride_bytes` apart. The last row need not be padded to the
/// stride.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plane<'a> {
    pub data: &'a [u8],
    pub stride_bytes: usize,
}

impl<'a> Plane<'a> {
    pub fn new(data: &'a [u8], stride_bytes: usize) -> Self {
        Self { data, stride_bytes }
    }
}

/// A decoded frame, borrowed. `planes` holds Y, U, V (planar formats) or Y, UV (interleaved
/// formats, third plane unused).
#[derive(Debug, Clone, Copy)]
pub struct FrameView<'a> {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub planes: [Plane<'a>; 3],
    /// Selects the YUV→RGB matrix and range unless the spec overrides them.
    pub colour: ColourDescription,
}

/// The chroma samples of one chroma row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ChromaRow<'a> {
    Planar { u: &'a [u8], v: &'a [u8] },
    Interleaved(&'a [u8]),
}

impl<'a> FrameView<'a> {
    pub fn new(
        format: PixelFormat,
        width: u32,
        height: u32,
        planes: [Plane<'a>; 3],
        colour: ColourDescription,
    ) -> Self {
        Self { format, width, height, planes, colour }
    }

    /// Checks the size and every used plane against its stride, so that all rows the
    /// kernels read exist.
    pub(crate) fn validate(&self) -> Result<(), PreprocessError> {
        let (width, height) = (self.width, self.height);
        if width == 0 || height == 0 {
            return Err(PreprocessError::EmptyFrame { width, height });
        }
        if width % 2 != 0 || height % 2 != 0 {
            return Err(PreprocessError::OddSize { format: self.format, width, height });
        }
        for (plane, &(row_bytes, rows)) in self.plane_shapes().iter().enumerate().take(self.format.plane_count()) {
            let Plane { data, stride_bytes } = self.planes[plane];
            if stride_bytes < row_bytes {
                return Err(PreprocessError::StrideTooSmall { plane, stride_bytes, row_bytes });
            }
            let needed = (rows - 1).checked_mul(stride_bytes).and_then(|n| n.checked_add(row_bytes));
            if needed.is_none_or(|needed| data.len() < needed) {
                return Err(PreprocessError::PlaneTooSmall {
                    plane,
                    len_bytes: data.len(),
                    rows,
                    row_bytes,
                    stride_bytes,
                });
            }
        }
        Ok(())
    }

    /// `(bytes per row, rows)` of each plane of a frame that passed the size checks.
    fn plane_shapes(&self) -> [(usize, usize); 3] {
        plane_shapes(self.format, self.width, self.height)
    }

    /// Bytes of `plane` row `row`, columns `first..first + count` in samples (interleaved UV
    /// counts U and V separately). Empty when out of range, which validation rules out.
    fn row_bytes(&self, plane: usize, row: usize, first: usize, count: usize) -> &'a [u8] {
        let sample = self.format.sample_kind().bytes();
        let Some(p) = self.planes.get(plane) else { return &[] };
        let range = row
            .checked_mul(p.stride_bytes)
            .and_then(|start| start.checked_add(first.checked_mul(sample)?))
            .and_then(|start| Some(start..start.checked_add(count.checked_mul(sample)?)?));
        range.and_then(|range| p.data.get(range)).unwrap_or(&[])
    }

    /// Luma samples `first..first + count` of row `y`.
    pub(crate) fn luma_row(&self, y: usize, first: usize, count: usize) -> &'a [u8] {
        self.row_bytes(0, y, first, count)
    }

    /// Chroma samples `first..first + count` (in chroma columns) of chroma row `cy`.
    pub(crate) fn chroma_row(&self, cy: usize, first: usize, count: usize) -> ChromaRow<'a> {
        if self.format.interleaved_chroma() {
            ChromaRow::Interleaved(self.row_bytes(1, cy, 2 * first, 2 * count))
        } else {
            ChromaRow::Planar { u: self.row_bytes(1, cy, first, count), v: self.row_bytes(2, cy, first, count) }
        }
    }
}

/// `(bytes per row, rows)` of each plane of an even-sized `format` frame (the third plane of
/// an interleaved format is unused: `(0, 1)`). Shared with the CUDA path's device frames.
pub(crate) fn plane_shapes(format: PixelFormat, width: u32, height: u32) -> [(usize, usize); 3] {
    let sample = format.sample_kind().bytes();
    let width = width as usize;
    let (height, chroma_rows) = (height as usize, height as usize / 2);
    let luma = (width * sample, height);
    if format.interleaved_chroma() {
        [luma, (width * sample, chroma_rows), (0, 1)]
    } else {
        [luma, (width / 2 * sample, chroma_rows), (width / 2 * sample, chroma_rows)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(format: PixelFormat, width: u32, height: u32, planes: [Plane<'_>; 3]) -> FrameView<'_> {
        FrameView::new(format, width, height, planes, ColourDescription::default())
    }

    #[test]
    fn nv12_needs_only_two_planes_and_an_unpadded_last_row() {
        let y = [0u8; 8 * 3 + 6];
        let uv = [0u8; 8 + 6];
        let f = frame(PixelFormat::Nv12, 6, 4, [Plane::new(&y, 8), Plane::new(&uv, 8), Plane::default()]);
        assert_eq!(f.validate(), Ok(()));
    }

    #[test]
    fn a_plane_one_byte_short_is_rejected_with_its_index() {
        let y = [0u8; 16];
        let c = [0u8; 4];
        let f = frame(PixelFormat::Yuv420p, 4, 4, [Plane::new(&y, 4), Plane::new(&c, 2), Plane::new(&c[..3], 2)]);
        assert!(matches!(f.validate(), Err(PreprocessError::PlaneTooSmall { plane: 2, len_bytes: 3, .. })));
    }

    #[test]
    fn ten_bit_rows_are_twice_as_wide() {
        let y = [0u8; 4 * 4 * 2];
        let c = [0u8; 2 * 2 * 2];
        let f = frame(PixelFormat::Yuv420p10le, 4, 4, [Plane::new(&y, 4), Plane::new(&c, 4), Plane::new(&c, 4)]);
        assert_eq!(f.validate(), Err(PreprocessError::StrideTooSmall { plane: 0, stride_bytes: 4, row_bytes: 8 }));
    }

    #[test]
    fn odd_and_empty_sizes_are_rejected() {
        let f = frame(PixelFormat::P010le, 5, 4, [Plane::default(); 3]);
        assert!(matches!(f.validate(), Err(PreprocessError::OddSize { width: 5, .. })));
        let f = frame(PixelFormat::P010le, 0, 4, [Plane::default(); 3]);
        assert!(matches!(f.validate(), Err(PreprocessError::EmptyFrame { .. })));
    }

    #[test]
    fn huge_strides_do_not_overflow() {
        let y = [0u8; 16];
        let f = frame(PixelFormat::Nv12, 4, 4, [Plane::new(&y, usize::MAX), Plane::new(&y, 4), Plane::default()]);
        assert!(matches!(f.validate(), Err(PreprocessError::PlaneTooSmall { plane: 0, .. })));
    }

    #[test]
    fn rows_are_read_at_their_stride() {
        let y: Vec<u8> = (0..24).collect();
        let uv: Vec<u8> = (100..112).collect();
        let f = frame(PixelFormat::Nv12, 4, 4, [Plane::new(&y, 6), Plane::new(&uv, 6), Plane::default()]);
        assert_eq!(f.validate(), Ok(()));
        assert_eq!(f.luma_row(2, 1, 3), &[13, 14, 15]);
        assert!(matches!(f.chroma_row(1, 1, 1), ChromaRow::Interleaved(&[108, 109])));
    }
}
