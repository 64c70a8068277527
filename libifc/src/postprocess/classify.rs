//! Classification outputs: one score per class, turned into probabilities and the top k.

use super::{class_name, BoxXyxy, Detection, Labels, OutputTensor, PostprocessError};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A class and its probability (or raw score when softmax is off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassScore {
    pub class_id: u32,
    pub class_name: String,
    pub score: f32,
}

/// How to read a classification output.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClassificationParams {
    /// How many classes to return, best first.
    pub top_k: usize,
    /// Apply softmax (for models that output logits); off for models that end in a softmax.
    pub softmax: bool,
    /// Classes scoring below this probability are left out, even within the top k; in [0, 1].
    /// `None` keeps the top k whatever their scores (raw logits may be negative).
    pub score_threshold: Option<f32>,
}

impl Default for ClassificationParams {
    fn default() -> Self {
        Self { top_k: 5, softmax: true, score_threshold: None }
    }
}

/// Softmax, stable for any finite input: exp(x − max) never overflows, and the sum is at
/// least 1 (the max term), so it never divides by zero. Computed in f64.
///
/// `-inf` logits get probability 0; when some logits are `+inf` they share the mass equally.
/// A NaN anywhere makes every output NaN (the caller checks first: [`classify`] does).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::INFINITY {
        let n_inf = logits.iter().filter(|&&x| x == f32::INFINITY).count() as f64;
        return logits.iter().map(|&x| if x == f32::INFINITY { (1.0 / n_inf) as f32 } else { 0.0 }).collect();
    }
    if max == f32::NEG_INFINITY {
        // All −inf (or empty): no information; uniform is the limit of equal logits.
        let n = logits.len() as f64;
        return logits.iter().map(|_| (1.0 / n) as f32).collect();
    }
    let max = f64::from(max);
    let exps: Vec<f64> = logits.iter().map(|&x| (f64::from(x) - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

/// Indices of the `k` largest scores, best first; equal scores keep index order (so the
/// result does not depend on the sort algorithm), NaN scores come last.
pub fn top_k(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| descending_score(scores[a], scores[b]).then(a.cmp(&b)));
    order.truncate(k);
    order.into_iter().map(|i| (i, scores[i])).collect()
}

/// Orders scores best first with NaN after every number.
pub(crate) fn descending_score(a: f32, b: f32) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
    }
}

/// Reads a classification output of shape `[classes]`, `[1, classes]` or any shape whose
/// other dimensions are all 1 (e.g. `[1, 1000, 1, 1]`), and returns the top k classes.
pub fn classify(
    output: &OutputTensor<'_>,
    labels: Option<&Labels>,
    params: &ClassificationParams,
) -> Result<Vec<ClassScore>, PostprocessError> {
    output.check_len()?;
    if let Some(t) = params.score_threshold {
        super::check_unit_interval("score_threshold", t)?;
    }
    let non_unit: Vec<usize> = output.shape.iter().copied().filter(|&d| d != 1).collect();
    if non_unit.len() > 1 || output.data.is_empty() {
        return Err(PostprocessError::Shape {
            output: output.name.to_owned(),
            expected: "[1, classes] or [classes] (classification)".to_owned(),
            got: output.shape.to_vec(),
        });
    }
    let classes = output.data.len();
    if let Some(labels) = labels {
        if labels.len() != classes {
            let dim = output.shape.iter().position(|&d| d == classes).unwrap_or(0);
            return Err(PostprocessError::ClassCount {
                output: output.name.to_owned(),
                shape: output.shape.to_vec(),
                dim,
                expected: labels.len(),
                got: classes,
            });
        }
    }
    if let Some((index, &value)) = output.data.iter().enumerate().find(|(_, v)| v.is_nan()) {
        return Err(PostprocessError::NonFinite { output: output.name.to_owned(), index, value });
    }
    let scores = if params.softmax { softmax(output.data) } else { output.data.to_vec() };
    top_k(&scores, params.top_k)
        .into_iter()
        .filter(|&(_, score)| params.score_threshold.is_none_or(|t| score >= t))
        .map(|(i, score)| {
            let class_id = u32::try_from(i).map_err(|_| PostprocessError::Shape {
                output: output.name.to_owned(),
                expected: "at most 2^32 classes".to_owned(),
                got: output.shape.to_vec(),
            })?;
            Ok(ClassScore { class_id, class_name: class_name(labels, i), score })
        })
        .collect()
}

