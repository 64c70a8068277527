//! The runner on real decoded fixtures with a scripted backend (the real-model tests are in
//! the CLI's integration tests, where the embedded runtime is built).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use super::*;
use crate::annotate::{NG_COLOUR, OK_COLOUR};
use crate::decode::{open_decoder, DecoderOptions, EncodedPacket, Frame};
use crate::infer::{ElementType, InferBackend, InferError, ModelMetadata, Output, TensorInfo};
use crate::pipeline::{NodeKind, PipelineDocument, SnapshotWhen};
use crate::postprocess::{parse_labels, BoxXyxy};
use crate::remux::mp4_source;
use crate::verdict::{Status, WindowConfig};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

fn fixture(name: &str) -> bytes::Bytes {
    let path = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")).into()
}

/// Every frame of an MP4 fixture, display order.
fn decode_all(name: &str) -> Vec<Frame> {
    let source = mp4_source(fixture(name)).unwrap();
    let ts = i128::from(source.timescale);
    let mut decoder = open_decoder(DecoderOptions::from_config(source.config)).unwrap();
    let mut frames = Vec::new();
    for s in &source.samples {
        let pts = (i128::from(s.pts()) * 90_000 / ts) as i64;
        decoder.push(EncodedPacket::new(s.data.clone(), Some(pts), s.is_sync)).unwrap();
        while let Some(f) = decoder.pull().unwrap() {
            frames.push(f);
        }
    }
    decoder.flush().unwrap();
    while let Some(f) = decoder.pull().unwrap() {
        frames.push(f);
    }
    frames
}

/// A YOLOv8-layout model `[1, 4 + 2, 3]` (classes part, scratch) that reports a part on every
/// call and, on every even call, a scratch at model pixels (16, 16)–(32, 32); every call
/// listed in `fail_calls` fails as a server outage would.
struct ScriptedModel {
    meta: ModelMetadata,
    input: Vec<u8>,
    calls: usize,
    fail_calls: Vec<usize>,
    /// Mean of each input tensor seen (to prove preprocessing wrote into the lent buffer).
    input_means: Arc<Mutex<Vec<f32>>>,
}

impl ScriptedModel {
    fn new(side: i64) -> Self {
        Self {
            meta: ModelMetadata {
                name: "scripted".into(),
                inputs: vec![TensorInfo {
                    name: "images".into(),
                    dtype: ElementType::F32,
                    shape: vec![1, 3, side, side],
                }],
                outputs: vec![TensorInfo { name: "output0".into(), dtype: ElementType::F32, shape: vec![1, 6, 3] }],
            },
            input: vec![0; (3 * side * side * 4) as usize],
            calls: 0,
            fail_calls: Vec::new(),
            input_means: Arc::default(),
        }
    }
}

impl InferBackend for ScriptedModel {
    fn metadata(&self) -> &ModelMetadata {
        &self.meta
    }
    fn max_batch(&self) -> usize {
        1
    }
    fn input_buffer(&mut self, _index: usize, _batch: usize) -> Result<&mut [u8], InferError> {
        self.input.fill(0);
        Ok(&mut self.input)
    }
    fn run(&mut self, _batch: usize) -> Result<Vec<Output>, InferError> {
        let call = self.calls;
        self.calls += 1;
        let floats: Vec<f32> =
            self.input.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect();
        self.input_means.lock().unwrap().push(floats.iter().sum::<f32>() / floats.len() as f32);
        if self.fail_calls.contains(&call) {
            return Err(InferError::Unavailable {
                endpoint: "triton:8001".into(),
                reason: "connection refused".into(),
            });
        }
        // Rows: cx, cy, w, h, score(part), score(scratch); columns: boxes.
        let scratch = if call % 2 == 0 { 0.9 } else { 0.0 };
        let data = vec![
            32.0, 24.0, 0.0, // cx
            32.0, 24.0, 0.0, // cy
            40.0, 16.0, 0.0, // w
            30.0, 16.0, 0.0, // h
            0.8, 0.0, 0.0, // part
            0.0, scratch, 0.0, // scratch
        ];
        Ok(vec![Output { name: "output0".into(), shape: vec![1, 6, 3], data }])
    }
    fn backend_name(&self) -> &'static str {
        "scripted"
    }
}

