//! Postprocessing: model outputs (`&[f32]` plus a shape) in, class scores or detections in
//! source pixels out. Sans-IO and allocation-bounded by the output's own length.
//!
//! - [`classify`](mod@classify): numerically stable softmax and top-k with class names.
//! - [`yolo`]: the two YOLO output layouts users bring most, recognised from the shape:
//!   YOLOv5 `[N, boxes, 5 + classes]` and YOLOv8/YOLO11 `[N, 4 + classes, boxes]`.
//! - [`nms`](mod@nms): class-aware non-maximum suppression, deterministic on ties.
//! - [`mapping`]: model-input pixels back to source pixels through the letterbox.
//! - [`labels`]: class names from a labels file (plain lines, a YAML/JSON list, or the
//!   `names:` mapping Ultralytics writes).
//! - [`detect`]: the whole detection path (decode → threshold → NMS → map → clip).
//!
//! Boxes are `f64` once decoded: model outputs are `f32`, but mapping to source pixels and
//! the IoU arithmetic gain nothing from rounding twice.

#![forbid(unsafe_code)]

pub mod classify;
pub mod detect;
pub mod labels;
pub mod mapping;
pub mod nms;
pub mod yolo;

#[cfg(test)]
pub(crate) mod numpy_reference;

pub use classify::{as_detections, classify, softmax, top_k, ClassScore, ClassificationParams};
pub use detect::{decode_detections, DetectionParams};
pub use labels::{parse_labels, Labels};
pub use mapping::{LetterboxMapping, MappedBy, SourceMapping};
pub use nms::{iou, nms, NmsParams};
pub use yolo::{detect_layout, YoloLayout};

use serde::{Deserialize, Serialize};

/// An axis-aligned box by its corners, `x1 <= x2`, `y1 <= y2` once normalised; pixel units of
/// whatever image the context names (model input before mapping, source after).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxXyxy {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

impl BoxXyxy {
    /// From YOLO's centre/size form.
    pub fn from_cxcywh(cx: f64, cy: f64, w: f64, h: f64) -> Self {
        Self { x1: cx - w / 2.0, y1: cy - h / 2.0, x2: cx + w / 2.0, y2: cy + h / 2.0 }
    }

    pub fn width(&self) -> f64 {
        self.x2 - self.x1
    }

    pub fn height(&self) -> f64 {
        self.y2 - self.y1
    }

    /// Area, 0 for an empty or inverted box.
    pub fn area(&self) -> f64 {
        self.width().max(0.0) * self.height().max(0.0)
    }

    pub fn centre(&self) -> (f64, f64) {
        ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)
    }

    /// The overlap of two boxes (possibly empty: then `area()` is 0).
    pub fn intersection(&self, other: &Self) -> Self {
        Self {
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
            x2: self.x2.min(other.x2),
            y2: self.y2.min(other.y2),
        }
    }

    /// Clamps every corner into `bounds`.
    pub fn clipped_to(&self, bounds: &Self) -> Self {
        Self {
            x1: self.x1.clamp(bounds.x1, bounds.x2),
            y1: self.y1.clamp(bounds.y1, bounds.y2),
            x2: self.x2.clamp(bounds.x1, bounds.x2),
            y2: self.y2.clamp(bounds.y1, bounds.y2),
        }
    }

    pub fn is_finite(&self) -> bool {
        self.x1.is_finite() && self.y1.is_finite() && self.x2.is_finite() && self.y2.is_finite()
    }
}

/// One detected object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detection {
    pub class_id: u32,
    /// The class's name from the labels, or its decimal id when there are no labels.
    pub class_name: String,
    /// Confidence in [0, 1] (YOLOv5: objectness × class score; YOLOv8: class score).
    pub score: f32,
    /// In source pixels, clipped to the source image (or region of interest).
    pub bbox: BoxXyxy,
}

/// A model output as the runtime hands it over: a name (for messages), a shape, and the
/// row-major data.
#[derive(Debug, Clone, Copy)]
pub struct OutputTensor<'a> {
    pub name: &'a str,
    pub shape: &'a [usize],
    pub data: &'a [f32],
}

impl<'a> OutputTensor<'a> {
    pub fn new(name: &'a str, shape: &'a [usize], data: &'a [f32]) -> Self {
        Self { name, shape, data }
    }

