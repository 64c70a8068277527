//! Verdicts: a small declarative rule set judges each frame's detections OK or NG, and a
//! [`WindowAggregator`] turns frame verdicts into a verdict over the last W ms.
//!
//! A frame is NG when any rule fires, OK otherwise; the verdict lists every rule that fired, in
//! rule order, with the detections that made it fire, so an overlay can outline them.
//!
//! ```
//! use ifc::postprocess::{BoxXyxy, Detection};
//! use ifc::verdict::{RuleSet, Status};
//!
//! let rules: RuleSet = serde_json::from_str(r#"{"rules": [
//!     {"id": "scratch", "kind": "detected", "class": "scratch", "min_score": 0.5, "message": "Scratch on the part"},
//!     {"id": "one-part", "kind": "count", "class": "part", "equals": 1, "message": "Expected exactly one part"}
//! ]}"#).unwrap();
//! let part = Detection { class_id: 0, class_name: "part".into(), score: 0.9, bbox: BoxXyxy { x1: 0.0, y1: 0.0, x2: 50.0, y2: 50.0 } };
//! assert_eq!(rules.evaluate(&[part.clone()]).status, Status::Ok);
//! let verdict = rules.evaluate(&[part.clone(), part]);
//! assert_eq!(verdict.status, Status::Ng);
//! assert_eq!(verdict.fired[0].rule_id, "one-part");
//! ```

#![forbid(unsafe_code)]

pub mod region;
pub mod rules;
pub mod window;

pub use region::Region;
pub use rules::{CountRule, DetectedRule, Rule};
pub use window::{WindowAggregator, WindowConfig, WindowError, WindowSummary};

use crate::postprocess::Detection;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Ng,
}

/// A rule that fired on a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleHit {
    pub rule_id: String,
    /// The rule's message, for operators.
    pub message: String,
    /// Indices into the frame's detections that the rule selected (for a count rule, the
    /// ones it counted; empty when too few were found).
    pub detection_indices: Vec<usize>,
    /// What was found, e.g. `2 × "part" with score ≥ 0.5, expected 1`.
    pub detail: String,
}

/// One frame's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub status: Status,
    pub fired: Vec<RuleHit>,
}

/// The rules of one rule node, and the window its frame verdicts are aggregated over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowConfig>,
}

/// A problem with a rule set, with its field path relative to the rule set
/// (e.g. `rules[1].min_score`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSetIssue {
    pub path: String,
    pub message: String,
}

impl RuleSet {
    /// Judges one frame: NG when any rule fires.
    pub fn evaluate(&self, detections: &[Detection]) -> Verdict {
        let fired: Vec<RuleHit> = self.rules.iter().filter_map(|r| r.evaluate(detections)).collect();
        Verdict { status: if fired.is_empty() { Status::Ok } else { Status::Ng }, fired }
    }

