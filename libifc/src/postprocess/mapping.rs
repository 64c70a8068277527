//! From model-input pixels back to source pixels.
//!
//! Preprocessing cuts a region of interest (ROI) from the source frame (the whole frame by
//! default), resizes it, and pads it to the model's input size (letterbox) or stretches it.
//! Boxes come out of the model in input pixels; they go back by undoing those steps in reverse:
//! remove the pad, scale to source pixels, add the ROI's origin, then clip to the ROI.
//!
//! At run time the preprocessing stage reports what it did as a
//! [`crate::preprocess::Geometry`], which implements [`SourceMapping`]. [`LetterboxMapping`]
//! is Ultralytics' letterbox computed from sizes alone, for tensors preprocessed elsewhere (a
//! Triton ensemble, a notebook) and for tests.

use super::BoxXyxy;
use crate::preprocess::Geometry;

/// Maps model-input pixel coordinates to source pixels. The preprocessing stage, which knows
/// the geometry it applied, provides this; tests and callers may use [`LetterboxMapping`] or a
/// closure through [`MappedBy`].
pub trait SourceMapping {
    /// The source pixel that model-input pixel `(x, y)` came from.
    fn to_source(&self, x: f64, y: f64) -> (f64, f64);

    /// The source area boxes are clipped to: the ROI, or the whole frame.
    fn source_bounds(&self) -> BoxXyxy;

    /// Maps a box's corners and clips it to [`Self::source_bounds`]. Corners are re-ordered, so
    /// a mapping that mirrors an axis still yields `x1 <= x2`.
    fn box_to_source(&self, b: &BoxXyxy) -> BoxXyxy {
        let (ax, ay) = self.to_source(b.x1, b.y1);
        let (bx, by) = self.to_source(b.x2, b.y2);
        let mapped = BoxXyxy { x1: ax.min(bx), y1: ay.min(by), x2: ax.max(bx), y2: ay.max(by) };
        mapped.clipped_to(&self.source_bounds())
    }
}

/// The affine geometry of a letterbox (or stretch) resize of a ROI, in the same terms as
/// [`Geometry`]: `x_source = roi_x + (x_input − pad_left) · scale_x` (and likewise for y).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LetterboxMapping {
    /// Source pixels per model-input pixel, horizontally (and vertically below).
    pub scale_x: f64,
    pub scale_y: f64,
    /// Padding added left of / above the resized image, in model-input pixels.
    pub pad_left: f64,
    pub pad_top: f64,
    /// The ROI's top-left corner in source pixels.
    pub roi_x: f64,
    pub roi_y: f64,
    /// Where mapped boxes are clipped to, in source pixels (the ROI).
    pub clip: BoxXyxy,
}

impl LetterboxMapping {
    /// Ultralytics' centred letterbox of a whole `source` frame into a `input` frame: scale by
    /// `r = min(in_w / src_w, in_h / src_h)`, resize to `round(src · r)`, pad each side by
    /// `round(d / 2 − 0.1)` where `d` is the slack (ultralytics `LetterBox`; the −0.1 puts the
    /// odd pixel on the right/bottom). `None` when a size is zero.
    pub fn letterbox(source_width: u32, source_height: u32, input_width: u32, input_height: u32) -> Option<Self> {
        let roi = BoxXyxy { x1: 0.0, y1: 0.0, x2: f64::from(source_width), y2: f64::from(source_height) };
        Self::letterbox_roi(roi, input_width, input_height)
    }

    /// A letterbox of the ROI `roi` (source pixels) into the model input.
    pub fn letterbox_roi(roi: BoxXyxy, input_width: u32, input_height: u32) -> Option<Self> {
        let (src_w, src_h) = (roi.width(), roi.height());
        let (in_w, in_h) = (f64::from(input_width), f64::from(input_height));
        if !(src_w > 0.0 && src_h > 0.0 && in_w > 0.0 && in_h > 0.0 && roi.is_finite()) {
            return None;
        }
        let r = (in_w / src_w).min(in_h / src_h);
        // The resized image is a whole number of pixels (rounded half to even, as Python's round()
        // in Ultralytics); its true scale is that size over the source's.
        let (resized_w, resized_h) = ((src_w * r).round_ties_even(), (src_h * r).round_ties_even());
        Some(Self {
            scale_x: src_w / resized_w,
            scale_y: src_h / resized_h,
            pad_left: ((in_w - resized_w) / 2.0 - 0.1).round().max(0.0),
            pad_top: ((in_h - resized_h) / 2.0 - 0.1).round().max(0.0),
            roi_x: roi.x1,
            roi_y: roi.y1,
            clip: roi,
        })
    }

