//! Decoding (libavcodec, one thread) and the fused preprocessing kernel (1080p → 640×640
//! letterboxed f32 NCHW, AVX2 when present and the portable path) on real encoder output.
//! Uses bench-data/clip_1080p30_8M_10s.mp4 when scripts/bench-extract.py has made it.

use std::path::Path;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ifc::decode::{open_decoder, DecoderOptions, EncodedPacket, Frame};
use ifc::preprocess::{output_len_bytes, DType, Layout, PreprocessSpec, Preprocessor};
use ifc::remux::mp4_source;
use ifc_benches::fixture;

fn clip() -> (String, Bytes) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-data/clip_1080p30_8M_10s.mp4");
    match std::fs::read(&path) {
        Ok(d) => ("1080p30_8M".into(), Bytes::from(d)),
        Err(_) => {
            eprintln!(
                "bench: {} not found (scripts/bench-extract.py makes it); using a 320x240 fixture",
                path.display()
            );
            ("h264_high_bpyramid_320x240".into(), fixture("h264_high_bpyramid_320x240_25.mp4"))
        }
    }
}

/// Decodes the first `frames` frames (all of them when `None`).
fn decode(file: &Bytes, frames: Option<usize>) -> Vec<Frame> {
    let source = mp4_source(file.clone()).expect("clip parses");
    let mut decoder = open_decoder(DecoderOptions::from_config(source.config).with_threads(1)).expect("decoder");
    let limit = frames.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for s in source.samples {
        decoder.push(EncodedPacket::new(s.data, Some(s.dts), s.is_sync)).expect("decode");
        while let Ok(Some(f)) = decoder.pull() {
            out.push(f);
        }
        if out.len() >= limit {
            return out;
        }
    }
    decoder.flush().expect("flush");
    while let Ok(Some(f)) = decoder.pull() {
        out.push(f);
    }
    out
}

fn decoding(c: &mut Criterion) {
    let (name, file) = clip();
    let frames = decode(&file, None).len() as u64;
    let mut g = c.benchmark_group("decode");
    g.sample_size(10);
    g.throughput(Throughput::Elements(frames));
    g.bench_function(format!("libavcodec_1_thread/{name}"), |b| b.iter(|| decode(&file, None).len()));
    g.finish();
}

fn preprocessing(c: &mut Criterion) {
    let (name, file) = clip();
    let frame = decode(&file, Some(1)).into_iter().next().expect("a frame");
    let view = frame.view().expect("4:2:0 frame");
    let mut g = c.benchmark_group(format!("preprocess/{name}"));
    g.throughput(Throughput::Elements(1));
    for (label, dtype, layout) in [
        ("f32_nchw", DType::F32, Layout::Nchw),
        ("f16_nchw", DType::F16, Layout::Nchw),
        ("u8_nhwc", DType::U8, Layout::Nhwc),
    ] {
        let spec = PreprocessSpec::default().with_dtype(dtype).with_layout(layout);
        let mut out = vec![0u8; output_len_bytes(&spec, 1)];
        let mut pre = Preprocessor::new(spec.clone()).expect("spec");
        g.bench_function(format!("640x640_letterbox_{label}"), |b| {
            b.iter(|| pre.run(&view, &mut out, 0).expect("run"))
        });
        let mut portable = Preprocessor::new(spec).expect("spec");
        portable.force_portable();
        g.bench_function(format!("640x640_letterbox_{label}_portable"), |b| {
            b.iter(|| portable.run(&view, &mut out, 0).expect("run"))
        });
    }
    g.finish();
}

criterion_group!(benches, decoding, preprocessing);
criterion_main!(benches);