struct FixedClock;
impl Clock for FixedClock {
    fn now_ns(&self) -> u64 {
        1_000
    }
}

/// Snapshots by stem: RGB, width, height.
type SnapshotMap = BTreeMap<String, (Vec<u8>, u32, u32)>;

#[derive(Clone, Default)]
struct MemorySnapshots(Arc<Mutex<SnapshotMap>>);
impl SnapshotWriter for MemorySnapshots {
    fn write_snapshot(&mut self, stem: &str, rgb: &[u8], width: u32, height: u32) -> Result<(), SinkError> {
        self.0.lock().unwrap().insert(stem.to_owned(), (rgb.to_vec(), width, height));
        Ok(())
    }
}

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn shorthand() -> PipelineDocument {
    shorthand_document(&ShorthandOptions {
        input: "clip.mp4".into(),
        backend: ShorthandBackend::Embedded { model: "m.onnx".into() },
        labels: Some("m.yaml".into()),
        ng_classes: vec!["scratch".into()],
        out_dir: "out".into(),
        colour_matrix: None,
    })
}

#[test]
fn shorthand_runs_every_frame_and_maps_boxes_to_source_pixels() {
    let frames = decode_all("h264_main_320x240_25.mp4");
    assert!(frames.len() >= 25, "{} frames", frames.len());
    let plan = RunPlan::from_document(&shorthand()).unwrap();
    let mut model = ScriptedModel::new(64);
    model.fail_calls = vec![3];
    let means = model.input_means.clone();
    let binding = plan.bind_model(model.metadata()).unwrap();
    assert_eq!((binding.spec.out_width, binding.spec.out_height), (64, 64), "size from the model");
    let jsonl = SharedBuf::default();
    let snaps = MemorySnapshots::default();
    let sinks: Vec<Box<dyn ResultSink>> = vec![
        Box::new(JsonlSink::new("mem", jsonl.clone())),
        Box::new(SnapshotSink::new(snaps.clone(), Some(SnapshotWhen::Ng), None)),
    ];
    let labels = parse_labels("names: {0: part, 1: scratch}").unwrap();
    let mut runner = Runner::new(&plan, binding, Box::new(model), Some(labels), sinks, Box::new(FixedClock)).unwrap();
    let mut outcomes = Vec::new();
    for f in &frames {
        outcomes.push(runner.push_frame(f, 400).unwrap());
    }
    let stats = runner.finish().unwrap().clone();
    assert_eq!(stats.frames_decoded, frames.len() as u64);
    assert_eq!(stats.frames_sampled, frames.len() as u64, "the shorthand samples every frame");
    assert_eq!(stats.frames_not_inferred, 1);
    assert!(stats.errors[0].to_string().starts_with("frame 3: infer: triton:8001: unavailable"), "{:?}", stats.errors);
    assert_eq!(stats.errors[0].error.stage(), super::Stage::Infer);
    assert!(stats.errors[0].error.is_transient(), "a server that is down is worth retrying");
    assert_eq!(stats.frames_inferred + 1, frames.len() as u64);
    assert_eq!(stats.latency_percentile_ns(50.0), Some(600));
    // Letterbox padding is grey 114 → 114/255 ≈ 0.447 in f32; a zeroed buffer would read 0.
    assert!(means.lock().unwrap().iter().all(|&m| m > 0.05), "{:?}", means.lock().unwrap());

    // 320×240 letterboxed into 64×64: 5 source px per model px, 8 rows of padding on top.
    // The scratch box (16, 16)–(32, 32) maps to x 80..160, y (16 − 8)·5 = 40 .. 120.
    let inferred: Vec<&FrameRecord> =
        outcomes.iter().filter_map(|o| if let FrameOutcome::Inferred(r) = o { Some(r) } else { None }).collect();
    let ng: Vec<&&FrameRecord> = inferred.iter().filter(|r| r.verdict.status == Status::Ng).collect();
    // One call per frame; even calls report a scratch, and call 3 (frame 3) failed.
    assert_eq!(ng.iter().take(3).map(|r| r.frame_index).collect::<Vec<_>>(), [0, 2, 4]);
    assert!(inferred.iter().all(|r| r.frame_index != 3));
    let scratch = ng[0].detections.iter().find(|d| d.class_name == "scratch").unwrap();
    assert_eq!(scratch.bbox, BoxXyxy { x1: 80.0, y1: 40.0, x2: 160.0, y2: 120.0 });
    assert_eq!(ng[0].verdict.fired[0].rule_id, "ng-scratch");
    assert_eq!(ng[0].pts_s, ng[0].pts_90k.map(|p| p as f64 / 90_000.0));

    // JSONL: one line per inferred frame, equal to the records.
    let text = String::from_utf8(jsonl.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() as u64, stats.frames_inferred);
    for (line, r) in lines.iter().zip(&inferred) {
        assert_eq!(*line, r.to_json_line().unwrap());
    }
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["detections"][0]["class_name"], "scratch", "best first");
    assert_eq!(first["verdict"]["status"], "ng");

    // Snapshots: NG frames only, each with the scratch box's edge in the NG colour and the
    // part box (model (12, 9)–(52, 39) → x 60..260, y 5..155) in the OK colour.
    let snaps = snaps.0.lock().unwrap();
    let expected: Vec<String> = ng.iter().map(|r| snapshot_stem(r)).collect();
    assert_eq!(snaps.keys().cloned().collect::<Vec<_>>(), expected);
    assert_eq!(stats.snapshots_written, ng.len() as u64);
    let (rgb, w, _) = &snaps["frame_000000_ng"];
    let px = |x: usize, y: usize| &rgb[(y * *w as usize + x) * 3..][..3];
    assert_eq!(px(80, 119), NG_COLOUR, "bottom-left of the scratch box");
    assert_eq!(px(159, 100), NG_COLOUR, "right edge of the scratch box");
    assert_eq!(px(60, 154), OK_COLOUR, "bottom-left of the part box");
}

