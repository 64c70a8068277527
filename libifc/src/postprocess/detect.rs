//! The detection path: YOLO output → candidates over the score threshold → class-aware NMS →
//! boxes mapped to source pixels and clipped → [`Detection`]s, best first.

use super::classify::descending_score;
use super::nms::{nms, Candidate, NmsParams};
use super::yolo::{decode_candidates, detect_layout, YoloLayout};
use super::{check_unit_interval, class_name, Detection, Labels, OutputTensor, PostprocessError, SourceMapping};

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DetectionParams {
    /// `None` recognises the layout from the shape (see [`detect_layout`]).
    pub layout: Option<YoloLayout>,
    /// Keep boxes whose score is at least this, in [0, 1].
    pub score_threshold: f32,
    pub nms: NmsParams,
    /// At most this many candidates, the best, enter NMS (bounds its quadratic cost on an
    /// untrained model that scores every box high; Ultralytics' `max_nms`).
    pub max_candidates: usize,
    /// Which item of a batched output to decode.
    pub batch_index: usize,
}

impl Default for DetectionParams {
    /// Ultralytics' prediction defaults: score 0.25, IoU 0.7, 300 detections, 30000 candidates.
    fn default() -> Self {
        Self { layout: None, score_threshold: 0.25, nms: NmsParams::default(), max_candidates: 30_000, batch_index: 0 }
    }
}

impl DetectionParams {
    pub fn check(&self) -> Result<(), PostprocessError> {
        check_unit_interval("score_threshold", self.score_threshold)?;
        let iou = self.nms.iou_threshold;
        if !(iou > 0.0 && iou <= 1.0) {
            return Err(PostprocessError::Param {
                field: "iou_threshold",
                message: format!("must be in (0, 1], got {iou}"),
            });
        }
        Ok(())
    }
}

/// Decodes a YOLO output into detections in source pixels, best first (score descending,
/// then the model's box order). Boxes that clipping leaves with no area (wholly in the
/// letterbox padding or outside the ROI) are dropped.
pub fn decode_detections(
    output: &OutputTensor<'_>,
    labels: Option<&Labels>,
    params: &DetectionParams,
    mapping: &impl SourceMapping,
) -> Result<Vec<Detection>, PostprocessError> {
    params.check()?;
    let shape = detect_layout(output, params.layout, labels.map(Labels::len))?;
    let mut candidates = decode_candidates(output, &shape, params.batch_index, params.score_threshold)?;
    if candidates.len() > params.max_candidates {
        candidates = best_in_model_order(candidates, params.max_candidates);
    }
    let kept = nms(&candidates, &params.nms);
    Ok(kept
        .into_iter()
        .filter_map(|i| candidates.get(i))
        .filter_map(|c| {
            let bbox = mapping.box_to_source(&c.bbox);
            (bbox.area() > 0.0).then(|| Detection {
                class_id: c.class_id,
                class_name: class_name(labels, c.class_id as usize),
                score: c.score,
                bbox,
            })
        })
        .collect())
}

