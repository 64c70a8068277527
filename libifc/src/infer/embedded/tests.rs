//! The embedded runtime on the models of scripts/make-models.py: metadata, agreement with
//! onnxruntime, malformed files, batch limits. The onnxruntime and onnx tests print why and
//! pass when `python3` cannot import them (`pip install onnx onnxruntime numpy`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::*;

pub(super) fn model_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models").join(name)
}

pub(super) fn python_has(modules: &str) -> bool {
    let ok =
        Command::new("python3").args(["-c", &format!("import {modules}")]).output().is_ok_and(|o| o.status.success());
    // A reference that cannot run is a failure, not a skip: scripts/setup.sh installs these.
    assert!(ok, "python3 cannot import {modules}: run scripts/setup.sh (pip install onnx onnxruntime numpy)");
    ok
}

/// Deterministic values in [0, 1) (a 64-bit LCG, top 24 bits), reproducible without a crate.
fn pseudo_random(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

fn write_f32(buffer: &mut [u8], values: &[f32]) {
    assert_eq!(buffer.len(), values.len() * 4, "buffer holds exactly the batch");
    for (chunk, v) in buffer.chunks_exact_mut(4).zip(values) {
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
}

/// onnxruntime's outputs for `input` (f32, `shape`), as (name, shape, data) in model order.
fn onnxruntime_outputs(model: &Path, shape: &[usize], input: &[f32]) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let script = r#"
import sys, json, numpy as np, onnxruntime as ort
model, shape = sys.argv[1], [int(d) for d in sys.argv[2].split(",")]
x = np.frombuffer(sys.stdin.buffer.read(), dtype=np.float32).reshape(shape)
s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
outs = s.run(None, {s.get_inputs()[0].name: x})
names = [o.name for o in s.get_outputs()]
head = json.dumps([[n, list(o.shape)] for n, o in zip(names, outs)]).encode()
sys.stdout.buffer.write(len(head).to_bytes(4, "little") + head)
for o in outs:
    sys.stdout.buffer.write(np.ascontiguousarray(o, dtype=np.float32).tobytes())
"#;
    let shape_arg = shape.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(model)
        .arg(shape_arg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let bytes: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
    child.stdin.take().expect("stdin").write_all(&bytes).expect("input written");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(out.status.success(), "onnxruntime failed");
    let (len, rest) = out.stdout.split_at(4);
    let head_len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
    let (head, mut data) = rest.split_at(head_len);
    let head: Vec<(String, Vec<usize>)> = serde_json::from_slice(head).expect("json header");
    head.into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let (this, rest) = data.split_at(n * 4);
            data = rest;
            (name, shape, this.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
        })
        .collect()
}

fn assert_matches_onnxruntime(file: &str, batch: usize, seed: u64) {
    let path = model_path(file);
    let mut model = EmbeddedOnnx::load(&path, 4).expect("loads");
    let mut shape: Vec<usize> =
        model.metadata().inputs[0].shape.iter().map(|&d| usize::try_from(d).unwrap_or(batch)).collect();
    shape[0] = batch;
    let input = pseudo_random(shape.iter().product(), seed);
    write_f32(model.input_buffer(0, batch).expect("buffer"), &input);
    let ours = model.run(batch).expect("runs");
    let theirs = onnxruntime_outputs(&path, &shape, &input);
    assert_eq!(ours.len(), theirs.len());
    for (o, (name, shape, data)) in ours.iter().zip(&theirs) {
        assert_eq!((&o.name, &o.shape), (name, shape));
        // 1e-4 relative to the value's magnitude (at least 1): the detector's box centres
        // reach 640, where one f32 ulp is 6e-5 and the two runtimes sum 288-tap
        // convolutions in different orders.
        let worst =
            crate::test_tolerance::worst(o.data.iter().zip(data).map(|(a, b)| (a - b).abs() / b.abs().max(1.0)));
        assert!(worst <= 1e-4, "{file} {name}: worst relative difference {worst}");
    }
}

#[test]
fn detector_metadata_is_the_yolov8_layout() {
    let model = EmbeddedOnnx::load(&model_path("defect-yolov8.onnx"), 1).expect("loads");
    let meta = model.metadata();
    assert_eq!(meta.name, "defect-yolov8");
    assert_eq!(
        meta.inputs,
        vec![TensorInfo { name: "images".into(), dtype: ElementType::F32, shape: vec![1, 3, 640, 640] }]
    );
    // [1, 4 + 2 classes, 2 heads × 40 × 40 cells].
    assert_eq!(
        meta.outputs,
        vec![TensorInfo { name: "output0".into(), dtype: ElementType::F32, shape: vec![1, 6, 3200] }]
    );
    assert_eq!(model.max_batch(), 1, "a fixed batch of 1 is the only batch");
    assert_eq!(model.backend_name(), "embedded-onnx");
}

#[test]
fn classifier_metadata_has_a_symbolic_batch() {
    let model = EmbeddedOnnx::load(&model_path("classifier.onnx"), 8).expect("loads");
    let meta = model.metadata();
    assert_eq!(
        meta.inputs,
        vec![TensorInfo { name: "images".into(), dtype: ElementType::F32, shape: vec![-1, 3, 224, 224] }]
    );
    assert_eq!(meta.outputs, vec![TensorInfo { name: "logits".into(), dtype: ElementType::F32, shape: vec![-1, 2] }]);
    assert_eq!(model.max_batch(), 8);
}

#[test]
fn metadata_agrees_with_the_onnx_package() {
    if !python_has("onnx") {
        return;
    }
    for file in ["defect-yolov8.onnx", "classifier.onnx"] {
        let path = model_path(file);
        let script = "import sys, json, onnx\nm = onnx.load(sys.argv[1])\n\
            dims = lambda v: [d.dim_value if d.HasField('dim_value') else -1 for d in v.type.tensor_type.shape.dim]\n\
            print(json.dumps([[[v.name, dims(v)] for v in m.graph.input], [[v.name, dims(v)] for v in m.graph.output]]))";
        let out = Command::new("python3").args(["-c", script]).arg(&path).output().expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let expected: [Vec<(String, Vec<i64>)>; 2] = serde_json::from_slice(&out.stdout).expect("json");
        let model = EmbeddedOnnx::load(&path, 1).expect("loads");
        let pairs = |infos: &[TensorInfo]| infos.iter().map(|i| (i.name.clone(), i.shape.clone())).collect::<Vec<_>>();
        assert_eq!(pairs(&model.metadata().inputs), expected[0], "{file} inputs");
        assert_eq!(pairs(&model.metadata().outputs), expected[1], "{file} outputs");
    }
}

#[test]
fn detector_matches_onnxruntime_on_random_input() {
    if python_has("onnxruntime, numpy") {
        assert_matches_onnxruntime("defect-yolov8.onnx", 1, 7);
    }
}

#[test]
fn classifier_matches_onnxruntime_at_each_batch_size() {
    if python_has("onnxruntime, numpy") {
        for batch in [1, 3, 4] {
            assert_matches_onnxruntime("classifier.onnx", batch, batch as u64);
        }
    }
}

#[test]
fn the_input_buffer_is_the_one_that_runs() {
    // Writes through the lent buffer reach the model: a red image is a defect, a grey one ok,
    // in the same batch; and a second run sees new contents (no stale copy).
    let mut model = EmbeddedOnnx::load(&model_path("classifier.onnx"), 2).expect("loads");
    let plane = 224 * 224;
    let image = |rgb: [f32; 3]| rgb.iter().flat_map(|&c| std::iter::repeat_n(c, plane)).collect::<Vec<f32>>();
    let batch = [image([1.0, 0.0, 0.0]), image([0.5, 0.5, 0.5])].concat();
    write_f32(model.input_buffer(0, 2).expect("buffer"), &batch);
    let logits = &model.run(2).expect("runs")[0];
    assert_eq!(logits.shape, [2, 2]);
    assert!(logits.data[1] > logits.data[0] && logits.data[3] < logits.data[2], "{:?}", logits.data);
    write_f32(
        model.input_buffer(0, 2).expect("buffer"),
        &[batch[3 * plane..].to_vec(), batch[..3 * plane].to_vec()].concat(),
    );
    let swapped = &model.run(2).expect("runs")[0];
    assert_eq!(swapped.data, [&logits.data[2..], &logits.data[..2]].concat());
}

#[test]
fn batches_beyond_the_limit_are_errors() {
    let mut classifier = EmbeddedOnnx::load(&model_path("classifier.onnx"), 2).expect("loads");
    assert!(matches!(classifier.input_buffer(0, 3), Err(InferError::BatchTooLarge { batch: 3, max: 2, .. })));
    assert!(matches!(classifier.run(3), Err(InferError::BatchTooLarge { .. })));
    assert!(matches!(classifier.run(0), Err(InferError::Input { .. })));
    assert!(matches!(classifier.input_buffer(1, 1), Err(InferError::Input { .. })), "the model has one input");
    let mut detector = EmbeddedOnnx::load(&model_path("defect-yolov8.onnx"), 4).expect("loads");
    assert!(matches!(detector.run(2), Err(InferError::BatchTooLarge { batch: 2, max: 1, .. })));
    assert!(matches!(EmbeddedOnnx::load(&model_path("classifier.onnx"), 0), Err(InferError::Load { .. })));
}

#[test]
fn bad_model_files_are_load_errors_naming_the_file() {
    let good = std::fs::read(model_path("defect-yolov8.onnx")).expect("model");
    let dir = std::env::temp_dir().join(format!("ifc-embedded-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let garbage: Vec<u8> = pseudo_random(4096, 3).iter().map(|v| (v * 256.0) as u8).collect();
    let cases: [(&str, &[u8]); 5] = [
        ("truncated.onnx", &good[..good.len() / 2]),
        ("header-only.onnx", &good[..40]),
        ("garbage.onnx", &garbage),
        ("text.onnx", b"names:\n  0: part\n  1: scratch\n"),
        ("empty.onnx", b""),
    ];
    for (name, bytes) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        match EmbeddedOnnx::load(&path, 1) {
            Err(e @ InferError::Load { .. }) => assert!(e.to_string().contains(name), "{name}: {e}"),
            Err(e) => panic!("{name}: not a load error: {e}"),
            Ok(_) => panic!("{name}: loaded"),
        }
    }
    let missing = dir.join("missing.onnx");
    assert!(
        matches!(EmbeddedOnnx::load(&missing, 1), Err(InferError::Load { model, .. }) if model.contains("missing.onnx"))
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bit_flipped_models_never_panic() {
    // Flips land in weights (loads and runs), in shapes or op attributes (load or run
    // errors) and in protobuf framing (parse errors); none may panic.
    let good = std::fs::read(model_path("classifier.onnx")).expect("model");
    for (i, position) in (0..good.len()).step_by(7).enumerate() {
        let mut bytes = good.clone();
        bytes[position] ^= 1 << (i % 8);
        if let Ok(mut model) = EmbeddedOnnx::from_bytes("flipped", &bytes, 1) {
            if let Ok(buffer) = model.input_buffer(0, 1) {
                buffer.fill(0);
                let _ = model.run(1);
            }
        }
    }
}

#[test]
fn make_models_reproduces_the_committed_models() {
    if !python_has("onnx, numpy") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ifc-make-models-{}", std::process::id()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/make-models.py");
    let status = Command::new("python3").arg(script).arg(&dir).status().expect("python3 runs");
    assert!(status.success());
    for file in ["defect-yolov8.onnx", "classifier.onnx", "defect-yolov8.yaml", "classifier.yaml"] {
        let made = std::fs::read(dir.join(file)).expect("made");
        assert!(
            made == std::fs::read(model_path(file)).expect("committed"),
            "{file} differs from models/{file}: rerun scripts/make-models.py"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A one-node Identity model made by the `onnx` package, with input `pixels` of `elem_type`
/// (an ONNX TensorProto type number) and `dims` (a Python list literal).
fn identity_model(elem_type: u32, dims: &str) -> Vec<u8> {
    let script = format!(
        "import sys, onnx\nfrom onnx import helper\n\
         v = lambda n: helper.make_tensor_value_info(n, {elem_type}, {dims})\n\
         g = helper.make_graph([helper.make_node('Identity', ['pixels'], ['out'])], 'identity', [v('pixels')], [v('out')])\n\
         m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])\nm.ir_version = 8\n\
         sys.stdout.buffer.write(m.SerializeToString())"
    );
    let out = Command::new("python3").args(["-c", &script]).output().expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn unsupported_inputs_are_errors_naming_model_and_input() {
    if !python_has("onnx") {
        return;
    }
    // 11 = DOUBLE: no ElementType for f64; 'H' = a symbolic height: no fixed buffer size.
    for (elem_type, dims, why) in [(11, "[1, 3, 4, 4]", "element type"), (1, "[1, 3, 'H', 4]", "symbolic")] {
        match EmbeddedOnnx::from_bytes("odd-model", &identity_model(elem_type, dims), 1) {
            Err(e @ InferError::Input { .. }) => {
                let message = e.to_string();
                assert!(
                    message.contains("odd-model") && message.contains("pixels") && message.contains(why),
                    "{message}"
                );
            }
            other => panic!("{dims}: expected an input error, got {:?}", other.map(|m| m.metadata().clone())),
        }
    }
    let huge = identity_model(1, "[1, 3, 100000, 100000]");
    assert!(
        matches!(EmbeddedOnnx::from_bytes("huge", &huge, 1), Err(InferError::Input { .. })),
        "120 GB input refused"
    );
    let classifier = std::fs::read(model_path("classifier.onnx")).expect("model");
    assert!(
        matches!(EmbeddedOnnx::from_bytes("wide", &classifier, 1 << 20), Err(InferError::Input { .. })),
        "max_batch too"
    );
    // The same graph with a supported input loads, and runs u8 through untouched.
    let mut model = EmbeddedOnnx::from_bytes("u8-model", &identity_model(2, "['N', 3, 4, 4]"), 2).expect("u8 loads");
    let buffer = model.input_buffer(0, 2).expect("buffer");
    assert_eq!(buffer.len(), 2 * 3 * 4 * 4);
    buffer.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
    let out = model.run(2).expect("runs");
    assert_eq!(out[0].data, (0..96).map(|i| i as f32).collect::<Vec<_>>());
}
