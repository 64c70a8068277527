//! The rules of a rule set, and how one rule judges one frame's detections.
//!
//! Two kinds, both selecting detections by class, score and (optionally) region:
//! - `detected`: NG when any selected detection exists (a scratch anywhere, a hand in the
//!   keep-out zone);
//! - `count`: NG when the number of selected detections is not `equals`, or is outside
//!   `[min, max]` (exactly one part on the tray).
//!
//! "In the region" means the box's centre lies in it, or, when `min_overlap` is set, that at
//! least that fraction of the box's area lies in it. The centre test is the default because
//! it is stable under box jitter at the region's edge and needs no area arithmetic.

use super::region::Region;
use super::RuleHit;
use crate::postprocess::Detection;
use serde::{Deserialize, Serialize};

/// One rule. YAML: `{id: scratch, kind: detected, class: scratch, min_score: 0.5, message: …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    Detected(DetectedRule),
    Count(CountRule),
}

/// NG when at least one selected detection exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectedRule {
    pub id: String,
    /// What an operator reads when the rule fires.
    pub message: String,
    /// Class name to select; absent selects every class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Minimum score, in [0, 1]; absent means every detection the postprocessing kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<f64>,
    /// Where to look, in source pixels; absent means the whole frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// When set, "in the region" means at least this fraction of the box's area, in (0, 1],
    /// lies in it; otherwise the box's centre must.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_overlap: Option<f64>,
}

/// NG when the number of selected detections is not `equals` / outside `[min, max]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountRule {
    pub id: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_overlap: Option<f64>,
    /// The exact count expected (exclusive with `min`/`max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

/// The selection fields both kinds share.
struct Selector<'a> {
    class: Option<&'a str>,
    min_score: f64,
    region: Option<&'a Region>,
    min_overlap: Option<f64>,
}

impl Selector<'_> {
    fn selects(&self, d: &Detection) -> bool {
        if self.class.is_some_and(|c| c != d.class_name) || f64::from(d.score) < self.min_score {
            return false;
        }
        match (self.region, self.min_overlap) {
            (None, _) => true,
            (Some(region), Some(fraction)) => region.overlap_fraction(&d.bbox) >= fraction,
            (Some(region), None) => {
                let (cx, cy) = d.bbox.centre();
                region.contains(cx, cy)
            }
        }
    }

    fn describe(&self) -> String {
        let mut s = match self.class {
            Some(c) => format!("\"{c}\""),
            None => "detections".to_owned(),
        };
        if self.min_score > 0.0 {
            s.push_str(&format!(" with score ≥ {}", self.min_score));
        }
        if self.region.is_some() {
            s.push_str(" in the region");
        }
        s
    }

    fn select(&self, detections: &[Detection]) -> Vec<usize> {
        detections.iter().enumerate().filter(|(_, d)| self.selects(d)).map(|(i, _)| i).collect()
    }
}

impl Rule {
    pub fn id(&self) -> &str {
        match self {
            Rule::Detected(r) => &r.id,
            Rule::Count(r) => &r.id,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Rule::Detected(r) => &r.message,
            Rule::Count(r) => &r.message,
        }
    }

