//! The Triton backend against a real tritonserver (CPU, python backend running onnxruntime),
//! started by scripts/triton-server.sh on a free loopback port. A server that cannot start
//! fails these tests: they never skip.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ifc_integration_tests::triton::{repo_root, TritonServer};

use ifc::infer::triton::proto::infer_parameter::ParameterChoice;
use ifc::infer::triton::{AccessToken, Protocol, RetryPolicy, TritonBackend, TritonOptions};
use ifc::infer::{ElementType, InferBackend, InferError};

const MODEL: &str = "ifc_conv";
const IMAGE_VALUES: usize = 3 * 64 * 64;

/// tests/triton_make_model.py with the python that scripts/setup.sh equips (numpy, onnx,
/// onnxruntime).
fn make_model_py(args: &[&str]) {
    let status = Command::new("python3")
        .arg(repo_root().join("tests/triton_make_model.py"))
        .args(args)
        .status()
        .expect("run tests/triton_make_model.py");
    assert!(status.success(), "triton_make_model.py {args:?}");
}

/// The test conv net served as [`MODEL`].
struct Server {
    triton: TritonServer,
    _model_dir: tempfile::TempDir,
    onnx: PathBuf,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        let model_dir = tempfile::tempdir().expect("tempdir");
        let onnx = model_dir.path().join("model.onnx");
        make_model_py(&["model", onnx.to_str().expect("utf-8")]);
        Self { triton: TritonServer::start(MODEL, &onnx, extra), _model_dir: model_dir, onnx }
    }

    fn onnx(&self) -> PathBuf {
        self.onnx.clone()
    }
}

impl std::ops::Deref for Server {
    type Target = TritonServer;
    fn deref(&self) -> &TritonServer {
        &self.triton
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut TritonServer {
        &mut self.triton
    }
}

fn test_image() -> Vec<f32> {
    (0..IMAGE_VALUES).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect()
}

fn fill(backend: &mut TritonBackend, image: &[f32]) {
    let buffer = backend.input_buffer(0, 1).expect("input buffer");
    assert_eq!(buffer.len(), IMAGE_VALUES * 4);
    for (dst, v) in buffer.chunks_exact_mut(4).zip(image) {
        dst.copy_from_slice(&v.to_ne_bytes());
    }
}

fn onnxruntime_reference(onnx: &Path, image: &[f32]) -> Vec<f32> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, output) = (dir.path().join("in.f32"), dir.path().join("out.f32"));
    std::fs::write(&input, image.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).expect("write");
    make_model_py(&[
        "reference",
        onnx.to_str().expect("utf-8"),
        input.to_str().expect("utf-8"),
        output.to_str().expect("utf-8"),
    ]);
    std::fs::read(&output)
        .expect("read")
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn options(server: &Server, shared_memory: bool) -> TritonOptions {
    let mut options = TritonOptions::new(server.url(), MODEL);
    options.shared_memory = ifc::pipeline::SharedMemory::from_flag(shared_memory);
    options.timeout = Duration::from_secs(5);
    options.retry = RetryPolicy::new(4, Duration::from_millis(50), Duration::from_millis(400));
    options
}

