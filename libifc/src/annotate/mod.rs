//! Drawing results onto RGB images: box outlines and labels (class name and score) in a
//! built-in bitmap font ([`font`]), for NG snapshots and previews.
//!
//! Images are packed RGB24 (`width × height × 3` bytes, rows top first, no padding), as
//! [`crate::preprocess::convert_to_rgb24`] writes them. Everything is clipped to the image:
//! a box or label partly (or wholly) outside draws only what lies inside, and nothing here
//! panics on any coordinates.

#![forbid(unsafe_code)]

pub mod font;

use crate::postprocess::{BoxXyxy, Detection};
use crate::verdict::Verdict;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Outline of detections that made a rule fire.
pub const NG_COLOUR: Rgb = [255, 32, 32];
/// Outline of the other detections.
pub const OK_COLOUR: Rgb = [32, 224, 64];
/// Label text colour (on a background of the box colour).
pub const TEXT_COLOUR: Rgb = [0, 0, 0];

/// A packed RGB24 image borrowed for drawing.
pub struct RgbCanvas<'a> {
    width: u32,
    height: u32,
    data: &'a mut [u8],
}

/// Why a buffer cannot be drawn on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("annotate: a {width}x{height} RGB image needs {needed} bytes, got {got}")]
pub struct CanvasSizeError {
    pub width: u32,
    pub height: u32,
    pub needed: String,
    pub got: usize,
}

impl<'a> RgbCanvas<'a> {
    /// Wraps `data`, which must hold exactly `width × height × 3` bytes.
    pub fn new(width: u32, height: u32, data: &'a mut [u8]) -> Result<Self, CanvasSizeError> {
        let needed = (width as usize).checked_mul(height as usize).and_then(|n| n.checked_mul(3));
        if needed != Some(data.len()) {
            return Err(CanvasSizeError {
                width,
                height,
                needed: needed.map_or_else(|| "more than usize::MAX".to_owned(), |n| n.to_string()),
                got: data.len(),
            });
        }
        Ok(Self { width, height, data })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The colour at `(x, y)`, `None` outside the image.
    pub fn pixel(&self, x: i64, y: i64) -> Option<Rgb> {
        let i = self.index(x, y)?;
        let px = self.data.get(i..i + 3)?;
        Some([px[0], px[1], px[2]])
    }

    /// Sets one pixel; outside the image does nothing.
    pub fn put(&mut self, x: i64, y: i64, colour: Rgb) {
        if let Some(i) = self.index(x, y) {
            if let Some(px) = self.data.get_mut(i..i + 3) {
                px.copy_from_slice(&colour);
            }
        }
    }

    fn index(&self, x: i64, y: i64) -> Option<usize> {
        let (x, y) = (u32::try_from(x).ok()?, u32::try_from(y).ok()?);
        if x >= self.width || y >= self.height {
            return None;
        }
        // In range: y·width + x < width·height, and ·3 fits because `new` checked the length.
        Some((y as usize * self.width as usize + x as usize) * 3)
    }

    /// Fills the rectangle of pixels `x0..x1 × y0..y1` (half-open), clipped to the image.
    pub fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, colour: Rgb) {
        let (x0, x1) = (x0.max(0), x1.min(i64::from(self.width)));
        let (y0, y1) = (y0.max(0), y1.min(i64::from(self.height)));
        for y in y0..y1 {
            for x in x0..x1 {
                self.put(x, y, colour);
            }
        }
    }