    /// Every problem that would make the rule set misbehave (all of them, not the first).
    pub fn issues(&self) -> Vec<RuleSetIssue> {
        let mut out = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            for (field, message) in rule.issues() {
                out.push(RuleSetIssue { path: format!("rules[{i}].{field}"), message });
            }
            if let Some(first) = self.rules[..i].iter().position(|r| r.id() == rule.id()) {
                out.push(RuleSetIssue {
                    path: format!("rules[{i}].id"),
                    message: format!("\"{}\" is already the id of rules[{first}]", rule.id()),
                });
            }
        }
        if let Some(w) = &self.window {
            if w.duration_ms == 0 {
                out.push(RuleSetIssue { path: "window.duration_ms".into(), message: "must be at least 1".into() });
            }
            if w.ng_frames == 0 {
                out.push(RuleSetIssue { path: "window.ng_frames".into(), message: "must be at least 1".into() });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postprocess::BoxXyxy;

    fn det(class: &str, score: f32, x1: f64, y1: f64, x2: f64, y2: f64) -> Detection {
        Detection { class_id: 0, class_name: class.to_owned(), score, bbox: BoxXyxy { x1, y1, x2, y2 } }
    }

    fn conveyor_rules() -> RuleSet {
        serde_yaml_ng::from_str(
            "rules:
  - id: scratch
    kind: detected
    class: scratch
    min_score: 0.5
    message: Scratch on the part
  - id: hand-in-press
    kind: detected
    class: hand
    region: {polygon: [[0, 0], [100, 0], [100, 100], [0, 100]]}
    min_overlap: 0.25
    message: Hand inside the press area
  - id: one-part
    kind: count
    class: part
    min_score: 0.5
    equals: 1
    message: Expected exactly one part
window: {duration_ms: 2000, ng_frames: 3}
",
        )
        .unwrap()
    }

    #[test]
    fn frame_verdicts_list_every_fired_rule_in_order() {
        let rules = conveyor_rules();
        assert!(rules.issues().is_empty(), "{:?}", rules.issues());
        let good = [det("part", 0.9, 200.0, 200.0, 300.0, 300.0), det("scratch", 0.3, 210.0, 210.0, 220.0, 220.0)];
        assert_eq!(rules.evaluate(&good), Verdict { status: Status::Ok, fired: vec![] });

        // A scratch ≥ 0.5, a hand 30 % inside the press area (box 70..170 × 0..100: 30 × 100 of
        // 100 × 100), and no part.
        let bad = [det("scratch", 0.7, 0.0, 0.0, 5.0, 5.0), det("hand", 0.9, 70.0, 0.0, 170.0, 100.0)];
        let v = rules.evaluate(&bad);
        assert_eq!(v.status, Status::Ng);
        let ids: Vec<_> = v.fired.iter().map(|h| h.rule_id.as_str()).collect();
        assert_eq!(ids, ["scratch", "hand-in-press", "one-part"]);
        assert_eq!(v.fired[0].detection_indices, vec![0]);
        assert_eq!(v.fired[1].detection_indices, vec![1]);
        assert_eq!(v.fired[2].message, "Expected exactly one part");
    }

    #[test]
    fn duplicate_ids_and_bad_windows_are_issues() {
        let mut rules = conveyor_rules();
        let dup = rules.rules[0].clone();
        rules.rules.push(dup);
        rules.window = Some(WindowConfig { duration_ms: 0, ng_frames: 0 });
        let paths: Vec<_> = rules.issues().into_iter().map(|i| i.path).collect();
        assert_eq!(paths, ["rules[3].id", "window.duration_ms", "window.ng_frames"]);
    }

    #[test]
    fn frame_verdicts_feed_the_window() {
        let rules = conveyor_rules();
        let window = rules.window.unwrap();
        let mut agg = WindowAggregator::new(window);
        let part = [det("part", 0.9, 200.0, 200.0, 300.0, 300.0)];
        // 25 fps: 40 ms apart; NG frames at 0, 40 and 2040 ms; the window is 2 s, k = 3.
        let mut last = None;
        for (t_ms, dets) in [(0, &[][..]), (40, &[][..]), (80, &part[..]), (2000, &part[..]), (2040, &[][..])] {
            last = Some(agg.push_ms(t_ms, rules.evaluate(dets).status).unwrap());
            if t_ms == 2000 {
                // (0, 2000]: NG at 40 only (0 fell out) → OK.
                assert_eq!(last.unwrap().ng_frames, 1);
            }
        }
        // (40, 2040]: NG at 2040 only.
        let s = last.unwrap();
        assert_eq!((s.ng_frames, s.ok_frames, s.status), (1, 2, Status::Ok));
        let mut burst = WindowAggregator::new(window);
        for t in [0, 40, 80] {
            last = Some(burst.push_ms(t, rules.evaluate(&[]).status).unwrap());
        }
        assert_eq!(last.unwrap().status, Status::Ng, "3 NG frames within 2 s");
    }
}
