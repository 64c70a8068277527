//! Steps the `ifc serve` tests share: cameras, the sampled demo pipeline, inspections.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::demo::{demo_clip, demo_model};
use crate::serve::Api;

/// Inferred frames per second of media time per camera: the pipelines below sample at this rate,
/// so each camera's inferred rate is steady whatever the machine's speed.
pub const SAMPLED_FPS: f64 = 5.0;

/// The demo pipeline with frames sampled at [`SAMPLED_FPS`] before inference.
pub fn sampled_document() -> Value {
    let model = demo_model();
    let labels = model.with_extension("yaml");
    json!({
        "version": 1,
        "name": "sampled-demo",
        "nodes": [
            {"id": "input", "source": {"kind": "file", "uri": "camera"}},
            {"id": "decode", "inputs": ["input"], "decode": {}},
            {"id": "sample", "inputs": ["decode"], "sample": {"mode": "fps", "fps": SAMPLED_FPS}},
            {"id": "letterbox", "inputs": ["sample"], "preprocess": {"resize": "letterbox"}},
            {"id": "model", "inputs": ["letterbox"], "infer": {"backend": "embedded", "model": model}},
            {"id": "detections", "inputs": ["model"], "postprocess": {"kind": "auto", "labels": labels}},
            {"id": "verdict", "inputs": ["detections"], "rule": {"rules": [
                {"kind": "detected", "id": "ng-scratch", "message": "scratch detected", "class": "scratch", "min_score": 0.5}
            ]}},
            {"id": "results", "inputs": ["verdict"], "sink": {"jsonl": "unused.jsonl"}}
        ]
    })
}

pub fn add_camera(api: &Api, name: &str, kind: &str, url: &str) -> String {
    let (status, camera) = api.post("/api/v1/cameras", &json!({"name": name, "kind": kind, "url": url}));
    assert_eq!(status, 201, "add camera {name}: {camera}");
    camera["id"].as_str().expect("id").to_owned()
}

pub fn add_pipeline(api: &Api) -> String {
    let (status, pipeline) = api.post("/api/v1/pipelines", &json!({"name": "sampled", "document": sampled_document()}));
    assert_eq!(status, 201, "pipeline: {pipeline}");
    pipeline["id"].as_str().expect("id").to_owned()
}

pub fn start_inspection(api: &Api, camera: &str, pipeline: &str) -> String {
    let (status, inspection) = api.post("/api/v1/inspections", &json!({"camera_id": camera, "pipeline_id": pipeline}));
    assert_eq!(status, 201, "inspection: {inspection}");
    inspection["id"].as_str().expect("id").to_owned()
}

/// The demo clip (1280×720, 25 fps, 12 s) five times over without re-encoding: 60 s of a
/// camera that does not end during a test.
pub fn long_clip(dir: &Path) -> PathBuf {
    let clip = demo_clip(dir);
    let long = dir.join("h264_long.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-stream_loop", "4", "-i"])
        .arg(&clip)
        .args(["-c", "copy"])
        .arg(&long)
        .status()
        .expect("ffmpeg");
    assert!(status.success(), "ffmpeg -stream_loop failed");
    long
}

pub fn inspection(api: &Api, id: &str) -> Value {
    let (status, v) = api.get(&format!("/api/v1/inspections/{id}"));
    assert_eq!(status, 200, "inspection {id}: {v}");
    v
}

/// One of the inspection's counters (`frames_inferred`, `decode_errors`, …).
pub fn counter(api: &Api, id: &str, name: &str) -> u64 {
    inspection(api, id)["counters"][name].as_u64().unwrap_or(0)
}

/// The camera's source status (`state`, `reason`, …).
pub fn camera_status(api: &Api, id: &str) -> Value {
    let (status, v) = api.get(&format!("/api/v1/cameras/{id}"));
    assert_eq!(status, 200, "camera {id}: {v}");
    v["status"].clone()
}

pub fn camera_state(api: &Api, id: &str) -> String {
    camera_status(api, id)["state"].as_str().unwrap_or_default().to_owned()
}

/// Records `camera` through the API from now on (`PUT /cameras/{id}/recording`).
pub fn record_camera(api: &Api, camera: &str, segment_s: u32) {
    let (status, body) =
        api.request("PUT", &format!("/api/v1/cameras/{camera}/recording"), Some(&json!({"segment_s": segment_s})));
    assert_eq!(status, 201, "record camera {camera}: {body}");
    assert_eq!(body["recording"], true, "{body}");
}

/// `camera`'s recorded segments, in time order.
pub fn recordings(api: &Api, camera: &str) -> Vec<Value> {
    let (status, list) = api.get(&format!("/api/v1/cameras/{camera}/recordings?from_ms=0&to_ms={}", i64::MAX / 2));
    assert_eq!(status, 200, "{list}");
    list.as_array().cloned().unwrap_or_default()
}

/// Downloads each of `camera`'s segments into `dir` and decodes it with ffprobe: each decodes
/// to its indexed frame count. Returns the frames decoded in all.
pub fn recorded_frames_decoded(api: &Api, camera: &str, dir: &Path) -> u64 {
    let mut total = 0;
    for segment in recordings(api, camera) {
        let id = segment["id"].as_i64().expect("id");
        let (status, bytes) = api.get_bytes(&format!("/api/v1/recordings/{id}/file"));
        assert_eq!(status, 200, "segment {id}");
        let path = dir.join(format!("{id}.mp4"));
        std::fs::write(&path, bytes).expect("segment");
        let frames = crate::decoded_frames(&path);
        assert_eq!(Some(frames), segment["frame_count"].as_u64(), "segment {id}: the index's count decodes");
        total += frames;
    }
    total
}
