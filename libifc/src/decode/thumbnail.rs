//! [`LumaThumbnail`]: a 32×18 area average of the luma plane, the cheap fingerprint that
//! change-based sampling compares.

use super::{Frame, FramePixelFormat};

pub const THUMBNAIL_WIDTH: usize = 32;
pub const THUMBNAIL_HEIGHT: usize = 18;

/// Mean luma of each cell of a 32×18 grid over the picture, on a 0–255 scale whatever the
/// bit depth. 16:9 cells for 16:9 pictures; other shapes simply get stretched cells.
#[derive(Debug, Clone, PartialEq)]
pub struct LumaThumbnail {
    cells: [f32; THUMBNAIL_WIDTH * THUMBNAIL_HEIGHT],
}

impl LumaThumbnail {
    /// Averages a luma plane (`stride` in bytes). `None` when the plane is smaller than
    /// `width`×`height` samples at that stride, or the size is zero.
    pub fn from_plane(plane: &[u8], stride: usize, width: u32, height: u32, pix_fmt: FramePixelFormat) -> Option<Self> {
        let (width, height) = (usize::try_from(width).ok()?, usize::try_from(height).ok()?);
        let bytes_per_sample = pix_fmt.bytes_per_sample();
        if width == 0 || height == 0 || stride < width.checked_mul(bytes_per_sample)? {
            return None;
        }
        let needed = (height - 1).checked_mul(stride)?.checked_add(width * bytes_per_sample)?;
        if plane.len() < needed {
            return None;
        }
        let shift = pix_fmt.shift_to_8bit();
        let scale = 1.0 / f64::from(1u32 << shift);
        let mut cells = [0f32; THUMBNAIL_WIDTH * THUMBNAIL_HEIGHT];
        for (cy, cell_row) in cells.chunks_exact_mut(THUMBNAIL_WIDTH).enumerate() {
            let (y0, y1) = cell_span(cy, THUMBNAIL_HEIGHT, height);
            for (cx, cell) in cell_row.iter_mut().enumerate() {
                let (x0, x1) = cell_span(cx, THUMBNAIL_WIDTH, width);
                let mut sum = 0u64;
                for y in y0..y1 {
                    let row = &plane[y * stride..];
                    sum += if bytes_per_sample == 1 {
                        row[x0..x1].iter().map(|&v| u64::from(v)).sum::<u64>()
                    } else {
                        row[2 * x0..2 * x1].chunks_exact(2).map(|b| u64::from(u16::from_le_bytes([b[0], b[1]]))).sum()
                    };
                }
                let count = ((y1 - y0) * (x1 - x0)) as f64;
                // Precision: a cell mean needs no more than f32 on a 0–255 scale.
                *cell = (sum as f64 / count * scale) as f32;
            }
        }
        Some(Self { cells })
    }

    /// The thumbnail of a frame's luma plane.
    pub fn of_frame(frame: &Frame) -> Option<Self> {
        let (plane, stride) = frame.plane(0)?;
        Self::from_plane(plane, stride, frame.width(), frame.height(), frame.pix_fmt())
    }

    /// Mean absolute difference of the cells, 0–255.
    pub fn mean_abs_diff(&self, other: &Self) -> f64 {
        let total: f64 = self.cells.iter().zip(&other.cells).map(|(a, b)| f64::from((a - b).abs())).sum();
        total / self.cells.len() as f64
    }

    pub fn cells(&self) -> &[f32] {
        &self.cells
    }
}

/// Sample range `[start, end)` of cell `index` of `cells` over `len` samples; never empty, so
/// pictures narrower than the grid repeat samples instead of leaving cells blank.
fn cell_span(index: usize, cells: usize, len: usize) -> (usize, usize) {
    let start = (index * len / cells).min(len - 1);
    let end = ((index + 1) * len / cells).max(start + 1);
    (start, end)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn gray(width: u32, height: u32, value: impl Fn(usize, usize) -> u8) -> Vec<u8> {
        let (w, h) = (width as usize, height as usize);
        (0..w * h).map(|i| value(i % w, i / w)).collect()
    }

    #[test]
    fn a_flat_picture_gives_flat_cells_at_any_size() {
        for (w, h) in [(320, 240), (7, 3), (1, 1), (1920, 1080)] {
            let plane = gray(w, h, |_, _| 77);
            let t = LumaThumbnail::from_plane(&plane, w as usize, w, h, FramePixelFormat::Gray8).unwrap();
            assert!(t.cells().iter().all(|&c| c == 77.0), "{w}x{h}");
        }
    }

    #[test]
    fn cells_average_their_area() {
        // 64x36: each cell is exactly 2x2 samples; alternate 0/255 columns average to 127.5.
        let plane = gray(64, 36, |x, _| if x % 2 == 0 { 0 } else { 255 });
        let t = LumaThumbnail::from_plane(&plane, 64, 64, 36, FramePixelFormat::Gray8).unwrap();
        assert!(t.cells().iter().all(|&c| c == 127.5));
        let black = LumaThumbnail::from_plane(&[0; 64 * 36], 64, 64, 36, FramePixelFormat::Gray8).unwrap();
        assert_eq!(t.mean_abs_diff(&black), 127.5);
    }

    #[test]
    fn ten_bit_samples_are_scaled_to_eight() {
        let plane: Vec<u8> = std::iter::repeat_n(800u16.to_le_bytes(), 32 * 18).flatten().collect();
        let t = LumaThumbnail::from_plane(&plane, 64, 32, 18, FramePixelFormat::Yuv420p10le).unwrap();
        assert!(t.cells().iter().all(|&c| c == 200.0));
        let p010: Vec<u8> = std::iter::repeat_n((800u16 << 6).to_le_bytes(), 32 * 18).flatten().collect();
        let t = LumaThumbnail::from_plane(&p010, 64, 32, 18, FramePixelFormat::P010le).unwrap();
        assert!(t.cells().iter().all(|&c| c == 200.0));
    }

    #[test]
    fn short_planes_and_strides_are_refused() {
        assert!(LumaThumbnail::from_plane(&[0; 10], 4, 4, 4, FramePixelFormat::Gray8).is_none());
        assert!(LumaThumbnail::from_plane(&[0; 64], 3, 4, 4, FramePixelFormat::Gray8).is_none());
        assert!(LumaThumbnail::from_plane(&[], 0, 0, 0, FramePixelFormat::Gray8).is_none());
    }
}
