//! NVDEC decoding (decode + map of each picture, frames dropped at once) against libavcodec
//! with one thread, on the same clip: the 1080p bench clip when scripts/bench-extract.py has
//! made it, else a 320×240 fixture. Needs a GPU with NVDEC: elsewhere it says so loudly on
//! stderr and measures nothing (the check of the GPU path is scripts/gpu-check.sh).

use std::path::Path;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ifc::decode::{open_decoder, BackendPreference, DecoderOptions, EncodedPacket};
use ifc::gpu_path::{auto_path, GpuPath};
use ifc::remux::{mp4_source, Mp4Source};
use ifc_benches::fixture;

fn clip() -> (String, Bytes) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-data/clip_1080p30_8M_10s.mp4");
    match std::fs::read(&path) {
        Ok(d) => ("1080p30_8M".into(), Bytes::from(d)),
        Err(_) => ("h264_high_bpyramid_320x240".into(), fixture("h264_high_bpyramid_320x240_25.mp4")),
    }
}

/// Decodes every sample; returns the number of frames.
fn decode_all(source: &Mp4Source, backend: BackendPreference) -> u64 {
    let options = DecoderOptions::from_config(source.config.clone()).with_threads(1).with_backend(backend);
    let mut decoder = open_decoder(options).expect("decoder opens");
    let mut frames = 0;
    for s in &source.samples {
        let _ = decoder.push(EncodedPacket::new(s.data.clone(), Some(s.dts), s.is_sync));
        while let Ok(Some(_)) = decoder.pull() {
            frames += 1;
        }
    }
    let _ = decoder.flush();
    while let Ok(Some(_)) = decoder.pull() {
        frames += 1;
    }
    frames
}

fn nvdec(c: &mut Criterion) {
    let choice = auto_path();
    if choice.path != GpuPath::NvdecCuda {
        eprintln!("==================================================================");
        eprintln!("bench nvdec: SKIPPED, no NVDEC here: {}", choice.reason);
        eprintln!("==================================================================");
        return;
    }
    let (name, file) = clip();
    let source = mp4_source(file).expect("clip parses");
    let frames = decode_all(&source, BackendPreference::PreferHardware);
    let mut g = c.benchmark_group("nvdec");
    g.sample_size(10);
    g.throughput(Throughput::Elements(frames));
    g.bench_function(format!("nvdec/{name}"), |b| b.iter(|| decode_all(&source, BackendPreference::PreferHardware)));
    g.bench_function(format!("libavcodec_1_thread/{name}"), |b| {
        b.iter(|| decode_all(&source, BackendPreference::PreferSoftware))
    });
    g.finish();
}

criterion_group!(benches, nvdec);
criterion_main!(benches);
