//! The two YOLO output layouts, recognised from the shape, and their decoding into
//! candidate boxes (model-input pixels) before suppression.
//!
//! - YOLOv5 (and v7, anchor-based exports): `[N, boxes, 5 + classes]`, each row
//!   `cx, cy, w, h, objectness, class scores…`; score = objectness × class score.
//! - YOLOv8 / YOLO11 (anchor-free): `[N, 4 + classes, boxes]`, the same fields transposed
//!   with no objectness; score = class score.
//!
//! Rank 2 shapes (`[boxes, 5 + classes]`, `[4 + classes, boxes]`) are read as a batch of one.

use super::nms::Candidate;
use super::{BoxXyxy, OutputTensor, PostprocessError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YoloLayout {
    /// `[N, boxes, 5 + classes]`.
    V5,
    /// `[N, 4 + classes, boxes]` (also YOLO11).
    V8,
}

impl YoloLayout {
    fn label(self) -> &'static str {
        match self {
            Self::V5 => "YOLOv5",
            Self::V8 => "YOLOv8",
        }
    }
}

/// A YOLO output's dimensions once its layout is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YoloShape {
    pub layout: YoloLayout,
    pub batch: usize,
    pub boxes: usize,
    pub classes: usize,
}

/// Recognises the layout of `output`. `requested` forces one; `classes` (from the labels)
/// pins the class dimension. Without either, the smaller of the two trailing dimensions is
/// taken as the per-box fields (a model predicts far more boxes than it has classes); equal
/// dimensions are ambiguous.
pub fn detect_layout(
    output: &OutputTensor<'_>,
    requested: Option<YoloLayout>,
    classes: Option<usize>,
) -> Result<YoloShape, PostprocessError> {
    let (batch, a, b) = match *output.shape {
        [n, a, b] => (n, a, b),
        [a, b] => (1, a, b),
        _ => return Err(shape_error(output, requested, classes)),
    };
    let v8 = YoloShape { layout: YoloLayout::V8, batch, boxes: b, classes: a.saturating_sub(4) };
    let v5 = YoloShape { layout: YoloLayout::V5, batch, boxes: a, classes: b.saturating_sub(5) };
    let fits = |s: &YoloShape| s.classes >= 1 && classes.is_none_or(|n| n == s.classes);

    let chosen = match requested {
        Some(layout) => {
            let (shape, dim) =
                if layout == YoloLayout::V8 { (v8, output.shape.len() - 2) } else { (v5, output.shape.len() - 1) };
            if fits(&shape) {
                shape
            } else if let (Some(expected), true) = (classes, shape.classes >= 1) {
                return Err(PostprocessError::ClassCount {
                    output: output.name.to_owned(),
                    shape: output.shape.to_vec(),
                    dim,
                    expected,
                    got: shape.classes,
                });
            } else {
                return Err(shape_error(output, requested, classes));
            }
        }
        None => match (fits(&v8), fits(&v5)) {
            (true, false) => v8,
            (false, true) => v5,
            (false, false) => return Err(shape_error(output, None, classes)),
            (true, true) if classes.is_none() && a < b => v8,
            (true, true) if classes.is_none() && a > b => v5,
            (true, true) => {
                return Err(PostprocessError::Ambiguous {
                    output: output.name.to_owned(),
                    shape: output.shape.to_vec(),
                    candidates: "YOLOv8 and YOLOv5".to_owned(),
                })
            }
        },
    };
    output.check_len()?;
    Ok(chosen)
}

fn shape_error(output: &OutputTensor<'_>, requested: Option<YoloLayout>, classes: Option<usize>) -> PostprocessError {
    let (v8, v5) = match classes {
        Some(n) => (format!("[1, {}, boxes]", n.saturating_add(4)), format!("[1, boxes, {}]", n.saturating_add(5))),
        None => ("[1, 4 + classes, boxes]".to_owned(), "[1, boxes, 5 + classes]".to_owned()),
    };
    let expected = match requested {
        Some(YoloLayout::V8) => format!("{v8} ({})", YoloLayout::V8.label()),
        Some(YoloLayout::V5) => format!("{v5} ({})", YoloLayout::V5.label()),
        None => format!("{v8} (YOLOv8) or {v5} (YOLOv5)"),
    };
    PostprocessError::Shape { output: output.name.to_owned(), expected, got: output.shape.to_vec() }
}

/// The best class of one box: first maximum wins; NaN scores never win.
fn best_class(scores: impl Iterator<Item = f32>) -> Option<(usize, f32)> {
    scores.enumerate().fold(None, |best, (c, s)| match best {
        _ if s.is_nan() => best,
        Some((_, bs)) if bs >= s => best,
        _ => Some((c, s)),
    })
}

