//! Where the region of interest lands in the model input ([`ContentBox`]) and the mapping
//! between model-input and source pixel coordinates ([`Geometry`]).

use super::spec::{Fit, PreprocessSpec, Rect};
use super::PreprocessError;

/// Maps model-input pixel coordinates to source pixel coordinates and back.
///
/// Coordinates are continuous with pixel `i` covering `[i, i + 1)`, so pixel centres are at
/// `i + 0.5` on both sides. `scale_x` is source pixels per model pixel.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Geometry {
    pub scale_x: f64,
    pub scale_y: f64,
    /// Left edge of the resized image in the model input, in model pixels.
    pub pad_left: f64,
    pub pad_top: f64,
    /// Left edge of the region of interest in the frame, in source pixels.
    pub roi_x: f64,
    pub roi_y: f64,
    /// Size of the resized image inside the model input (the rest is padding).
    pub content_width: u32,
    pub content_height: u32,
}

impl Geometry {
    /// Model-input point → source point (e.g. a detection box corner back onto the frame).
    pub fn to_source(&self, x: f64, y: f64) -> (f64, f64) {
        (self.roi_x + (x - self.pad_left) * self.scale_x, self.roi_y + (y - self.pad_top) * self.scale_y)
    }

    /// Source point → model-input point.
    pub fn to_model(&self, x: f64, y: f64) -> (f64, f64) {
        ((x - self.roi_x) / self.scale_x + self.pad_left, (y - self.roi_y) / self.scale_y + self.pad_top)
    }
}

/// The rectangle of the output that the resized region of interest fills, in output pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentBox {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

impl ContentBox {
    /// Stretch fills the output. Letterbox scales by `r = min(W / w, H / h)`: the limiting
    /// axis gets the full output size, the other `round(size * r)` (half rounds up, at least
    /// 1), and the image is centred with the odd pixel of padding on the right or bottom.
    /// Integer arithmetic, so the CUDA kernel reproduces it bit for bit.
    pub(crate) fn new(roi: Rect, spec: &PreprocessSpec) -> Self {
        let (out_w, out_h) = (spec.out_width, spec.out_height);
        let (width, height) = match spec.fit {
            Fit::Stretch => (out_w, out_h),
            Fit::Letterbox { .. } => {
                let (rw, rh) = (u128::from(roi.width), u128::from(roi.height));
                let (ow, oh) = (u128::from(out_w), u128::from(out_h));
                let round_div = |num: u128, den: u128| (2 * num + den) / (2 * den);
                if ow * rh <= oh * rw {
                    let h = round_div(rh * ow, rw).clamp(1, oh);
                    (out_w, u32::try_from(h).unwrap_or(out_h))
                } else {
                    let w = round_div(rw * oh, rh).clamp(1, ow);
                    (u32::try_from(w).unwrap_or(out_w), out_h)
                }
            }
        };
        Self { left: (out_w - width) / 2, top: (out_h - height) / 2, width, height }
    }

    pub(crate) fn geometry(self, roi: Rect) -> Geometry {
        Geometry {
            scale_x: f64::from(roi.width) / f64::from(self.width),
            scale_y: f64::from(roi.height) / f64::from(self.height),
            pad_left: f64::from(self.left),
            pad_top: f64::from(self.top),
            roi_x: f64::from(roi.x),
            roi_y: f64::from(roi.y),
            content_width: self.width,
            content_height: self.height,
        }
    }
}