    /// A stretch (no padding, aspect ratio not kept) of the ROI into the model input.
    pub fn stretch_roi(roi: BoxXyxy, input_width: u32, input_height: u32) -> Option<Self> {
        let (src_w, src_h) = (roi.width(), roi.height());
        if !(src_w > 0.0 && src_h > 0.0 && input_width > 0 && input_height > 0 && roi.is_finite()) {
            return None;
        }
        Some(Self {
            scale_x: src_w / f64::from(input_width),
            scale_y: src_h / f64::from(input_height),
            pad_left: 0.0,
            pad_top: 0.0,
            roi_x: roi.x1,
            roi_y: roi.y1,
            clip: roi,
        })
    }
}

impl SourceMapping for LetterboxMapping {
    fn to_source(&self, x: f64, y: f64) -> (f64, f64) {
        (self.roi_x + (x - self.pad_left) * self.scale_x, self.roi_y + (y - self.pad_top) * self.scale_y)
    }

    fn source_bounds(&self) -> BoxXyxy {
        self.clip
    }
}

/// What the preprocessing stage did to a frame; boxes clip to its region of interest.
impl SourceMapping for Geometry {
    fn to_source(&self, x: f64, y: f64) -> (f64, f64) {
        Geometry::to_source(self, x, y)
    }

    fn source_bounds(&self) -> BoxXyxy {
        BoxXyxy {
            x1: self.roi_x,
            y1: self.roi_y,
            x2: self.roi_x + f64::from(self.content_width) * self.scale_x,
            y2: self.roi_y + f64::from(self.content_height) * self.scale_y,
        }
    }
}

/// Any closure as a mapping, with the bounds to clip to (for the preprocessing stage's own
/// geometry type: `MappedBy { map: |x, y| geometry.to_source(x, y), bounds }`).
pub struct MappedBy<F> {
    pub map: F,
    pub bounds: BoxXyxy,
}

impl<F: Fn(f64, f64) -> (f64, f64)> SourceMapping for MappedBy<F> {
    fn to_source(&self, x: f64, y: f64) -> (f64, f64) {
        (self.map)(x, y)
    }

