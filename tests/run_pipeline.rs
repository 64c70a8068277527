//! `ifc run` end to end on the synthetic conveyor clip (scripts/make-demo-clip.sh) with the
//! demo detector (models/defect-yolov8.onnx, classes part and scratch): the shorthand and an
//! equivalent pipeline document give the same JSONL; JSONL equals the SQLite rows; NG frames
//! are exactly where the clip shows a marked part; snapshots exist for NG frames only and
//! decode as JPEG with the boxes drawn; bad documents and model mismatches are refused with
//! the node and field named.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ifc_integration_tests::demo::{demo_clip_cut, demo_labels, demo_model, ifc_run, mark_x, read_jsonl};
use ifc_integration_tests::{ifc_bin, run_ok, run_with_timeout};

/// The first source frame of the test clip: 56 frames, 92..=147, span an unmarked part
/// leaving, and a marked part (frames 100..=149 carry a mark) crossing the view.
const FIRST_FRAME: u64 = 92;
const FRAMES: u64 = 56;

const PIPELINE: &str = r#"
version: 1
name: same-as-shorthand
nodes:
  - id: cam
    source: {kind: file, uri: cut.mp4}
  - id: dec
    inputs: [cam]
    decode: {}
  - id: pre
    inputs: [dec]
    preprocess: {resize: letterbox}
  - id: yolo-model
    inputs: [pre]
    infer: {backend: embedded, model: MODEL}
  - id: post
    inputs: [yolo-model]
    postprocess: {kind: auto, labels: LABELS}
  - id: rules
    inputs: [post]
    rule:
      rules:
        - {id: ng-scratch, kind: detected, class: scratch, min_score: 0.5, message: scratch detected}
  - id: out
    inputs: [rules]
    sink:
      jsonl: doc-out/results.jsonl
      sqlite: doc-out/results.sqlite
      snapshots: {dir: doc-out/snapshots, when: ng}
"#;