fn candidate(fields: [f32; 4], score: f32, class: usize) -> Option<Candidate> {
    let [cx, cy, w, h] = fields.map(f64::from);
    let bbox = BoxXyxy::from_cxcywh(cx, cy, w, h);
    // A negative size or a non-finite coordinate is no box; skip it rather than let it
    // poison IoU arithmetic.
    (bbox.is_finite() && w >= 0.0 && h >= 0.0).then_some(Candidate {
        bbox,
        score,
        class_id: u32::try_from(class).ok()?,
    })
}

/// Decodes batch item `batch_index` into candidates whose score is at least `score_threshold`,
/// in the model's box order.
pub fn decode_candidates(
    output: &OutputTensor<'_>,
    shape: &YoloShape,
    batch_index: usize,
    score_threshold: f32,
) -> Result<Vec<Candidate>, PostprocessError> {
    if batch_index >= shape.batch {
        return Err(PostprocessError::BatchIndex {
            output: output.name.to_owned(),
            index: batch_index,
            batch: shape.batch,
        });
    }
    let length_error = || PostprocessError::DataLength {
        output: output.name.to_owned(),
        shape: output.shape.to_vec(),
        expected: "batch × boxes × fields".to_owned(),
        got: output.data.len(),
    };
    let fields = match shape.layout {
        YoloLayout::V8 => shape.classes.checked_add(4),
        YoloLayout::V5 => shape.classes.checked_add(5),
    }
    .ok_or_else(length_error)?;
    let item_len = fields.checked_mul(shape.boxes).ok_or_else(length_error)?;
    let start = batch_index.checked_mul(item_len).ok_or_else(length_error)?;
    let item = output.data.get(start..start.saturating_add(item_len)).ok_or_else(length_error)?;
    if item_len == 0 {
        return Ok(Vec::new());
    }

    let mut out = Vec::new();
    match shape.layout {
        YoloLayout::V8 => {
            // Channel-major: row k holds field k of every box.
            let rows: Vec<&[f32]> = item.chunks_exact(shape.boxes).collect();
            let (coords, class_rows) = rows.split_at(4);
            for j in 0..shape.boxes {
                let Some((class, score)) = best_class(class_rows.iter().map(|r| r[j])) else { continue };
                if score >= score_threshold {
                    out.extend(candidate([coords[0][j], coords[1][j], coords[2][j], coords[3][j]], score, class));
                }
            }
        }
        YoloLayout::V5 => {
            for row in item.chunks_exact(fields) {
                let objectness = row[4];
                let Some((class, class_score)) = best_class(row[5..].iter().copied()) else { continue };
                let score = objectness * class_score;
                if score >= score_threshold {
                    out.extend(candidate([row[0], row[1], row[2], row[3]], score, class));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_of(
        shape: &[usize],
        requested: Option<YoloLayout>,
        classes: Option<usize>,
    ) -> Result<YoloShape, PostprocessError> {
        let len = shape.iter().product();
        let data = vec![0.0f32; len];
        detect_layout(&OutputTensor::new("output0", shape, &data), requested, classes)
    }

    #[test]
    fn recognises_the_common_exports() {
        let v8 = layout_of(&[1, 84, 8400], None, None).unwrap();
        assert_eq!(v8, YoloShape { layout: YoloLayout::V8, batch: 1, boxes: 8400, classes: 80 });
        let v5 = layout_of(&[1, 25200, 85], None, None).unwrap();
        assert_eq!(v5, YoloShape { layout: YoloLayout::V5, batch: 1, boxes: 25200, classes: 80 });
        let rank2 = layout_of(&[6, 2100], None, Some(2)).unwrap();
        assert_eq!((rank2.layout, rank2.boxes), (YoloLayout::V8, 2100));
    }

    #[test]
    fn class_count_disambiguates_and_conflicts_are_reported() {
        // [1, 84, 85] with 80 classes: v8 (84 = 4 + 80, 85 boxes) and v5 (85 = 5 + 80, 84 boxes).
        let err = layout_of(&[1, 84, 85], None, Some(80)).unwrap_err();
        assert!(matches!(err, PostprocessError::Ambiguous { .. }), "{err}");
        // Forcing the layout settles it.
        assert_eq!(layout_of(&[1, 84, 85], Some(YoloLayout::V5), Some(80)).unwrap().boxes, 84);
        // Equal dimensions without a class count: ambiguous.
        assert!(matches!(layout_of(&[1, 90, 90], None, None).unwrap_err(), PostprocessError::Ambiguous { .. }));
        // 3 classes known: [1, 8, 100] is neither v8 (needs 7) nor v5 (needs 8 last).
        let err = layout_of(&[1, 8, 100], Some(YoloLayout::V8), Some(3)).unwrap_err();
        assert!(matches!(err, PostprocessError::ClassCount { dim: 1, expected: 3, got: 4, .. }), "{err}");
    }

    #[test]
    fn unrecognisable_shapes_name_the_output_and_both_layouts() {
        let err = layout_of(&[1, 3, 4], None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "output \"output0\": expected [1, 4 + classes, boxes] (YOLOv8) or [1, boxes, 5 + classes] (YOLOv5), got [1, 3, 4]"
        );
        let err = layout_of(&[1, 3, 4], None, Some(80)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "output \"output0\": expected [1, 84, boxes] (YOLOv8) or [1, boxes, 85] (YOLOv5), got [1, 3, 4]"
        );
        assert!(layout_of(&[8400], None, None).is_err());
        assert!(layout_of(&[1, 1, 84, 8400], None, None).is_err());
    }

    #[test]
    fn short_data_is_a_length_error() {
        let data = [0.0f32; 10];
        let err = detect_layout(&OutputTensor::new("o", &[1, 84, 8400], &data), None, None).unwrap_err();
        assert!(matches!(err, PostprocessError::DataLength { got: 10, .. }), "{err}");
    }

    #[test]
    fn v8_decodes_transposed_fields_and_thresholds() {
        // 2 classes, 3 boxes: rows cx, cy, w, h, class0, class1.
        #[rustfmt::skip]
        let data = [
            100.0, 300.0, 50.0,  // cx
            100.0, 200.0, 50.0,  // cy
             20.0,  40.0, 10.0,  // w
             10.0,  60.0, 10.0,  // h
              0.9,   0.1,  0.2,  // class 0
              0.3,   0.6,  0.1,  // class 1
        ];
        let out = OutputTensor::new("output0", &[1, 6, 3], &data);
        let shape = detect_layout(&out, None, Some(2)).unwrap();
        let c = decode_candidates(&out, &shape, 0, 0.5).unwrap();
        assert_eq!(c.len(), 2, "box 2's best score 0.2 is under 0.5");
        // Box 0: cx 100 ± 10, cy 100 ± 5, class 0 at 0.9.
        assert_eq!(
            c[0],
            Candidate { bbox: BoxXyxy { x1: 90.0, y1: 95.0, x2: 110.0, y2: 105.0 }, score: 0.9, class_id: 0 }
        );
        // Box 1: cx 300 ± 20, cy 200 ± 30, class 1 at 0.6.
        assert_eq!(c[1].bbox, BoxXyxy { x1: 280.0, y1: 170.0, x2: 320.0, y2: 230.0 });
        assert_eq!((c[1].class_id, c[1].score), (1, 0.6));
        assert!(decode_candidates(&out, &shape, 1, 0.5).is_err(), "batch index 1 of 1");
    }

    #[test]
    fn v5_multiplies_objectness_and_class_score() {
        // 2 boxes, 2 classes: cx, cy, w, h, obj, c0, c1.
        #[rustfmt::skip]
        let data = [
            50.0, 60.0, 10.0, 20.0, 0.8, 0.5, 0.75, // score 0.8 × 0.75 = 0.6, class 1
            10.0, 10.0,  4.0,  4.0, 0.4, 0.9, 0.1,  // score 0.4 × 0.9 = 0.36, class 0
        ];
        let out = OutputTensor::new("output", &[1, 2, 7], &data);
        let shape = detect_layout(&out, Some(YoloLayout::V5), None).unwrap();
        let c = decode_candidates(&out, &shape, 0, 0.5).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].class_id, 1);
        assert!((c[0].score - 0.6).abs() < 1e-6);
        assert_eq!(c[0].bbox, BoxXyxy { x1: 45.0, y1: 50.0, x2: 55.0, y2: 70.0 });
        assert_eq!(decode_candidates(&out, &shape, 0, 0.3).unwrap().len(), 2);
    }

    #[test]
    fn nan_and_negative_boxes_are_skipped() {
        #[rustfmt::skip]
        let data = [
            f32::NAN, 5.0, 5.0,
            5.0,      5.0, 5.0,
            2.0,      2.0, -2.0,
            2.0,      2.0, 2.0,
            0.9, f32::NAN, 0.9,
        ];
        let out = OutputTensor::new("o", &[1, 5, 3], &data);
        let shape = detect_layout(&out, Some(YoloLayout::V8), None).unwrap();
        // Box 0: NaN cx; box 1: NaN score; box 2: negative width. None survive.
        assert!(decode_candidates(&out, &shape, 0, 0.0).unwrap().is_empty());
    }
}