/// The spec's region of interest, or the whole frame; it must be non-empty and inside.
pub(crate) fn resolve_roi(spec: &PreprocessSpec, width: u32, height: u32) -> Result<Rect, PreprocessError> {
    let Some(roi) = spec.roi else { return Ok(Rect::new(0, 0, width, height)) };
    let inside = |start: u32, len: u32, limit: u32| len > 0 && start.checked_add(len).is_some_and(|end| end <= limit);
    if inside(roi.x, roi.width, width) && inside(roi.y, roi.height, height) {
        Ok(roi)
    } else {
        Err(PreprocessError::RoiOutsideFrame { roi, width, height })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letterbox(out_w: u32, out_h: u32, roi_w: u32, roi_h: u32) -> ContentBox {
        let spec = PreprocessSpec::default().with_output_size(out_w, out_h);
        ContentBox::new(Rect::new(0, 0, roi_w, roi_h), &spec)
    }

    #[test]
    fn full_hd_letterboxes_to_640x360_centred() {
        assert_eq!(letterbox(640, 640, 1920, 1080), ContentBox { left: 0, top: 140, width: 640, height: 360 });
        assert_eq!(letterbox(640, 640, 1080, 1920), ContentBox { left: 140, top: 0, width: 360, height: 640 });
    }

    #[test]
    fn odd_padding_goes_right_and_bottom_and_content_is_never_empty() {
        // 640 * 239 / 320 = 478: 162 rows of padding split 81 / 81; then 199 rows split 99 / 100.
        assert_eq!(letterbox(640, 640, 320, 239), ContentBox { left: 0, top: 81, width: 640, height: 478 });
        assert_eq!(letterbox(101, 300, 10, 10), ContentBox { left: 0, top: 99, width: 101, height: 101 });
        assert_eq!(letterbox(640, 640, 100_000, 2), ContentBox { left: 0, top: 319, width: 640, height: 1 });
    }

    #[test]
    fn letterbox_keeps_aspect_ratio_within_half_a_pixel() {
        for (ow, oh, rw, rh) in [(640, 640, 1920, 1080), (300, 200, 7, 13), (17, 999, 4096, 2160), (5, 5, 2, 3)] {
            let b = letterbox(ow, oh, rw, rh);
            assert!(b.width == ow || b.height == oh);
            let r = (f64::from(ow) / f64::from(rw)).min(f64::from(oh) / f64::from(rh));
            assert!((f64::from(b.width) - f64::from(rw) * r).abs() <= 0.5, "{b:?}");
            assert!((f64::from(b.height) - f64::from(rh) * r).abs() <= 0.5, "{b:?}");
        }
    }

    #[test]
    fn model_and_source_coordinates_round_trip() {
        let roi = Rect::new(100, 40, 1720, 1000);
        let spec = PreprocessSpec::default().with_output_size(640, 384);
        let g = ContentBox::new(roi, &spec).geometry(roi);
        // The content box's corners are the ROI's corners.
        assert_eq!(g.to_source(g.pad_left, g.pad_top), (100.0, 40.0));
        let (x, y) = g.to_source(g.pad_left + f64::from(g.content_width), g.pad_top + f64::from(g.content_height));
        assert!((x - 1820.0).abs() < 1e-9 && (y - 1040.0).abs() < 1e-9);
        for (mx, my) in [(0.0, 0.0), (320.5, 17.25), (639.0, 383.0), (-5.0, 1000.0)] {
            let (sx, sy) = g.to_source(mx, my);
            let (bx, by) = g.to_model(sx, sy);
            assert!((bx - mx).abs() < 1e-9 && (by - my).abs() < 1e-9, "({mx}, {my}) -> ({bx}, {by})");
        }
    }

    #[test]
    fn roi_must_be_inside_and_non_empty() {
        let spec = |roi| PreprocessSpec::default().with_roi(Some(roi));
        assert_eq!(resolve_roi(&spec(Rect::new(2, 2, 8, 8)), 10, 10), Ok(Rect::new(2, 2, 8, 8)));
        for roi in [Rect::new(2, 2, 9, 8), Rect::new(0, 0, 0, 4), Rect::new(u32::MAX, 0, 2, 2)] {
            assert!(matches!(resolve_roi(&spec(roi), 10, 10), Err(PreprocessError::RoiOutsideFrame { .. })));
        }
        assert_eq!(resolve_roi(&PreprocessSpec::default(), 6, 4), Ok(Rect::new(0, 0, 6, 4)));
    }
}
