//! Issue 15's damaged streams, made at test time: a 1366×768 x264 B-pyramid stream (1.7 MB,
//! too big to commit beside `testdata/`), a copy with bytes flipped inside one slice's data,
//! and a copy with one access unit left out. Deterministic: the damage is placed by the
//! stream's structure (which NAL unit), not by byte offsets of one x264 build.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{ifc_bin, run_ok, run_with_timeout};

/// 120 frames of testsrc2, IDR every 60, three B-frames with a pyramid (B-pictures that are
/// references, decoded after the P-picture they are displayed before).
pub fn bpyramid_1366x768(dir: &Path) -> PathBuf {
    let path = dir.join("h264_high_bpyramid_1366x768_25.h264");
    let mut ffmpeg = Command::new("ffmpeg");
    ffmpeg.args([
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1366x768:rate=25,format=yuv420p",
    ]);
    ffmpeg.args(["-frames:v", "120", "-c:v", "libx264", "-threads", "1", "-profile:v", "high", "-bf", "3"]);
    ffmpeg.args(["-x264-params", "b-pyramid=normal:bframes=3:keyint=60:min-keyint=60:scenecut=0", "-f", "h264"]);
    let out = run_with_timeout(ffmpeg.arg(&path), Duration::from_secs(120));
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    path
}

/// A NAL unit of an Annex B stream: where its start code begins, where it begins, its end.
#[derive(Debug, Clone, Copy)]
pub struct NalSpan {
    pub start_code: usize,
    pub nal: usize,
    pub end: usize,
}

pub fn nal_units(data: &[u8]) -> Vec<NalSpan> {
    let starts: Vec<(usize, usize)> = (0..data.len().saturating_sub(2))
        .filter(|&i| data[i..i + 3] == [0, 0, 1])
        .map(|i| (if i > 0 && data[i - 1] == 0 { i - 1 } else { i }, i + 3))
        .collect();
    (0..starts.len())
        .map(|k| {
            let end = starts.get(k + 1).map_or(data.len(), |s| s.0);
            NalSpan { start_code: starts[k].0, nal: starts[k].1, end }
        })
        .collect()
}

/// The `n`-th slice (from 0) of a predicted picture that is a reference (H.264 nal_unit_type
/// 1, nal_ref_idc > 0): pictures decoded after it are predicted from it.
pub fn predicted_reference_slice(data: &[u8], n: usize) -> NalSpan {
    nal_units(data)
        .into_iter()
        .filter(|u| data[u.nal] & 0x1f == 1 && data[u.nal] & 0x60 != 0)
        .nth(n)
        .expect("enough reference pictures")
}

/// `ifc extract --format raw` (one thread or more): each frame's planes by pts, and the
/// closing summary line.
pub fn extract_raw(input: &Path, threads: usize) -> (HashMap<i64, Vec<u8>>, String) {
    let out = tempfile::tempdir().expect("tempdir");
    let mut ifc = Command::new(ifc_bin());
    ifc.arg("extract").arg(input).arg(out.path()).args(["--format", "raw", "--threads", &threads.to_string()]);
    let o = run_with_timeout(&mut ifc, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{}: {stderr}", input.display());
    let summary = stderr.lines().find(|l| l.starts_with("ifc extract: decoded")).unwrap_or_default().to_owned();
    let raw = std::fs::read(out.path().join("frames.raw")).expect("frames.raw");
    let index = std::fs::read_to_string(out.path().join("frames.csv")).expect("frames.csv");
    // frame,pts_90k,width,height,pix_fmt,offset,len
    let frames = index
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let (pts, offset, len): (i64, usize, usize) =
                (f[1].parse().expect("pts"), f[5].parse().expect("offset"), f[6].parse().expect("len"));
            (pts, raw[offset..offset + len].to_vec())
        })
        .collect();
    (frames, summary)
}

/// Display position of the picture whose access unit starts at `offset`, by ffprobe's
/// `pkt_pos` (ffmpeg's decode of the undamaged stream, in display order).
pub fn display_position(input: &Path, offset: usize) -> usize {
    let mut ffprobe = Command::new("ffprobe");
    ffprobe.args(["-v", "error", "-threads", "1", "-show_entries", "frame=pkt_pos", "-of", "csv=p=0"]).arg(input);
    let positions = run_ok(&mut ffprobe);
    positions
        .lines()
        .position(|l| l.split(',').next().and_then(|p| p.trim().parse::<usize>().ok()) == Some(offset))
        .expect("ffprobe shows the picture")
}