    fn selector(&self) -> Selector<'_> {
        let (class, min_score, region, min_overlap) = match self {
            Rule::Detected(r) => (&r.class, r.min_score, &r.region, r.min_overlap),
            Rule::Count(r) => (&r.class, r.min_score, &r.region, r.min_overlap),
        };
        Selector { class: class.as_deref(), min_score: min_score.unwrap_or(0.0), region: region.as_ref(), min_overlap }
    }

    /// Judges one frame: `Some` when the rule fires.
    pub fn evaluate(&self, detections: &[Detection]) -> Option<RuleHit> {
        let selector = self.selector();
        let selected = selector.select(detections);
        let detail = match self {
            Rule::Detected(_) => {
                if selected.is_empty() {
                    return None;
                }
                format!("{} × {}", selected.len(), selector.describe())
            }
            Rule::Count(r) => {
                let n = u32::try_from(selected.len()).unwrap_or(u32::MAX);
                let expected = match (r.equals, r.min, r.max) {
                    (Some(e), _, _) if n == e => return None,
                    (Some(e), _, _) => format!("{e}"),
                    (None, min, max) if min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m) => return None,
                    (None, Some(lo), Some(hi)) => format!("{lo} to {hi}"),
                    (None, Some(lo), None) => format!("at least {lo}"),
                    (None, None, Some(hi)) => format!("at most {hi}"),
                    // Neither bound: every count passes (the check above returned already).
                    (None, None, None) => return None,
                };
                format!("{n} × {}, expected {expected}", selector.describe())
            }
        };
        Some(RuleHit {
            rule_id: self.id().to_owned(),
            message: self.message().to_owned(),
            detection_indices: selected,
            detail,
        })
    }

    /// Problems that make the rule meaningless, each with its field (relative to the rule).
    pub(super) fn issues(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |field: &str, message: String| out.push((field.to_owned(), message));
        if self.id().trim().is_empty() {
            push("id", "must not be empty".to_owned());
        }
        if self.message().trim().is_empty() {
            push("message", "must not be empty (operators read it when the rule fires)".to_owned());
        }
        let s = self.selector();
        if !(0.0..=1.0).contains(&s.min_score) {
            push("min_score", format!("must be in [0, 1], got {}", s.min_score));
        }
        if let Some(f) = s.min_overlap {
            if !(f > 0.0 && f <= 1.0) {
                push("min_overlap", format!("must be in (0, 1], got {f}"));
            }
            if s.region.is_none() {
                push("min_overlap", "needs a region".to_owned());
            }
        }
        match s.region {
            Some(Region::Rect(r)) if !r.is_finite() || r.x1 >= r.x2 || r.y1 >= r.y2 => {
                push(
                    "region.rect",
                    format!("needs x1 < x2 and y1 < y2, got ({}, {})–({}, {})", r.x1, r.y1, r.x2, r.y2),
                );
            }
            Some(Region::Polygon(p)) if p.len() < 3 => {
                push("region.polygon", format!("needs at least 3 vertices, got {}", p.len()));
            }
            Some(Region::Polygon(p))
                if super::region::polygon_area(p) == 0.0 || p.iter().flatten().any(|v| !v.is_finite()) =>
            {
                push("region.polygon", "must enclose an area (finite vertices, not all on one line)".to_owned());
            }
            _ => {}
        }
        if let Rule::Count(r) = self {
            match (r.equals, r.min, r.max) {
                (None, None, None) => push("equals", "a count rule needs `equals`, or `min` and/or `max`".to_owned()),
                (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                    push("equals", "cannot be combined with `min`/`max`".to_owned())
                }
                (None, Some(lo), Some(hi)) if lo > hi => push("min", format!("must not exceed max ({lo} > {hi})")),
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postprocess::BoxXyxy;

    pub(crate) fn det(class: &str, score: f32, x1: f64, y1: f64, x2: f64, y2: f64) -> Detection {
        Detection { class_id: 0, class_name: class.to_owned(), score, bbox: BoxXyxy { x1, y1, x2, y2 } }
    }

    fn detected(class: Option<&str>, min_score: Option<f64>, region: Option<Region>, min_overlap: Option<f64>) -> Rule {
        Rule::Detected(DetectedRule {
            id: "r".into(),
            message: "m".into(),
            class: class.map(str::to_owned),
            min_score,
            region,
            min_overlap,
        })
    }

    fn count(class: &str, equals: Option<u32>, min: Option<u32>, max: Option<u32>) -> Rule {
        Rule::Count(CountRule {
            id: "c".into(),
            message: "count".into(),
            class: Some(class.into()),
            min_score: Some(0.5),
            region: None,
            min_overlap: None,
            equals,
            min,
            max,
        })
    }

    #[test]
    fn detected_by_class_and_score_threshold_inclusive() {
        let dets = [
            det("scratch", 0.5, 0.0, 0.0, 10.0, 10.0),
            det("scratch", 0.49, 0.0, 0.0, 1.0, 1.0),
            det("part", 0.9, 0.0, 0.0, 1.0, 1.0),
        ];
        let hit = detected(Some("scratch"), Some(0.5), None, None).evaluate(&dets).unwrap();
        assert_eq!(hit.detection_indices, vec![0], "0.5 ≥ 0.5 fires, 0.49 does not, part is another class");
        assert_eq!(hit.detail, "1 × \"scratch\" with score ≥ 0.5");
        assert!(detected(Some("dent"), None, None, None).evaluate(&dets).is_none());
        assert_eq!(detected(None, None, None, None).evaluate(&dets).unwrap().detection_indices, vec![0, 1, 2]);
    }

    #[test]
    fn region_centre_versus_overlap() {
        let zone = Region::Rect(BoxXyxy { x1: 100.0, y1: 0.0, x2: 200.0, y2: 100.0 });
        // Box 60..120 × 10..30: centre x 90 is outside; overlap 20 × 20 = 400 of 60 × 20 = 1200
        // → 1/3 inside.
        let straddling = [det("hand", 0.9, 60.0, 10.0, 120.0, 30.0)];
        assert!(detected(Some("hand"), None, Some(zone.clone()), None).evaluate(&straddling).is_none());
        assert!(detected(Some("hand"), None, Some(zone.clone()), Some(0.3)).evaluate(&straddling).is_some());
        assert!(detected(Some("hand"), None, Some(zone.clone()), Some(0.34)).evaluate(&straddling).is_none());
        // Centre (150, 50) inside.
        let inside = [det("hand", 0.9, 140.0, 40.0, 160.0, 60.0)];
        assert!(detected(Some("hand"), None, Some(zone), None).evaluate(&inside).is_some());
    }

    #[test]
    fn count_equals_and_ranges() {
        let one = [det("part", 0.9, 0.0, 0.0, 1.0, 1.0), det("part", 0.2, 0.0, 0.0, 1.0, 1.0)];
        assert!(count("part", Some(1), None, None).evaluate(&one).is_none(), "the 0.2 part is under min_score");
        let hit = count("part", Some(1), None, None).evaluate(&[]).unwrap();
        assert_eq!(hit.detail, "0 × \"part\" with score ≥ 0.5, expected 1");
        assert!(hit.detection_indices.is_empty());
        let two = [det("part", 0.9, 0.0, 0.0, 1.0, 1.0), det("part", 0.8, 5.0, 5.0, 6.0, 6.0)];
        let hit = count("part", Some(1), None, None).evaluate(&two).unwrap();
        assert_eq!(hit.detection_indices, vec![0, 1]);
        assert!(count("part", None, Some(1), Some(2)).evaluate(&two).is_none());
        assert_eq!(
            count("part", None, Some(3), Some(4)).evaluate(&two).unwrap().detail,
            "2 × \"part\" with score ≥ 0.5, expected 3 to 4"
        );
        assert_eq!(
            count("part", None, None, Some(1)).evaluate(&two).unwrap().detail,
            "2 × \"part\" with score ≥ 0.5, expected at most 1"
        );
        assert_eq!(
            count("part", None, Some(3), None).evaluate(&two).unwrap().detail,
            "2 × \"part\" with score ≥ 0.5, expected at least 3"
        );
    }

    #[test]
    fn issues_name_the_field() {
        let fields = |r: Rule| r.issues().into_iter().map(|(f, _)| f).collect::<Vec<_>>();
        assert_eq!(fields(count("part", None, None, None)), ["equals"]);
        assert_eq!(fields(count("part", Some(1), Some(1), None)), ["equals"]);
        assert_eq!(fields(count("part", None, Some(3), Some(2))), ["min"]);
        assert!(fields(count("part", Some(1), None, None)).is_empty());
        assert_eq!(fields(detected(None, Some(1.5), None, Some(0.0))), ["min_score", "min_overlap", "min_overlap"]);
        let bad_rect = Region::Rect(BoxXyxy { x1: 10.0, y1: 0.0, x2: 5.0, y2: 10.0 });
        assert_eq!(fields(detected(None, None, Some(bad_rect), None)), ["region.rect"]);
        assert_eq!(
            fields(detected(None, None, Some(Region::Polygon(vec![[0.0, 0.0], [1.0, 1.0]])), None)),
            ["region.polygon"]
        );
        let collinear = Region::Polygon(vec![[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]);
        assert_eq!(fields(detected(None, None, Some(collinear), None)), ["region.polygon"]);
    }

    #[test]
    fn serde_shape_and_unknown_fields() {
        let rule: Rule = serde_json::from_str(
            r#"{"kind": "count", "id": "one-part", "class": "part", "equals": 1, "message": "Expected one part"}"#,
        )
        .unwrap();
        assert_eq!(
            rule,
            Rule::Count(CountRule {
                id: "one-part".into(),
                message: "Expected one part".into(),
                class: Some("part".into()),
                min_score: None,
                region: None,
                min_overlap: None,
                equals: Some(1),
                min: None,
                max: None
            })
        );
        let back = serde_json::to_value(&rule).unwrap();
        assert_eq!(back["kind"], "count");
        let err = serde_json::from_str::<Rule>(r#"{"kind": "detected", "id": "x", "message": "m", "clas": "part"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `clas`"), "{err}");
        let region: Region = serde_json::from_str(r#"{"polygon": [[0, 0], [10, 0], [0, 10]]}"#).unwrap();
        assert_eq!(region, Region::Polygon(vec![[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]));
    }
}
