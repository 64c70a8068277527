//! Inputs for the benchmarks in benches/*.rs.

use std::path::Path;

use bytes::Bytes;

/// A file from testdata/.
pub fn fixture(name: &str) -> Bytes {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name);
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The 1080p bench clip if scripts/bench-remux.py made it, else the largest MP4 fixture.
pub fn bench_clip_or_fixture() -> (String, Bytes) {
    let clip = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-data/clip_1080p30_8M_60s.mp4");
    match std::fs::read(&clip) {
        Ok(d) => ("clip_1080p30_8M_60s".into(), Bytes::from(d)),
        Err(_) => {
            eprintln!("bench: {} not found (scripts/bench-remux.py makes it); using a fixture", clip.display());
            ("h264_high_bpyramid_320x240_25".into(), fixture("h264_high_bpyramid_320x240_25.mp4"))
        }
    }
}