    /// Checks that the data holds exactly the elements the shape promises.
    pub(crate) fn check_len(&self) -> Result<(), PostprocessError> {
        let expected = self.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        match expected {
            Some(n) if n == self.data.len() => Ok(()),
            _ => Err(PostprocessError::DataLength {
                output: self.name.to_owned(),
                shape: self.shape.to_vec(),
                expected: expected.map_or_else(|| "more than usize::MAX".to_owned(), |n| n.to_string()),
                got: self.data.len(),
            }),
        }
    }
}

/// What went wrong turning a model output into results. Every variant names the output.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PostprocessError {
    /// The shape fits none of the layouts the caller allowed.
    #[error("output \"{output}\": expected {expected}, got {got:?}")]
    Shape { output: String, expected: String, got: Vec<usize> },
    /// The shape fits more than one layout; the caller must say which.
    #[error("output \"{output}\": shape {shape:?} fits both {candidates}; set the layout explicitly")]
    Ambiguous { output: String, shape: Vec<usize>, candidates: String },
    /// A dimension disagrees with the number of class names.
    #[error("output \"{output}\": dimension {dim} of {shape:?} means {got} classes, but the labels name {expected}")]
    ClassCount { output: String, shape: Vec<usize>, dim: usize, expected: usize, got: usize },
    /// The data is not as long as the shape says.
    #[error("output \"{output}\": shape {shape:?} needs {expected} values, got {got}")]
    DataLength { output: String, shape: Vec<usize>, expected: String, got: usize },
    /// A batch index past the batch dimension.
    #[error("output \"{output}\": batch index {index} out of range for batch size {batch}")]
    BatchIndex { output: String, index: usize, batch: usize },
    /// A value that arithmetic cannot use (NaN where a probability is needed).
    #[error("output \"{output}\": value at index {index} is {value}, not a finite number")]
    NonFinite { output: String, index: usize, value: f32 },
    /// A parameter outside its domain (thresholds, counts).
    #[error("{field}: {message}")]
    Param { field: &'static str, message: String },
    /// A labels file that could not be read.
    #[error("labels{at}: {message}")]
    Labels { at: String, message: String },
}

/// The name of class `id`: its label, or the id itself when there are no labels for it.
pub(crate) fn class_name(labels: Option<&Labels>, id: usize) -> String {
    labels.and_then(|l| l.name(id)).map_or_else(|| id.to_string(), str::to_owned)
}

/// Checks that a threshold lies in `[0, 1]` (scores) — NaN is rejected.
pub(crate) fn check_unit_interval(field: &'static str, value: f32) -> Result<(), PostprocessError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(PostprocessError::Param { field, message: format!("must be in [0, 1], got {value}") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_error_names_output_and_both_layouts() {
        let err = PostprocessError::Shape {
            output: "output0".into(),
            expected: "[1, 84, 8400] (YOLOv8) or [1, 25200, 85] (YOLOv5)".into(),
            got: vec![1, 3, 4],
        };
        assert_eq!(
            err.to_string(),
            "output \"output0\": expected [1, 84, 8400] (YOLOv8) or [1, 25200, 85] (YOLOv5), got [1, 3, 4]"
        );
    }

    #[test]
    fn data_length_checked_against_shape_without_overflow() {
        let data = [0.0f32; 6];
        assert!(OutputTensor::new("o", &[2, 3], &data).check_len().is_ok());
        let err = OutputTensor::new("o", &[2, 4], &data).check_len().unwrap_err();
        assert!(err.to_string().contains("needs 8 values, got 6"), "{err}");
        let err = OutputTensor::new("o", &[usize::MAX, 3], &data).check_len().unwrap_err();
        assert!(err.to_string().contains("more than usize::MAX"), "{err}");
    }

    #[test]
    fn box_geometry() {
        // cx 10, cy 20, w 4, h 6 → x 8..12, y 17..23, area 24.
        let b = BoxXyxy::from_cxcywh(10.0, 20.0, 4.0, 6.0);
        assert_eq!(b, BoxXyxy { x1: 8.0, y1: 17.0, x2: 12.0, y2: 23.0 });
        assert_eq!(b.area(), 24.0);
        assert_eq!(b.centre(), (10.0, 20.0));
        let bounds = BoxXyxy { x1: 0.0, y1: 0.0, x2: 10.0, y2: 20.0 };
        assert_eq!(b.clipped_to(&bounds), BoxXyxy { x1: 8.0, y1: 17.0, x2: 10.0, y2: 20.0 });
        // Disjoint boxes: the intersection is inverted and has area 0.
        let far = BoxXyxy { x1: 100.0, y1: 100.0, x2: 101.0, y2: 101.0 };
        assert_eq!(b.intersection(&far).area(), 0.0);
    }
}