/// The `n` best candidates, still in the model's order so that NMS breaks ties as it would
/// have without the cap.
fn best_in_model_order(candidates: Vec<Candidate>, n: usize) -> Vec<Candidate> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| descending_score(candidates[a].score, candidates[b].score).then(a.cmp(&b)));
    order.truncate(n);
    order.sort_unstable();
    order.into_iter().filter_map(|i| candidates.get(i).copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postprocess::{BoxXyxy, LetterboxMapping};

    /// A YOLOv8 output `[1, 4 + classes, boxes]` from rows of (cx, cy, w, h, class, score).
    fn v8_output(classes: usize, boxes: &[(f32, f32, f32, f32, usize, f32)]) -> (Vec<usize>, Vec<f32>) {
        let n = boxes.len();
        let mut data = vec![0.0f32; (4 + classes) * n];
        for (j, &(cx, cy, w, h, class, score)) in boxes.iter().enumerate() {
            for (k, v) in [cx, cy, w, h].into_iter().enumerate() {
                data[k * n + j] = v;
            }
            data[(4 + class) * n + j] = score;
        }
        (vec![1, 4 + classes, n], data)
    }

    /// The same boxes as YOLOv5 rows `[1, boxes, 5 + classes]`, objectness 1.
    fn v5_output(classes: usize, boxes: &[(f32, f32, f32, f32, usize, f32)]) -> (Vec<usize>, Vec<f32>) {
        let mut data = Vec::new();
        for &(cx, cy, w, h, class, score) in boxes {
            let mut row = vec![cx, cy, w, h, 1.0];
            row.extend((0..classes).map(|c| if c == class { score } else { 0.0 }));
            data.extend(row);
        }
        (vec![1, boxes.len(), 5 + classes], data)
    }

    #[test]
    fn both_layouts_give_the_same_detections_in_source_pixels() {
        let labels = Labels::new(vec!["part".into(), "scratch".into()]);
        // 1280×720 letterboxed into 640×640: scale 0.5, pad_top 140 (see mapping tests).
        let mapping = LetterboxMapping::letterbox(1280, 720, 640, 640).unwrap();
        let boxes = [
            // A part at input (320, 320) 200×100 → source x (220..420)/0.5 = 440..840,
            // y ((270..370) − 140)/0.5 = 260..460.
            (320.0, 320.0, 200.0, 100.0, 0, 0.9),
            // A near-duplicate of it (IoU 195·100/(2·20000 − 19500) = 0.951): suppressed.
            (325.0, 320.0, 200.0, 100.0, 0, 0.8),
            // A scratch over the part: other class, not suppressed. Input 310..330 × 300..340
            // → source 620..660 × 320..400.
            (320.0, 320.0, 20.0, 40.0, 1, 0.6),
            // Under the score threshold.
            (100.0, 300.0, 10.0, 10.0, 1, 0.1),
            // Wholly in the top padding (y 10..30 < 140): clipped to nothing, dropped.
            (300.0, 20.0, 40.0, 20.0, 0, 0.95),
        ];
        let params =
            DetectionParams { score_threshold: 0.25, nms: NmsParams::new(0.5, 100), ..DetectionParams::default() };
        for (shape, data) in [v8_output(2, &boxes), v5_output(2, &boxes)] {
            let out = OutputTensor::new("output0", &shape, &data);
            let dets = decode_detections(&out, Some(&labels), &params, &mapping).unwrap();
            assert_eq!(dets.len(), 2, "shape {shape:?}: {dets:?}");
            assert_eq!(dets[0].class_name, "part");
            assert_eq!(dets[0].bbox, BoxXyxy { x1: 440.0, y1: 260.0, x2: 840.0, y2: 460.0 });
            assert_eq!(dets[1].class_name, "scratch");
            assert_eq!(dets[1].bbox, BoxXyxy { x1: 620.0, y1: 320.0, x2: 660.0, y2: 400.0 });
            assert!((dets[1].score - 0.6).abs() < 1e-6);
        }
    }

    #[test]
    fn candidate_cap_and_max_detections() {
        // 50 disjoint boxes with falling scores: the cap keeps the 10 best, max_det the 3 best.
        let boxes: Vec<_> =
            (0..50).map(|i| (10.0 + 12.0 * i as f32, 10.0, 10.0, 10.0, 0, 0.99 - 0.01 * i as f32)).collect();
        let (shape, data) = v8_output(1, &boxes);
        let mapping = LetterboxMapping::letterbox(640, 640, 640, 640).unwrap();
        let out = OutputTensor::new("o", &shape, &data);
        let capped = DetectionParams { max_candidates: 10, ..DetectionParams::default() };
        assert_eq!(decode_detections(&out, None, &capped, &mapping).unwrap().len(), 10);
        let few = DetectionParams { nms: NmsParams::new(0.7, 3), ..DetectionParams::default() };
        let dets = decode_detections(&out, None, &few, &mapping).unwrap();
        assert_eq!(dets.iter().map(|d| d.score).collect::<Vec<_>>(), vec![0.99, 0.98, 0.97]);
        assert_eq!(dets[0].class_name, "0", "no labels: the id names the class");
    }

    /// Random shapes, lengths, values and parameters: every call returns, none panics, and
    /// whatever comes back is finite, in bounds and sorted.
    #[test]
    fn arbitrary_outputs_never_panic() {
        use crate::postprocess::numpy_reference::Rng;
        use crate::postprocess::{classify, ClassificationParams};
        let mut rng = Rng(7);
        let bounds = BoxXyxy { x1: 0.0, y1: 0.0, x2: 320.0, y2: 240.0 };
        let mapping = LetterboxMapping::letterbox(320, 240, 64, 64).unwrap();
        let values = [0.0, 0.5, 1.0, -1.0, 1e30, -1e30, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 32.0];
        for _ in 0..3000 {
            let rank = rng.below(5) as usize;
            let shape: Vec<usize> = (0..rank).map(|_| [0, 1, 2, 5, 6, 7, 9, 12][rng.below(8) as usize]).collect();
            let expected: usize = shape.iter().product();
            let len = if rng.below(4) == 0 { rng.below(200) as usize } else { expected };
            let data: Vec<f32> = (0..len)
                .map(|_| if rng.below(3) == 0 { values[rng.below(10) as usize] } else { rng.unit() as f32 * 64.0 })
                .collect();
            let out = OutputTensor::new("o", &shape, &data);
            let labels =
                (rng.below(2) == 0).then(|| Labels::new((0..1 + rng.below(4)).map(|i| i.to_string()).collect()));
            let params = DetectionParams {
                layout: [None, Some(YoloLayout::V5), Some(YoloLayout::V8)][rng.below(3) as usize],
                score_threshold: rng.unit() as f32,
                nms: NmsParams::new(0.01 + rng.unit() * 0.99, rng.below(20) as usize),
                max_candidates: rng.below(50) as usize,
                batch_index: rng.below(2) as usize,
            };
            if let Ok(dets) = decode_detections(&out, labels.as_ref(), &params, &mapping) {
                assert!(dets.len() <= params.nms.max_detections);
                for d in &dets {
                    assert!(d.bbox.is_finite() && d.bbox.area() > 0.0, "{d:?}");
                    assert_eq!(d.bbox.clipped_to(&bounds), d.bbox);
                    assert!(d.score >= params.score_threshold);
                }
                assert!(dets.windows(2).all(|w| w[0].score >= w[1].score));
            }
            let _ = classify(&out, labels.as_ref(), &ClassificationParams::default());
        }
    }

    #[test]
    fn bad_params_and_mismatched_labels_are_errors() {
        let (shape, data) = v8_output(2, &[(1.0, 1.0, 1.0, 1.0, 0, 0.5)]);
        let out = OutputTensor::new("output0", &shape, &data);
        let mapping = LetterboxMapping::letterbox(64, 64, 64, 64).unwrap();
        let bad_iou = DetectionParams { nms: NmsParams::new(1.5, 10), ..DetectionParams::default() };
        assert_eq!(
            decode_detections(&out, None, &bad_iou, &mapping).unwrap_err().to_string(),
            "iou_threshold: must be in (0, 1], got 1.5"
        );
        let bad_score = DetectionParams { score_threshold: f32::NAN, ..DetectionParams::default() };
        assert!(decode_detections(&out, None, &bad_score, &mapping).is_err());
        let three = Labels::new(vec!["a".into(), "b".into(), "c".into()]);
        let err = decode_detections(&out, Some(&three), &DetectionParams::default(), &mapping).unwrap_err();
        assert!(matches!(err, PostprocessError::Shape { .. }), "{err}");
    }
}