#[test]
fn sampling_and_windows_follow_the_document() {
    let frames = decode_all("h264_main_320x240_25.mp4");
    let mut doc = shorthand();
    // Every 2nd frame, and an NG window of 2 NG frames within 200 ms.
    doc.nodes.insert(
        2,
        crate::pipeline::Node::new(
            "every-2nd",
            &["decode"],
            NodeKind::Sample(crate::pipeline::SampleNode::EveryN { n: 2 }),
        ),
    );
    doc.nodes[3].inputs = vec!["every-2nd".into()];
    if let NodeKind::Rule(r) = &mut doc.nodes[6].kind {
        r.window = Some(WindowConfig { duration_ms: 200, ng_frames: 2 });
    }
    let plan = RunPlan::from_document(&doc).unwrap();
    let model = ScriptedModel::new(64);
    let binding = plan.bind_model(model.metadata()).unwrap();
    let mut runner = Runner::new(&plan, binding, Box::new(model), None, Vec::new(), Box::new(FixedClock)).unwrap();
    let mut records = Vec::new();
    for f in &frames {
        if let FrameOutcome::Inferred(r) = runner.push_frame(f, 0).unwrap() {
            records.push(r);
        }
    }
    assert_eq!(runner.stats().frames_sampled, frames.len().div_ceil(2) as u64);
    assert!(records.iter().all(|r| r.frame_index % 2 == 0));
    // Without labels the classes are "0" and "1": the shorthand's "scratch" rule never fires.
    assert!(records.iter().all(|r| r.verdict.status == Status::Ok));
    let names: Vec<&str> = records[0].detections.iter().map(|d| d.class_name.as_str()).collect();
    assert_eq!(names, ["1", "0"], "best first: scratch 0.9, part 0.8");
    let w = records[3].window.unwrap();
    // Frames 0, 2, 4, 6 are at 0, 80, 160, 240 ms: the window (40, 240] holds the last three.
    assert_eq!(w.ok_frames + w.ng_frames, 3, "{w:?}");
}

