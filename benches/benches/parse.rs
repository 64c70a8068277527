//! Parsing throughput on real encoder output: Annex B NAL iteration, access-unit assembly,
//! parameter sets, and MP4 demuxing.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ifc::codec::nal::AnnexBNals;
use ifc::codec::{AccessUnitAssembler, Codec, NalKind, StreamState};
use ifc::mp4::demux::Mp4Demuxer;
use ifc_benches::fixture;

fn annex_b(c: &mut Criterion) {
    for (name, codec) in
        [("h264_high_bpyramid_320x240_25.h264", Codec::H264), ("hevc_main_320x240_25.h265", Codec::H265)]
    {
        let data = fixture(name);
        let mut g = c.benchmark_group(format!("annexb/{name}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function("nal_iteration", |b| b.iter(|| AnnexBNals::new(&data).count()));
        g.bench_function("access_units", |b| {
            b.iter(|| {
                let mut a = AccessUnitAssembler::new(codec);
                a.push_annex_b(data.clone());
                a.flush();
                std::iter::from_fn(|| a.pull()).count()
            })
        });
        g.bench_function("parameter_sets_and_poc", |b| {
            b.iter(|| {
                let mut s = StreamState::new(codec);
                AnnexBNals::new(&data)
                    .filter(|(_, n)| {
                        codec
                            .classify(n)
                            .is_some_and(|k| k.is_vcl() || matches!(k, NalKind::Sps | NalKind::Pps | NalKind::Vps))
                    })
                    .filter_map(|(_, n)| s.push_nal(n).ok().flatten())
                    .count()
            })
        });
        g.finish();
    }
}

fn mp4(c: &mut Criterion) {
    let data = fixture("h264_high_bpyramid_320x240_25.mp4");
    let mut g = c.benchmark_group("mp4_demux");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("moov_and_samples", |b| {
        b.iter(|| {
            let d = Mp4Demuxer::new(data.clone()).expect("fixture parses");
            let id = d.video_track().expect("video").track_id;
            d.samples(id).expect("samples").len()
        })
    });
    g.finish();
}

criterion_group!(benches, annex_b, mp4);
criterion_main!(benches);