    fn source_bounds(&self) -> BoxXyxy {
        self.bounds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_1280x720_into_640() {
        // r = min(640/1280, 640/720) = 0.5; resized 640×360 (2 source pixels per input pixel);
        // vertical slack 280 → pad_top round(140 − 0.1) = 140; horizontal slack 0 → pad_left
        // round(−0.1) = 0.
        let m = LetterboxMapping::letterbox(1280, 720, 640, 640).unwrap();
        assert_eq!((m.scale_x, m.scale_y, m.pad_left, m.pad_top), (2.0, 2.0, 0.0, 140.0));
        // Input box (100, 240)–(200, 300): x · 2 → 200..400; (y − 140) · 2 → 200..320.
        let b = m.box_to_source(&BoxXyxy { x1: 100.0, y1: 240.0, x2: 200.0, y2: 300.0 });
        assert_eq!(b, BoxXyxy { x1: 200.0, y1: 200.0, x2: 400.0, y2: 320.0 });
        // A box reaching into the bottom pad (y up to 520 = 140 + 360 + 20) is clipped at 720:
        // (520 − 140) · 2 = 760 → 720.
        let b = m.box_to_source(&BoxXyxy { x1: 600.0, y1: 480.0, x2: 660.0, y2: 520.0 });
        assert_eq!(b, BoxXyxy { x1: 1200.0, y1: 680.0, x2: 1280.0, y2: 720.0 });
    }

    #[test]
    fn letterbox_odd_slack_puts_extra_pixel_right() {
        // 500×333 into 640×640: r = min(1.28, 1.921922) = 1.28; resized round(640) × round(426.24)
        // = 640×426; slack 214 vertically → pad_top round(107 − 0.1) = 107.
        let m = LetterboxMapping::letterbox(500, 333, 640, 640).unwrap();
        assert_eq!((m.pad_left, m.pad_top), (0.0, 107.0));
        assert_eq!(m.scale_y, 333.0 / 426.0);
        // 3-pixel slack: 2 × 1.5; round(1.5 − 0.1) = 1 left, 2 right.
        let m = LetterboxMapping::letterbox(100, 100, 103, 100).unwrap();
        assert_eq!((m.scale_x, m.pad_left, m.pad_top), (1.0, 1.0, 0.0));
    }

    #[test]
    fn agrees_with_the_geometry_preprocessing_reports() {
        use crate::codec::ColourDescription;
        use crate::preprocess::{
            output_len_bytes, preprocess_into, FrameView, PixelFormat, Plane, PreprocessSpec, Rect,
        };
        // Grey 4:2:0 frames of a few sizes, letterboxed by the real preprocessor; its Geometry
        // and LetterboxMapping must put a box in the same place. Sizes where the resized side
        // is a whole number (no rounding-convention difference).
        for (src_w, src_h, in_w, in_h, roi) in [
            (1280u32, 720u32, 640u32, 640u32, None),
            (1920, 1080, 640, 384, None),
            (320, 240, 416, 416, Some(Rect::new(40, 20, 200, 100))),
        ] {
            let (w, h) = (src_w as usize, src_h as usize);
            let (y, u, v) = (vec![128u8; w * h], vec![128u8; w * h / 4], vec![128u8; w * h / 4]);
            let frame = FrameView::new(
                PixelFormat::Yuv420p,
                src_w,
                src_h,
                [Plane::new(&y, w), Plane::new(&u, w / 2), Plane::new(&v, w / 2)],
                ColourDescription::default(),
            );
            let spec = PreprocessSpec::default().with_output_size(in_w, in_h).with_roi(roi);
            let mut out = vec![0u8; output_len_bytes(&spec, 1)];
            let geometry = preprocess_into(&frame, &spec, &mut out, 0).unwrap();
            let roi_box =
                roi.map_or(BoxXyxy { x1: 0.0, y1: 0.0, x2: f64::from(src_w), y2: f64::from(src_h) }, |r| BoxXyxy {
                    x1: f64::from(r.x),
                    y1: f64::from(r.y),
                    x2: f64::from(r.x + r.width),
                    y2: f64::from(r.y + r.height),
                });
            let ours = LetterboxMapping::letterbox_roi(roi_box, in_w, in_h).unwrap();
            assert_eq!(geometry.source_bounds(), ours.source_bounds());
            for b in [
                BoxXyxy { x1: 10.0, y1: 150.0, x2: 300.0, y2: 200.0 },
                BoxXyxy { x1: -20.0, y1: -20.0, x2: f64::from(in_w) + 20.0, y2: f64::from(in_h) + 20.0 },
            ] {
                let (g, o) = (geometry.box_to_source(&b), ours.box_to_source(&b));
                for (a, c) in [(g.x1, o.x1), (g.y1, o.y1), (g.x2, o.x2), (g.y2, o.y2)] {
                    assert!((a - c).abs() < 1e-9, "{src_w}×{src_h} → {in_w}×{in_h}: {g:?} vs {o:?}");
                }
            }
        }
    }

    #[test]
    fn roi_origin_is_added_and_boxes_clip_to_the_roi() {
        // ROI 200×100 at (1000, 500), stretched into 400×400: scale_x 1/2, scale_y 1/4.
        let roi = BoxXyxy { x1: 1000.0, y1: 500.0, x2: 1200.0, y2: 600.0 };
        let m = LetterboxMapping::stretch_roi(roi, 400, 400).unwrap();
        assert_eq!(m.to_source(0.0, 0.0), (1000.0, 500.0));
        assert_eq!(m.to_source(400.0, 400.0), (1200.0, 600.0));
        // Input (100, 100)–(500, 200): x 1050..1250 → clipped 1200; y 525..550.
        let b = m.box_to_source(&BoxXyxy { x1: 100.0, y1: 100.0, x2: 500.0, y2: 200.0 });
        assert_eq!(b, BoxXyxy { x1: 1050.0, y1: 525.0, x2: 1200.0, y2: 550.0 });
    }

    #[test]
    fn zero_sizes_give_no_mapping() {
        assert!(LetterboxMapping::letterbox(0, 10, 640, 640).is_none());
        assert!(LetterboxMapping::letterbox(10, 10, 640, 0).is_none());
        let empty = BoxXyxy { x1: 5.0, y1: 5.0, x2: 5.0, y2: 9.0 };
        assert!(LetterboxMapping::stretch_roi(empty, 10, 10).is_none());
    }

    #[test]
    fn closure_mapping_reorders_mirrored_corners() {
        // A horizontal mirror about x = 50 on a 100×100 frame.
        let m = MappedBy {
            map: |x: f64, y: f64| (100.0 - x, y),
            bounds: BoxXyxy { x1: 0.0, y1: 0.0, x2: 100.0, y2: 100.0 },
        };
        let b = m.box_to_source(&BoxXyxy { x1: 10.0, y1: 20.0, x2: 30.0, y2: 40.0 });
        assert_eq!(b, BoxXyxy { x1: 70.0, y1: 20.0, x2: 90.0, y2: 40.0 });
    }
}
