//! Untagged streams (no colour description in the VUI) are converted as BT.601 at every size,
//! as ffmpeg's `rgb24` (libswscale) converts them; `--colour-matrix` overrides that in
//! `ifc extract` and in `ifc run`'s shorthand.

use std::process::Command;

use ifc_integration_tests::{ifc_bin, run_ok};

/// One 1280×720 frame of ffmpeg's colour pattern, x264 without colour tags.
fn untagged_720p(dir: &std::path::Path) -> std::path::PathBuf {
    let clip = dir.join("untagged_720p.mp4");
    run_ok(Command::new("ffmpeg").args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25"]).args([
        "-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
    ]).arg(&clip));
    clip
}

/// `ifc extract`'s first frame as an f32 tensor at the stream's size (scaled back to 0–255 and
/// rounded), with extra arguments.
fn ifc_rgb(clip: &std::path::Path, dir: &std::path::Path, extra: &[&str]) -> Vec<u8> {
    let out = dir.join(format!("out{}", extra.len()));
    run_ok(Command::new(ifc_bin()).arg("extract").arg(clip).arg(&out).args([
        "--format", "npy", "--dtype", "f32", "--layout", "nhwc", "--size", "1280x720", "-q",
    ]).args(extra));
    let npy = std::fs::read(out.join("frame_000000.npy")).expect("the first frame's npy");
    let header_len = usize::from(u16::from_le_bytes([npy[8], npy[9]]));
    npy[10 + header_len..]
        .chunks_exact(4)
        .map(|b| (f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect()
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| f64::from(x.abs_diff(*y))).sum::<f64>() / a.len() as f64
}

#[test]
fn untagged_720p_is_bt601_like_ffmpeg_and_the_option_overrides_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = untagged_720p(dir.path());
    let ffmpeg = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&clip)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg");
    assert!(ffmpeg.status.success());
    let theirs = ffmpeg.stdout;
    let ours = ifc_rgb(&clip, dir.path(), &[]);
    // libswscale's fixed point is up to 3 off the exact equations (about 0.8 low on average).
    let max = ours.iter().zip(&theirs).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
    assert!(max <= 3 && mean_abs_diff(&ours, &theirs) < 1.0, "default vs ffmpeg rgb24: max {max}");
    let as_709 = ifc_rgb(&clip, dir.path(), &["--colour-matrix", "bt709"]);
    assert!(mean_abs_diff(&as_709, &theirs) > 2.0, "--colour-matrix bt709 changes the colours");
    assert_eq!(ifc_rgb(&clip, dir.path(), &["--colour-matrix", "bt601"]), ours);
}

#[test]
fn run_shorthand_carries_the_colour_matrix_into_the_pipeline() {
    let doc = run_ok(Command::new(ifc_bin()).args([
        "run", "--input", "clip.mp4", "--model", "m.onnx", "--ng-class", "x", "--colour-matrix", "bt709", "--print-pipeline",
    ]));
    assert!(doc.contains("colour_matrix: bt709"), "{doc}");
    let refused = Command::new(ifc_bin())
        .args(["run", "--input", "clip.mp4", "--model", "m.onnx", "--ng-class", "x", "--colour-matrix", "bt601x"])
        .output()
        .expect("ifc");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("expected bt601, bt709 or bt2020"));
}