    /// Outlines the pixels `x0..=x1 × y0..=y1` with lines `thickness` pixels wide drawn
    /// inward from the edge, so the outline never covers anything outside the box.
    pub fn stroke_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, thickness: u32, colour: Rgb) {
        if x1 < x0 || y1 < y0 || thickness == 0 {
            return;
        }
        let t = i64::from(thickness);
        let (right, bottom) = (x1.saturating_add(1), y1.saturating_add(1));
        self.fill_rect(x0, y0, right, y0.saturating_add(t).min(bottom), colour); // top
        self.fill_rect(x0, bottom.saturating_sub(t).max(y0), right, bottom, colour); // bottom
        self.fill_rect(x0, y0, x0.saturating_add(t).min(right), bottom, colour); // left
        self.fill_rect(right.saturating_sub(t).max(x0), y0, right, bottom, colour);
        // right
    }

    /// Draws `text` with its top-left corner at `(x, y)`, each font pixel `scale × scale`
    /// image pixels. Only ink is drawn; the caller fills a background first if it wants one.
    pub fn draw_text(&mut self, x: i64, y: i64, text: &str, scale: u32, colour: Rgb) {
        let s = i64::from(scale.max(1));
        for (n, c) in text.chars().enumerate() {
            let g = font::glyph(c);
            let left = x.saturating_add((n as i64).saturating_mul(i64::from(font::CELL_WIDTH) * s));
            for gy in 0..font::GLYPH_HEIGHT {
                for gx in 0..font::GLYPH_WIDTH {
                    if font::is_ink(&g, gx, gy) {
                        let px = left.saturating_add(i64::from(gx) * s);
                        let py = y.saturating_add(i64::from(gy) * s);
                        self.fill_rect(px, py, px.saturating_add(s), py.saturating_add(s), colour);
                    }
                }
            }
        }
    }

    /// Size in image pixels of `text` drawn at `scale` (one cell per character).
    pub fn text_size(text: &str, scale: u32) -> (u32, u32) {
        let n = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
        (n.saturating_mul(font::CELL_WIDTH).saturating_mul(scale.max(1)), font::CELL_HEIGHT * scale.max(1))
    }

    /// Outlines `bbox` (source pixels, continuous: pixel `i` covers `[i, i + 1)`) and puts
    /// `label` on a filled tab of the same colour just above it (inside, at the top, when
    /// there is no room above).
    pub fn draw_labelled_box(&mut self, bbox: &BoxXyxy, label: &str, colour: Rgb, thickness: u32, text_scale: u32) {
        if !bbox.is_finite() {
            return;
        }
        // Corners to the pixels they fall in (the right/bottom edges are exclusive).
        let clamp = |v: f64| v.clamp(-1e9, 1e9);
        let (x0, y0) = (clamp(bbox.x1).floor() as i64, clamp(bbox.y1).floor() as i64);
        let (x1, y1) = ((clamp(bbox.x2).ceil() as i64 - 1).max(x0), (clamp(bbox.y2).ceil() as i64 - 1).max(y0));
        self.stroke_rect(x0, y0, x1, y1, thickness, colour);
        if label.is_empty() {
            return;
        }
        let (tw, th) = Self::text_size(label, text_scale);
        let pad = i64::from(text_scale.max(1));
        let tab_h = i64::from(th) + pad;
        let tab_top = if y0 - tab_h >= 0 { y0 - tab_h } else { y0 };
        self.fill_rect(x0, tab_top, x0 + i64::from(tw) + 2 * pad, tab_top + tab_h, colour);
        self.draw_text(x0 + pad, tab_top + pad, label, text_scale, TEXT_COLOUR);
    }
}

/// The label drawn for a detection: `name 0.91`.
pub fn detection_label(d: &Detection) -> String {
    format!("{} {:.2}", d.class_name, d.score)
}

/// Draws every detection of a frame: the ones a fired rule selected in [`NG_COLOUR`], the
/// rest in [`OK_COLOUR`]; line and text sizes grow with the image (1 px per 400 px of height).
pub fn annotate_frame(canvas: &mut RgbCanvas<'_>, detections: &[Detection], verdict: &Verdict) {
    let scale = (canvas.height() / 400).clamp(1, 8);
    let thickness = scale * 2;
    let fired = |i: usize| verdict.fired.iter().any(|h| h.detection_indices.contains(&i));
    // NG boxes last, so they are on top where boxes overlap.
    let order = (0..detections.len()).filter(|&i| !fired(i)).chain((0..detections.len()).filter(|&i| fired(i)));
    for i in order {
        if let Some(d) = detections.get(i) {
            let colour = if fired(i) { NG_COLOUR } else { OK_COLOUR };
            canvas.draw_labelled_box(&d.bbox, &detection_label(d), colour, thickness, scale);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;
