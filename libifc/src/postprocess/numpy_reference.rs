//! NMS and letterbox mapping against an independent numpy implementation
//! (`libifc/tests-data/postprocess_reference.py`) on seeded random inputs. Both sides use the
//! same float64 operations in the same order, so results must agree exactly.

use super::nms::{nms, Candidate, NmsParams};
use super::{BoxXyxy, LetterboxMapping, SourceMapping};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

/// splitmix64: a seeded generator so a failure can be replayed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n); 0 when n is 0.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64().checked_rem(n).unwrap_or(0)
    }
}

/// Whether `python3` can import `module`; fails the test when it cannot (a reference that
/// cannot run is a failure, not a skip: scripts/setup.sh installs numpy and jsonschema).
pub(crate) fn python_has(module: &str) -> bool {
    let ok =
        Command::new("python3").args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
    assert!(ok, "python3 cannot import {module}: run scripts/setup.sh (pip install numpy jsonschema)");
    ok
}

fn run_reference(request: &Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests-data/postprocess_reference.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with numpy is needed for the reference tests");
    child.stdin.take().expect("stdin").write_all(request.to_string().as_bytes()).expect("write request");
    let out = child.wait_with_output().expect("reference ran");
    assert!(out.status.success(), "reference failed (is numpy installed? `python3 -c 'import numpy'`)");
    serde_json::from_slice(&out.stdout).expect("reference output is JSON")
}

/// Boxes clustered around a few centres so that many overlap; scores on a coarse grid so that
/// ties are common.
fn random_nms_case(rng: &mut Rng) -> (Vec<Candidate>, NmsParams) {
    let n = 1 + rng.below(120) as usize;
    let centres: Vec<(f64, f64)> = (0..1 + rng.below(6)).map(|_| (rng.unit() * 600.0, rng.unit() * 600.0)).collect();
    let classes = 1 + rng.below(3) as u32;
    let candidates = (0..n)
        .map(|_| {
            let (cx, cy) = centres[rng.below(centres.len() as u64) as usize];
            let (x, y) = (cx + rng.unit() * 40.0 - 20.0, cy + rng.unit() * 40.0 - 20.0);
            let (w, h) = (5.0 + rng.unit() * 60.0, 5.0 + rng.unit() * 60.0);
            Candidate {
                bbox: BoxXyxy::from_cxcywh(x, y, w, h),
                score: (rng.below(20) as f32 + 1.0) / 20.0,
                class_id: rng.below(u64::from(classes)) as u32,
            }
        })
        .collect();
    let params = NmsParams::new(0.05 + rng.unit() * 0.9, 1 + rng.below(n as u64 + 5) as usize);
    (candidates, params)
}

#[test]
fn nms_and_letterbox_match_numpy_reference() {
    if !python_has("numpy") {
        return;
    }
    let mut rng = Rng(0x1fc_2024);
    let nms_cases: Vec<_> = (0..60).map(|_| random_nms_case(&mut rng)).collect();
    type Size = (u32, u32);
    let letterbox_cases: Vec<(Size, Size, Vec<BoxXyxy>)> = (0..60)
        .map(|_| {
            let source = (1 + rng.below(2000) as u32, 1 + rng.below(2000) as u32);
            let input = (32 * (1 + rng.below(30) as u32), 32 * (1 + rng.below(30) as u32));
            let boxes = (0..10)
                .map(|_| {
                    // Anywhere in the input, including the padding and a little outside.
                    let x = rng.unit() * f64::from(input.0 + 40) - 20.0;
                    let y = rng.unit() * f64::from(input.1 + 40) - 20.0;
                    BoxXyxy { x1: x, y1: y, x2: x + rng.unit() * 200.0, y2: y + rng.unit() * 200.0 }
                })
                .collect();
            (source, input, boxes)
        })
        .collect();

    let request = json!({
        "nms": nms_cases.iter().map(|(c, p)| json!({
            "boxes": c.iter().map(|c| [c.bbox.x1, c.bbox.y1, c.bbox.x2, c.bbox.y2]).collect::<Vec<_>>(),
            "scores": c.iter().map(|c| c.score).collect::<Vec<_>>(),
            "classes": c.iter().map(|c| c.class_id).collect::<Vec<_>>(),
            "iou_threshold": p.iou_threshold,
            "max_detections": p.max_detections,
        })).collect::<Vec<_>>(),
        "letterbox": letterbox_cases.iter().map(|(s, i, b)| json!({
            "source": [s.0, s.1], "input": [i.0, i.1],
            "boxes": b.iter().map(|b| [b.x1, b.y1, b.x2, b.y2]).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let reference = run_reference(&request);

    let mut suppressed_somewhere = false;
    for (k, ((candidates, params), expected)) in
        nms_cases.iter().zip(reference["nms"].as_array().expect("nms")).enumerate()
    {
        let expected: Vec<usize> = serde_json::from_value(expected.clone()).expect("indices");
        let kept = nms(candidates, params);
        assert_eq!(kept, expected, "nms case {k}: {params:?}");
        suppressed_somewhere |= kept.len() < candidates.len().min(params.max_detections);
    }
    assert!(suppressed_somewhere, "the random cases must exercise suppression");

    for (k, ((source, input, boxes), expected)) in
        letterbox_cases.iter().zip(reference["letterbox"].as_array().expect("lb")).enumerate()
    {
        let m = LetterboxMapping::letterbox(source.0, source.1, input.0, input.1).expect("non-zero sizes");
        let expected: Vec<[f64; 4]> = serde_json::from_value(expected.clone()).expect("boxes");
        for (b, e) in boxes.iter().zip(&expected) {
            let got = m.box_to_source(b);
            assert_eq!([got.x1, got.y1, got.x2, got.y2], *e, "letterbox case {k}: {source:?} → {input:?}, box {b:?}");
        }
    }
}
