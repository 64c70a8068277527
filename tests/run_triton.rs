//! `ifc run` through a real Triton server (nvidia-pytriton's tritonserver on CPU, python backend
//! running the demo detector with onnxruntime) against the embedded backend (tract) on the
//! same clip: the same detections and verdicts, with and without system shared memory; and a
//! server killed in the middle of a run, then restarted.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ifc_integration_tests::demo::{demo_clip, demo_clip_cut, demo_labels, demo_model, ifc_run, read_jsonl};
use ifc_integration_tests::ifc_bin;
use ifc_integration_tests::triton::TritonServer;
use serde_json::Value;

const MODEL_NAME: &str = "defect";
/// Frames 92..=147 of the demo clip: an unmarked part leaving, a marked one crossing.
const FIRST_FRAME: u64 = 92;
const FRAMES: u64 = 56;
/// The demo model's input, f32 [1, 3, 640, 640].
const INPUT_BYTES: u64 = 3 * 640 * 640 * 4;

fn bbox(d: &Value) -> [f64; 4] {
    let b = &d["bbox"];
    ["x1", "y1", "x2", "y2"].map(|k| b[k].as_f64().unwrap())
}

fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let area = |r: [f64; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    let inter = w * h;
    inter / (area(a) + area(b) - inter)
}

/// Same frames, verdicts and detections: each detection of `a` has one in `b` of its class
/// with every box edge within 1 px and the score within 1e-3 (matched by overlap, since two
/// runtimes may order near-equal scores differently).
fn assert_same_detections(a: &[Value], b: &[Value], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: record counts");
    let mut compared = 0;
    for (ra, rb) in a.iter().zip(b) {
        let frame = ra["frame_index"].as_u64().unwrap();
        assert_eq!(frame, rb["frame_index"].as_u64().unwrap(), "{what}: frame order");
        assert_eq!(ra["pts_90k"], rb["pts_90k"], "{what}: frame {frame} pts");
        assert_eq!(ra["verdict"], rb["verdict"], "{what}: frame {frame} verdict");
        let (da, db) = (ra["detections"].as_array().unwrap(), rb["detections"].as_array().unwrap());
        assert_eq!(da.len(), db.len(), "{what}: frame {frame} detection counts: {da:?} vs {db:?}");
        for d in da {
            let twin = db
                .iter()
                .filter(|e| e["class_name"] == d["class_name"])
                .max_by(|x, y| iou(bbox(d), bbox(x)).total_cmp(&iou(bbox(d), bbox(y))))
                .unwrap_or_else(|| panic!("{what}: frame {frame}: no {} in {db:?}", d["class_name"]));
            for (p, q) in bbox(d).iter().zip(bbox(twin)) {
                assert!((p - q).abs() <= 1.0, "{what}: frame {frame}: box {:?} vs {:?}", bbox(d), bbox(twin));
            }
            let (s, t) = (d["score"].as_f64().unwrap(), twin["score"].as_f64().unwrap());
            assert!((s - t).abs() <= 1e-3, "{what}: frame {frame}: score {s} vs {t}");
            compared += 1;
        }
    }
    assert!(compared >= FRAMES as usize, "{what}: only {compared} detections compared");
}