#[test]
fn shorthand_and_document_agree_and_find_the_marked_part() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    demo_clip_cut(dir, FIRST_FRAME, FRAMES);
    let (model, labels) = (demo_model(), demo_labels());
    let model_s = model.to_str().unwrap();

    // Shorthand; labels default to the .yaml beside the model.
    let out = ifc_run(&["--input", "cut.mp4", "--model", model_s, "--quiet"], dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let short = dir.join("ifc-out/cut");
    // The same pipeline written out by hand.
    let doc = PIPELINE.replace("MODEL", model_s).replace("LABELS", labels.to_str().unwrap());
    std::fs::write(dir.join("pipeline.yaml"), doc).unwrap();
    let out = ifc_run(&["--pipeline", "pipeline.yaml"], dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains(&format!("decoded {FRAMES} frames")), "{summary}");
    assert!(summary.contains("latency decode→verdict p50"), "{summary}");

    let a = std::fs::read_to_string(short.join("results.jsonl")).unwrap();
    let b = std::fs::read_to_string(dir.join("doc-out/results.jsonl")).unwrap();
    assert_eq!(a, b, "shorthand and --pipeline give the same JSONL");

    let records = read_jsonl(&short.join("results.jsonl"));
    assert_eq!(records.len() as u64, FRAMES, "one record per inferred frame");
    let mut ng = Vec::new();
    for r in &records {
        let i = r["frame_index"].as_u64().unwrap();
        let n = FIRST_FRAME + i;
        let status = r["verdict"]["status"].as_str().unwrap();
        match mark_x(n) {
            Some((x1, x2)) if x1 >= 0 && x2 <= 1280 => {
                assert_eq!(status, "ng", "source frame {n}: mark wholly in view");
                let d = r["detections"].as_array().unwrap().iter().find(|d| d["class_name"] == "scratch").unwrap();
                let bx = d["bbox"]["x1"].as_f64().unwrap();
                assert!((bx - x1 as f64).abs() < 8.0, "frame {n}: scratch at x {bx}, mark at {x1}");
            }
            Some((_, x2)) if x2 <= 0 => assert_eq!(status, "ok", "source frame {n}: mark not yet in view"),
            None => assert_eq!(status, "ok", "source frame {n}: unmarked part"),
            Some((x1, _)) if x1 >= 1280 => assert_eq!(status, "ok", "source frame {n}: mark gone"),
            Some(_) => {} // partly in view: either verdict is right
        }
        if status == "ng" {
            ng.push(i);
        }
        assert_eq!(r["pts_90k"].as_i64().unwrap(), i as i64 * 3600, "25 fps");
    }
    assert!(ng.len() >= 30, "{ng:?}");

    // SQLite: one run, one row per record, equal to the JSONL.
    let mut store = ifc_service::run_store::ResultStore::open(&short.join("results.sqlite")).unwrap();
    let run = store.last_run_id().unwrap().unwrap();
    let rows = store.frames(run).unwrap();
    assert_eq!(rows.len(), records.len());
    for (row, r) in rows.iter().zip(&records) {
        assert_eq!(row.frame_index, r["frame_index"].as_u64().unwrap());
        assert_eq!(row.pts_90k, r["pts_90k"].as_i64());
        assert_eq!(row.detections, r["detections"]);
        assert_eq!(row.fired_rules, r["verdict"]["fired"]);
        assert_eq!(format!("{:?}", row.verdict).to_lowercase(), r["verdict"]["status"].as_str().unwrap());
    }
    let totals = store.run_totals(run).unwrap();
    assert_eq!(
        (totals.finished, totals.frames_inferred, totals.ng_frames),
        (true, Some(FRAMES as i64), Some(ng.len() as i64))
    );

    // Snapshots: NG frames only, JPEGs with the boxes drawn.
    let mut snaps: Vec<String> = std::fs::read_dir(short.join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    snaps.sort();
    let expected: Vec<String> = ng.iter().map(|i| format!("frame_{i:06}_ng.jpg")).collect();
    assert_eq!(snaps, expected);
    let i = ng[ng.len() / 2];
    let r = &records[i as usize];
    let rgb = decode_jpeg(&short.join("snapshots").join(format!("frame_{i:06}_ng.jpg")));
    let px = |x: f64, y: f64| {
        let at = ((y as usize) * 1280 + x as usize) * 3;
        [rgb[at], rgb[at + 1], rgb[at + 2]]
    };
    let boxes = r["detections"].as_array().unwrap();
    let part = boxes.iter().find(|d| d["class_name"] == "part").unwrap();
    let scratch = boxes.iter().find(|d| d["class_name"] == "scratch").unwrap();
    // The part's outline is green (OK colour) over the grey part, halfway down its left edge.
    let p = px(part["bbox"]["x1"].as_f64().unwrap() + 0.5, 360.0);
    assert!(p[1] > 160 && p[0] < 110 && p[2] < 130, "part box edge {p:?}");
    // The scratch's label tab is red (NG colour) over the grey part, just above the box.
    let s = px(scratch["bbox"]["x1"].as_f64().unwrap() + 2.0, scratch["bbox"]["y1"].as_f64().unwrap() - 4.0);
    assert!(s[0] > 180 && s[1] < 100 && s[2] < 100, "scratch tab {s:?}");
    // Away from the boxes the frame is the clip's: the dark floor at the top.
    let floor = px(20.0, 20.0);
    assert!(floor.iter().all(|&c| c < 60), "floor {floor:?}");
}

fn decode_jpeg(path: &Path) -> Vec<u8> {
    let out = run_with_timeout(
        Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(path)
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{} is not a decodable JPEG", path.display());
    assert_eq!(out.stdout.len(), 1280 * 720 * 3);
    out.stdout
}

#[test]
fn model_mismatches_and_bad_documents_name_the_node_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = demo_model();
    let doc = PIPELINE.replace("MODEL", model.to_str().unwrap()).replace("LABELS", "labels.txt");
    // The demo model takes f32 [1, 3, 640, 640].
    let mismatched = doc.replace("{resize: letterbox}", "{resize: letterbox, width: 320, height: 320, dtype: f16}");
    std::fs::write(dir.join("p.yaml"), mismatched).unwrap();
    let out = ifc_run(&["--pipeline", "p.yaml"], dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for field in ["preprocess.dtype: F16 but model input", "preprocess.width: 320", "preprocess.height: 320"] {
        assert!(err.contains(&format!("nodes[2] (id \"pre\").{field}")), "{field}: {err}");
    }
    let unknown_output = doc.replace("{kind: auto,", "{kind: auto, output: boxes,");
    std::fs::write(dir.join("p.yaml"), unknown_output).unwrap();
    let err = String::from_utf8_lossy(&ifc_run(&["--pipeline", "p.yaml"], dir).stderr).into_owned();
    assert!(err.contains("nodes[4] (id \"post\").postprocess.output: model"), "{err}");

    // Schema and wiring errors come before any file is opened.
    let bad = doc
        .replace("{resize: letterbox}", "{resize: letterbox, colour: red}")
        .replace("inputs: [post]", "inputs: [nowhere]");
    std::fs::write(dir.join("p.yaml"), bad).unwrap();
    let err = String::from_utf8_lossy(&ifc_run(&["--pipeline", "p.yaml"], dir).stderr).into_owned();
    assert!(err.contains("nodes[2] (id \"pre\").preprocess"), "{err}");
    let truncated = &doc[..doc.len() / 2];
    std::fs::write(dir.join("p.yaml"), truncated).unwrap();
    let out = ifc_run(&["--pipeline", "p.yaml"], dir);
    assert!(!out.status.success() && out.status.code() == Some(1), "an error, not a crash");

    // The shorthand needs NG classes from somewhere.
    let out = ifc_run(&["--input", "x.mp4", "--model", "elsewhere.onnx"], dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("give --labels FILE or --ng-class CLASS"), "{err}");
    let printed = run_ok(Command::new(ifc_bin()).current_dir(dir).args([
        "run",
        "--input",
        "x.mp4",
        "--model",
        "m.onnx",
        "--ng-class",
        "dent",
        "--print-pipeline",
    ]));
    assert!(printed.contains("class: dent") && printed.contains("ifc-out/x/results.jsonl"), "{printed}");
}