fn node_errors(errors: &[crate::pipeline::ValidationError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn model_mismatches_name_the_node_and_field() {
    let mut doc = shorthand();
    if let NodeKind::Preprocess(p) = &mut doc.nodes[2].kind {
        p.dtype = Some(crate::pipeline::TensorDtype::F16);
        p.layout = Some(crate::pipeline::TensorLayout::Nhwc);
        p.width = Some(320);
        p.height = Some(64);
    }
    if let NodeKind::Postprocess(p) = &mut doc.nodes[4].kind {
        p.output = Some("boxes".into());
    }
    let plan = RunPlan::from_document(&doc).unwrap();
    let errors = node_errors(&plan.bind_model(ScriptedModel::new(64).metadata()).unwrap_err());
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(
        errors[0].starts_with("nodes[2] (id \"letterbox\").preprocess.dtype: F16 but model input \"images\" takes f32"),
        "{errors:#?}"
    );
    assert!(errors[1].starts_with("nodes[2] (id \"letterbox\").preprocess.layout: Nhwc"), "{errors:#?}");
    assert!(
        errors[2].starts_with(
            "nodes[2] (id \"letterbox\").preprocess.width: 320 but model input \"images\" [1, 3, 64, 64] is 64 wide"
        ),
        "{errors:#?}"
    );
    assert_eq!(errors[3], "nodes[4] (id \"detections\").postprocess.output: model \"scripted\" has no output \"boxes\" (it has [\"output0\"])");

    // Inputs the runner cannot feed.
    let mut two = ScriptedModel::new(64).meta;
    two.inputs.push(two.inputs[0].clone());
    let errors = node_errors(&plan.bind_model(&two).unwrap_err());
    assert!(errors[0].starts_with("nodes[3] (id \"model\"): model \"scripted\" has 2 inputs"), "{errors:#?}");
    let mut text = ScriptedModel::new(64).meta;
    text.inputs[0].dtype = ElementType::I64;
    text.inputs[0].shape = vec![1, 77];
    let plan = RunPlan::from_document(&shorthand()).unwrap();
    let errors = node_errors(&plan.bind_model(&text).unwrap_err());
    assert!(errors[0].contains("input \"images\" has element type i64"), "{errors:#?}");
    // Dynamic sizes take the document's (or 640).
    let mut dynamic = ScriptedModel::new(64).meta;
    dynamic.inputs[0].shape = vec![-1, 3, -1, -1];
    assert_eq!(plan.bind_model(&dynamic).unwrap().spec.out_width, 640);
}

#[test]
fn documents_ifc_run_cannot_execute_are_refused_with_the_node() {
    let mut doc = shorthand();
    doc.nodes.remove(3); // the infer node
    doc.nodes[3].inputs = vec!["letterbox".into()];
    let errors = node_errors(&RunPlan::from_document(&doc).unwrap_err());
    assert!(errors.iter().any(|e| e.contains("nodes[3] (id \"detections\").inputs")), "{errors:#?}");

    let mut doc = shorthand();
    let mut second = doc.nodes[6].clone();
    second.id = "results-2".into();
    doc.nodes.push(second.clone());
    let plan = RunPlan::from_document(&doc).unwrap();
    assert_eq!(plan.sinks.len(), 2, "several sinks are fine");
    let mut model2 = doc.nodes[3].clone();
    model2.id = "model-2".into();
    doc.nodes.push(model2);
    let errors = node_errors(&RunPlan::from_document(&doc).unwrap_err());
    assert_eq!(
        errors,
        ["nodes[8] (id \"model-2\").infer: ifc run executes one chain: a second infer node is not supported"]
    );

    let yaml = shorthand().to_yaml_string().unwrap().replace("iou_threshold", "x");
    let bad = yaml.replace("resize: letterbox", "resize: letterbox\n    dtype: f64");
    let err = PipelineDocument::from_yaml_str(&bad).unwrap_err();
    assert!(err.to_string().contains("nodes[2] (id \"letterbox\").preprocess.dtype"), "{err}");
}
