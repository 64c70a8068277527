//! CUDA preprocessing (1080p → 640×640 letterboxed, f32 and f16 NCHW) against the CPU path on
//! the same decoded frame, per frame including the wait for the kernel. Needs an NVIDIA GPU
//! with libcuda and libnvrtc; without one it says so loudly on stderr and measures nothing.
//! Uses bench-data/clip_1080p30_8M_10s.mp4 when scripts/bench-extract.py has made it.

use std::path::Path;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use ifc::decode::{open_decoder, DecoderOptions, EncodedPacket, Frame};
use ifc::gpu::{Device, DeviceBuffer, GpuPreprocessor, GpuProbe, UploadedFrame};
use ifc::preprocess::{output_len_bytes, DType, PreprocessSpec, Preprocessor};
use ifc::remux::mp4_source;
use ifc_benches::fixture;

fn first_frame() -> (String, Frame) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-data/clip_1080p30_8M_10s.mp4");
    let (name, file) = match std::fs::read(&path) {
        Ok(d) => ("1080p30_8M".to_owned(), Bytes::from(d)),
        Err(_) => ("h264_high_bpyramid_320x240".to_owned(), fixture("h264_high_bpyramid_320x240_25.mp4")),
    };
    let source = mp4_source(file).expect("clip parses");
    let mut decoder = open_decoder(DecoderOptions::from_config(source.config)).expect("decoder");
    for s in source.samples {
        decoder.push(EncodedPacket::new(s.data, Some(s.dts), s.is_sync)).expect("decode");
        if let Ok(Some(frame)) = decoder.pull() {
            return (name, frame);
        }
    }
    decoder.flush().expect("flush");
    (name, decoder.pull().expect("decode").expect("a frame"))
}

fn gpu_preprocessing(c: &mut Criterion) {
    let probe = GpuProbe::run();
    let device = match probe.usable_device().and_then(|_| Device::open(0)) {
        Ok(device) => device,
        Err(why) => {
            eprintln!("\n*** gpu_preprocess: SKIPPED, NOTHING MEASURED: no usable GPU ({why}) ***\n");
            return;
        }
    };
    let (name, frame) = first_frame();
    let view = frame.view().expect("4:2:0 frame");
    let uploaded = UploadedFrame::upload(&device, &view).expect("upload");
    let mut g = c.benchmark_group("gpu_preprocess");
    for dtype in [DType::F32, DType::F16] {
        let spec = PreprocessSpec::default().with_dtype(dtype);
        let out = DeviceBuffer::alloc(&device, output_len_bytes(&spec, 1)).expect("device buffer");
        let mut gpu = GpuPreprocessor::new(&device, spec.clone()).expect("kernel compiles");
        g.bench_function(format!("cuda/{dtype:?}/{name}"), |b| {
            b.iter(|| {
                gpu.run(&uploaded.view(), &out, 0).expect("launch");
                gpu.done().expect("event").wait().expect("kernel")
            })
        });
        let mut cpu = Preprocessor::new(spec.clone()).expect("spec");
        let mut host = vec![0u8; output_len_bytes(&spec, 1)];
        g.bench_function(format!("cpu/{dtype:?}/{name}"), |b| b.iter(|| cpu.run(&view, &mut host, 0).expect("cpu")));
    }
    g.finish();
}

criterion_group!(benches, gpu_preprocessing);
criterion_main!(benches);