#[test]
fn triton_matches_onnxruntime_with_and_without_shm_streams_and_survives_a_restart() {
    let mut server = Server::start(&[]);
    let image = test_image();
    let expected = onnxruntime_reference(&server.onnx(), &image);
    assert_eq!(expected.len(), 4 * 16 * 16);

    // gRPC, bytes in the message.
    let mut raw = TritonBackend::connect(options(&server, false)).expect("connect");
    assert_eq!(raw.backend_name(), "triton-grpc");
    let input = &raw.metadata().inputs[0];
    assert_eq!(
        (input.name.as_str(), input.dtype, input.shape.as_slice()),
        ("images", ElementType::F32, &[-1, 3, 64, 64][..])
    );
    assert_eq!(raw.max_batch(), 8);
    fill(&mut raw, &image);
    let started = Instant::now();
    let outputs = raw.run(1).expect("run");
    eprintln!("triton-grpc run: {:?}", started.elapsed());
    assert_eq!(outputs[0].name, "scores");
    assert_eq!(outputs[0].shape, vec![1, 4, 16, 16]);
    for (i, (got, want)) in outputs[0].data.iter().zip(&expected).enumerate() {
        assert!((got - want).abs() <= 1e-5, "scores[{i}]: triton {got}, onnxruntime {want}");
    }

    // System shared memory: the request names the region, carries no bytes.
    let mut shm = TritonBackend::connect(options(&server, true)).expect("connect shm");
    assert_eq!(shm.backend_name(), "triton-grpc-shm");
    fill(&mut shm, &image);
    let request = shm.infer_request(1).expect("request");
    assert!(request.raw_input_contents.is_empty(), "shm request carries input bytes");
    assert!(request.inputs.iter().all(|t| t.contents.is_none()));
    let region = &request.inputs[0].parameters["shared_memory_region"].parameter_choice;
    assert!(matches!(region, Some(ParameterChoice::StringParam(name)) if name.starts_with("ifc-")));
    let started = Instant::now();
    let shm_outputs = shm.run(1).expect("run shm");
    eprintln!("triton-grpc-shm run: {:?}", started.elapsed());
    assert_eq!(shm_outputs, outputs, "shm and non-shm results differ");

    // Warm timings, for the report (the model itself dominates on CPU).
    for (backend, label) in [(&mut raw, "triton-grpc"), (&mut shm, "triton-grpc-shm")] {
        let started = Instant::now();
        for _ in 0..20 {
            backend.run(1).expect("warm run");
        }
        eprintln!("{label}: {:?} per run (mean of 20, batch 1, 3x64x64 f32)", started.elapsed() / 20);
    }

    // ModelStreamInfer: three pipelined requests, the same answer each time.
    let bytes: Vec<u8> = image.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let streamed = raw.run_stream(1, &[vec![bytes.clone()], vec![bytes.clone()], vec![bytes]]).expect("stream");
    assert_eq!(streamed.len(), 3);
    for result in streamed {
        assert_eq!(result.expect("stream result"), outputs);
    }

    // A model the server does not have.
    let missing = TritonBackend::connect(TritonOptions::new(server.url(), "no_such_model"));
    match missing {
        Err(e @ InferError::ModelNotReady { .. }) => assert!(e.to_string().contains("no_such_model"), "{e}"),
        other => panic!("expected ModelNotReady, got {other:?}"),
    }

    // Crash the server mid-run: the runner sees Unavailable after the retries' backoff,
    // counts the frames it could not infer, and resumes once the server is back.
    server.kill();
    let mut failed_frames = 0;
    let started = Instant::now();
    match shm.run(1) {
        Err(InferError::Unavailable { .. }) => failed_frames += 1,
        other => panic!("expected Unavailable while the server is down, got {other:?}"),
    }
    let min_wait = options(&server, true).retry.total_backoff_max() / 2;
    assert!(started.elapsed() >= min_wait, "gave up after {:?}, before backing off {min_wait:?}", started.elapsed());
    assert!(matches!(shm.health(), Err(InferError::Unavailable { .. })));
    server.launch();
    let mut resumed = None;
    for _ in 0..20 {
        match shm.reconnect().and_then(|()| {
            fill(&mut shm, &image);
            shm.run(1)
        }) {
            Ok(outputs) => {
                resumed = Some(outputs);
                break;
            }
            Err(e) => {
                eprintln!("frame not inferred: {e}");
                failed_frames += 1;
            }
        }
    }
    eprintln!("frames not inferred across the restart: {failed_frames}");
    assert_eq!(resumed.expect("resumed after restart"), outputs);
    // The raw client's channel reconnects by itself (with retries).
    fill(&mut raw, &image);
    assert_eq!(raw.run(1).expect("raw after restart"), outputs);

    // Dropping the shm backend unregisters its region and removes the file.
    let region_name =
        match &shm.infer_request(1).expect("request").inputs[0].parameters["shared_memory_region"].parameter_choice {
            Some(ParameterChoice::StringParam(name)) => name.clone(),
            other => panic!("no region name: {other:?}"),
        };
    assert!(raw.registered_system_shm().expect("status").contains(&region_name));
    drop(shm);
    assert!(!raw.registered_system_shm().expect("status").contains(&region_name));
    assert!(!Path::new("/dev/shm").join(&region_name).exists());
}

#[test]
fn restricted_shared_memory_protocol_needs_the_token() {
    let server = Server::start(&["--restricted-shm", "ifckey=s3cret"]);
    match TritonBackend::connect(options(&server, true)) {
        Err(InferError::Protocol { reason, .. }) => assert!(reason.contains("triton-grpc-protocol-ifckey"), "{reason}"),
        other => panic!("expected a protocol error without the token, got {other:?}"),
    }
    // Inference itself is not restricted: the non-shm path needs no token.
    TritonBackend::connect(options(&server, false)).expect("connect without shm");
    let mut with_token = options(&server, true);
    with_token.access_token = Some(AccessToken::new("ifckey", "s3cret", &[Protocol::SharedMemory]).expect("token"));
    let mut shm = TritonBackend::connect(with_token).expect("connect with token");
    fill(&mut shm, &test_image());
    assert_eq!(shm.run(1).expect("run")[0].shape, vec![1, 4, 16, 16]);
}
