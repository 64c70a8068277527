//! Class-aware non-maximum suppression (greedy, as torchvision's `batched_nms` that
//! Ultralytics uses): within each class, the best box suppresses every later box whose IoU
//! with it exceeds the threshold; boxes of different classes never suppress each other.
//!
//! Order is total and documented, so results never depend on the sort algorithm or the
//! platform: score descending, then candidate index ascending (the earlier box in the
//! model's output wins a tie).

use super::classify::descending_score;
use super::BoxXyxy;

/// A decoded box before suppression, in model-input pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub bbox: BoxXyxy,
    pub score: f32,
    pub class_id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct NmsParams {
    /// Suppress when IoU is strictly greater than this, in (0, 1].
    pub iou_threshold: f64,
    /// Keep at most this many boxes, best first.
    pub max_detections: usize,
}

impl NmsParams {
    pub fn new(iou_threshold: f64, max_detections: usize) -> Self {
        Self { iou_threshold, max_detections }
    }
}

impl Default for NmsParams {
    /// Ultralytics' prediction defaults: IoU 0.7, 300 detections.
    fn default() -> Self {
        Self { iou_threshold: 0.7, max_detections: 300 }
    }
}

/// Intersection over union; 0 when the union is empty (degenerate boxes).
pub fn iou(a: &BoxXyxy, b: &BoxXyxy) -> f64 {
    let inter = a.intersection(b).area();
    let union = a.area() + b.area() - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Returns the indices of the kept candidates, best first (score descending, index ascending).
pub fn nms(candidates: &[Candidate], params: &NmsParams) -> Vec<usize> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| descending_score(candidates[a].score, candidates[b].score).then(a.cmp(&b)));

    // Per class, in global order: suppression only ever compares boxes of one class, so the
    // work is the sum of squares of the class sizes, not the square of the total.
    let mut by_class: std::collections::BTreeMap<u32, Vec<usize>> = std::collections::BTreeMap::new();
    for &i in &order {
        by_class.entry(candidates[i].class_id).or_default().push(i);
    }
    let mut kept = Vec::new();
    for members in by_class.values() {
        let mut suppressed = vec![false; members.len()];
        for (pos, &i) in members.iter().enumerate() {
            if suppressed[pos] {
                continue;
            }
            kept.push(i);
            for (later, &j) in members.iter().enumerate().skip(pos + 1) {
                if !suppressed[later] && iou(&candidates[i].bbox, &candidates[j].bbox) > params.iou_threshold {
                    suppressed[later] = true;
                }
            }
        }
    }
    kept.sort_by(|&a, &b| descending_score(candidates[a].score, candidates[b].score).then(a.cmp(&b)));
    kept.truncate(params.max_detections);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(x1: f64, y1: f64, x2: f64, y2: f64, score: f32, class_id: u32) -> Candidate {
        Candidate { bbox: BoxXyxy { x1, y1, x2, y2 }, score, class_id }
    }

    #[test]
    fn iou_hand_computed() {
        // A = 0..10 × 0..10 (100), B = 5..15 × 0..10 (100): overlap 5×10 = 50,
        // union 100 + 100 − 50 = 150 → 1/3.
        let a = BoxXyxy { x1: 0.0, y1: 0.0, x2: 10.0, y2: 10.0 };
        let b = BoxXyxy { x1: 5.0, y1: 0.0, x2: 15.0, y2: 10.0 };
        assert!((iou(&a, &b) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(iou(&a, &a), 1.0);
        // Touching edges: overlap 0.
        let c = BoxXyxy { x1: 10.0, y1: 0.0, x2: 20.0, y2: 10.0 };
        assert_eq!(iou(&a, &c), 0.0);
        // Two points: union 0, IoU defined as 0 rather than NaN.
        let p = BoxXyxy { x1: 1.0, y1: 1.0, x2: 1.0, y2: 1.0 };
        assert_eq!(iou(&p, &p), 0.0);
    }

    #[test]
    fn suppression_is_per_class_and_threshold_is_strict() {
        let c = [
            cand(0.0, 0.0, 10.0, 10.0, 0.9, 0),
            // IoU with #0 = 1/3 (see above): kept at threshold 1/3 (not strictly greater)…
            cand(5.0, 0.0, 15.0, 10.0, 0.8, 0),
            // 1..10 × 0..10 = 90 inside #0: IoU 90/100 = 0.9 → suppressed by #0.
            cand(1.0, 0.0, 10.0, 10.0, 0.85, 0),
            // Same box as #0 but another class: never suppressed by class 0.
            cand(0.0, 0.0, 10.0, 10.0, 0.7, 1),
        ];
        assert_eq!(nms(&c, &NmsParams::new(1.0 / 3.0, 10)), vec![0, 1, 3]);
        // …and suppressed just below it.
        assert_eq!(nms(&c, &NmsParams::new(0.33, 10)), vec![0, 3]);
        assert_eq!(nms(&c, &NmsParams::new(0.33, 1)), vec![0]);
    }

    #[test]
    fn ties_resolve_to_the_earlier_candidate() {
        // Identical boxes, identical scores: index 1 is earlier than 2 in the output.
        let c = [
            cand(50.0, 50.0, 60.0, 60.0, 0.5, 0),
            cand(0.0, 0.0, 10.0, 10.0, 0.9, 0),
            cand(0.0, 0.0, 10.0, 10.0, 0.9, 0),
        ];
        assert_eq!(nms(&c, &NmsParams::default()), vec![1, 0]);
        let mut reversed = c;
        reversed.swap(1, 2);
        assert_eq!(nms(&reversed, &NmsParams::default()), vec![1, 0]);
    }

    #[test]
    fn suppressed_box_does_not_suppress_others() {
        // #1 overlaps #0 (suppressed); #2 overlaps #1 but not #0 → #2 survives (greedy NMS).
        // #0 0..10, #1 4..14 (IoU 6/14 = 0.43), #2 9..19 (IoU with #0: 1/19; with #1: 5/15).
        let c = [
            cand(0.0, 0.0, 10.0, 10.0, 0.9, 0),
            cand(4.0, 0.0, 14.0, 10.0, 0.8, 0),
            cand(9.0, 0.0, 19.0, 10.0, 0.7, 0),
        ];
        assert_eq!(nms(&c, &NmsParams::new(0.3, 10)), vec![0, 2]);
    }

    #[test]
    fn nan_scores_sort_last_and_empty_input() {
        let c = [cand(0.0, 0.0, 1.0, 1.0, f32::NAN, 0), cand(5.0, 5.0, 6.0, 6.0, 0.1, 0)];
        assert_eq!(nms(&c, &NmsParams::default()), vec![1, 0]);
        assert!(nms(&[], &NmsParams::default()).is_empty());
    }
}