/// The summary's `N request bytes/frame`.
fn request_bytes_per_frame(stderr: &str) -> u64 {
    let (before, _) = stderr.split_once(" request bytes/frame").unwrap_or_else(|| panic!("no request bytes: {stderr}"));
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

fn run_ok(args: &[&str], dir: &Path) -> String {
    let out = ifc_run(args, dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "ifc run {args:?}:\n{stderr}");
    stderr
}

#[test]
fn embedded_and_triton_give_the_same_detections_with_and_without_shared_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    demo_clip_cut(dir, FIRST_FRAME, FRAMES);
    let server = TritonServer::start(MODEL_NAME, &demo_model(), &[]);
    let (model, labels) = (demo_model(), demo_labels());
    let (model, labels, address) = (model.to_str().unwrap(), labels.to_str().unwrap(), server.address());

    run_ok(&["--input", "cut.mp4", "--model", model, "--out", "embedded"], dir);
    let triton = ["--input", "cut.mp4", "--triton", &address, "--model-name", MODEL_NAME, "--labels", labels];
    let plain = run_ok(&[&triton[..], &["--out", "triton"]].concat(), dir);
    let shm = run_ok(&[&triton[..], &["--shared-memory", "--out", "triton-shm"]].concat(), dir);

    let embedded = read_jsonl(&dir.join("embedded/results.jsonl"));
    let grpc = read_jsonl(&dir.join("triton/results.jsonl"));
    let grpc_shm = read_jsonl(&dir.join("triton-shm/results.jsonl"));
    assert_eq!(embedded.len() as u64, FRAMES);
    assert!(embedded.iter().any(|r| r["verdict"]["status"] == "ng"), "the marked part is found");
    assert_same_detections(&embedded, &grpc, "embedded vs triton");
    // The same server and model: shared memory changes how bytes travel, not the answer.
    assert_eq!(grpc, grpc_shm, "triton with and without shared memory");

    // Without shared memory every request carries the 4.9 MB tensor; with it, a few hundred
    // bytes naming the region.
    let (plain_bytes, shm_bytes) = (request_bytes_per_frame(&plain), request_bytes_per_frame(&shm));
    eprintln!("request bytes/frame: {plain_bytes} without shared memory, {shm_bytes} with");
    assert!(plain_bytes >= INPUT_BYTES, "{plain_bytes} request bytes/frame without shared memory");
    assert!(shm_bytes < 1024, "{shm_bytes} request bytes/frame with shared memory");
}

fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

#[test]
fn triton_killed_mid_run_is_reported_and_inference_resumes_after_the_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    demo_clip(dir);
    let mut server = TritonServer::start(MODEL_NAME, &demo_model(), &[]);
    let address = server.address();
    let labels = demo_labels();
    let mut child = Command::new(ifc_bin())
        .current_dir(dir)
        .args(["run", "--input", "conveyor.mp4", "--triton", &address, "--model-name", MODEL_NAME, "--labels"])
        .arg(&labels)
        .args(["--shared-memory", "--out", "out"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr_pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || std::io::read_to_string(stderr_pipe).unwrap_or_default());

    // Let it infer a few frames, then crash the server under it.
    let jsonl = dir.join("out/results.jsonl");
    let deadline = Instant::now() + Duration::from_secs(300);
    while count_lines(&jsonl) < 10 {
        assert!(child.try_wait().unwrap().is_none(), "ifc run ended before the server was killed");
        assert!(Instant::now() < deadline, "no results within 300 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    let inferred_before_kill = count_lines(&jsonl);
    std::thread::sleep(Duration::from_secs(1));
    server.launch();

    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("ifc run did not finish within 600 s after the restart");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = stderr.join().unwrap();
    assert!(status.success(), "ifc run failed:\n{stderr}");
    eprintln!("ifc run across the outage:\n{stderr}");
    // Reported as it happened, and counted in the summary.
    assert!(stderr.contains("ifc run: not inferred: frame"), "{stderr}");
    assert!(stderr.contains("unavailable"), "{stderr}");
    let records = read_jsonl(&jsonl);
    let not_inferred = 300 - records.len();
    assert!(not_inferred > 0, "the outage cost no frame?\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "decoded 300 frames (decode errors 0), inferred {}, not inferred {not_inferred};",
            records.len()
        )),
        "{stderr}"
    );
    // Decoding went on through the outage, and inference resumed after it: the frames missing
    // from the results are one contiguous stretch, and frames after it were inferred.
    let indices: Vec<u64> = records.iter().map(|r| r["frame_index"].as_u64().unwrap()).collect();
    let gaps: Vec<(u64, u64)> = indices.windows(2).filter(|w| w[1] != w[0] + 1).map(|w| (w[0], w[1])).collect();
    assert_eq!(gaps.len(), 1, "one outage, one gap: {gaps:?}");
    assert!(gaps[0].0 + 1 >= inferred_before_kill as u64, "the gap starts at the kill: {gaps:?}");
    assert_eq!(indices.last(), Some(&299), "inferred up to the last frame after the restart");
}
