//! Remuxing in memory (no file I/O): MP4 → fMP4 segments, and raw Annex B → fMP4 segments.
//! Uses bench-data/clip_1080p30_8M_60s.mp4 when scripts/bench-remux.py has made it, else a
//! fixture.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ifc::codec::{Codec, FrameRate};
use ifc::remux::{mp4_source, RawSource, Remuxer, SourceItem};
use ifc_benches::{bench_clip_or_fixture, fixture};

fn remux_items(items: impl Iterator<Item = SourceItem>, timescale: u32) -> usize {
    let mut r = Remuxer::new(timescale, 2000);
    let mut out = Vec::new();
    for item in items {
        r.push(item, &mut out).expect("remux");
    }
    r.finish(&mut out).expect("finish");
    out.len()
}

fn remux(c: &mut Criterion) {
    let (name, mp4) = bench_clip_or_fixture();
    let mut g = c.benchmark_group("remux");
    g.throughput(Throughput::Bytes(mp4.len() as u64));
    g.sample_size(20);
    g.bench_function(format!("mp4_to_fmp4/{name}"), |b| {
        b.iter(|| {
            let s = mp4_source(mp4.clone()).expect("mp4");
            let ts = s.timescale;
            remux_items(
                std::iter::once(SourceItem::Config(s.config)).chain(s.samples.into_iter().map(SourceItem::Sample)),
                ts,
            )
        })
    });
    let raw = fixture("h264_high_bpyramid_320x240_25.h264");
    g.throughput(Throughput::Bytes(raw.len() as u64));
    g.bench_function("annexb_to_fmp4/h264_high_bpyramid_320x240_25", |b| {
        b.iter(|| {
            let mut src = RawSource::new(Codec::H264, FrameRate::new(25, 1));
            src.push(raw.clone());
            src.flush();
            let items: Vec<SourceItem> = std::iter::from_fn(|| src.pull()).map(|r| r.expect("item")).collect();
            remux_items(items.into_iter(), 90_000)
        })
    });
    g.finish();
}

criterion_group!(benches, remux);
criterion_main!(benches);