/// Class scores as whole-frame detections (bbox = `frame`, the source image or ROI), so that
/// verdict rules (`detected`, `count`) judge classification models as they judge detectors.
pub fn as_detections(scores: &[ClassScore], frame: BoxXyxy) -> Vec<Detection> {
    scores
        .iter()
        .map(|s| Detection { class_id: s.class_id, class_name: s.class_name.clone(), score: s.score, bbox: frame })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn softmax_matches_hand_computation() {
        // logits [1, 2, 3]: e^-2, e^-1, e^0 = 0.135335, 0.367879, 1; sum 1.503214
        // → 0.090031, 0.244728, 0.665241
        let p = softmax(&[1.0, 2.0, 3.0]);
        assert!(approx(p[0], 0.090_030_57) && approx(p[1], 0.244_728_47) && approx(p[2], 0.665_240_96), "{p:?}");
    }

    #[test]
    fn softmax_is_stable_for_huge_logits() {
        // Naive exp(1000) overflows to inf and inf/inf = NaN; shifted by the max it is exact.
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert_eq!(p, vec![0.5, 0.5, 0.0]);
        let shifted = softmax(&[1001.0, 1002.0, 1003.0]);
        let plain = softmax(&[1.0, 2.0, 3.0]);
        for (a, b) in shifted.iter().zip(&plain) {
            assert!(approx(*a, *b));
        }
    }

    #[test]
    fn softmax_of_infinities_and_empty() {
        assert_eq!(softmax(&[f32::INFINITY, 0.0, f32::INFINITY]), vec![0.5, 0.0, 0.5]);
        assert_eq!(softmax(&[f32::NEG_INFINITY, 0.0]), vec![0.0, 1.0]);
        assert_eq!(softmax(&[f32::NEG_INFINITY; 4]), vec![0.25; 4]);
        assert!(softmax(&[]).is_empty());
    }

    #[test]
    fn top_k_breaks_ties_by_index_and_puts_nan_last() {
        let scores = [0.2, f32::NAN, 0.7, 0.2, 0.7];
        assert_eq!(top_k(&scores, 3), vec![(2, 0.7), (4, 0.7), (0, 0.2)]);
        let all = top_k(&scores, 10);
        assert_eq!(all.len(), 5);
        assert_eq!(all[4].0, 1);
    }

    #[test]
    fn class_scores_become_whole_frame_detections() {
        let frame = BoxXyxy { x1: 0.0, y1: 0.0, x2: 1920.0, y2: 1080.0 };
        let scores = [ClassScore { class_id: 2, class_name: "dent".into(), score: 0.8 }];
        let dets = as_detections(&scores, frame);
        assert_eq!(dets, vec![Detection { class_id: 2, class_name: "dent".into(), score: 0.8, bbox: frame }]);
    }

    #[test]
    fn classify_names_classes_and_rejects_bad_shapes() {
        let labels = Labels::new(vec!["ok".into(), "scratch".into(), "dent".into()]);
        let data = [0.1, 2.0, 0.5];
        let out = OutputTensor::new("logits", &[1, 3], &data);
        let top = classify(&out, Some(&labels), &ClassificationParams { top_k: 2, ..Default::default() }).unwrap();
        assert_eq!(top[0].class_name, "scratch");
        assert_eq!(top[1].class_name, "dent");
        // e^(0.1−2) = 0.149569, e^0 = 1, e^(0.5−2) = 0.223130; sum 1.372699 → 0.728492, 0.162549.
        assert!(approx(top[0].score, 0.728_492) && approx(top[1].score, 0.162_549), "{top:?}");

        let raw =
            classify(&out, None, &ClassificationParams { top_k: 1, softmax: false, score_threshold: None }).unwrap();
        assert_eq!(raw, vec![ClassScore { class_id: 1, class_name: "1".into(), score: 2.0 }]);
        // 0.7285 passes a 0.5 threshold, 0.1625 does not, even though top_k asks for 3.
        let confident = classify(
            &out,
            Some(&labels),
            &ClassificationParams { top_k: 3, softmax: true, score_threshold: Some(0.5) },
        )
        .unwrap();
        assert_eq!(confident.len(), 1);

        let err = classify(&OutputTensor::new("logits", &[2, 3], &[0.0; 6]), None, &ClassificationParams::default())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "output \"logits\": expected [1, classes] or [classes] (classification), got [2, 3]"
        );

        let four = Labels::new(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
        let err = classify(&out, Some(&four), &ClassificationParams::default()).unwrap_err();
        assert!(matches!(err, PostprocessError::ClassCount { dim: 1, expected: 4, got: 3, .. }), "{err}");

        let nan = [0.0, f32::NAN];
        let err = classify(&OutputTensor::new("p", &[2], &nan), None, &ClassificationParams::default()).unwrap_err();
        assert!(matches!(err, PostprocessError::NonFinite { index: 1, .. }), "{err}");
    }
}
