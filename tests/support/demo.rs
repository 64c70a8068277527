//! The demo assets in tests: the synthetic conveyor clip (scripts/make-demo-clip.sh: 1280x720,
//! 25 fps, 300 frames, every third part marked) and the demo detector (models/).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::{ifc_bin, run_with_timeout};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// models/defect-yolov8.onnx (classes `part`, `scratch`; labels in the .yaml beside it).
pub fn demo_model() -> PathBuf {
    repo().join("models/defect-yolov8.onnx")
}

pub fn demo_labels() -> PathBuf {
    repo().join("models/defect-yolov8.yaml")
}

/// The whole demo clip, made into `dir/conveyor.mp4`.
pub fn demo_clip(dir: &Path) -> PathBuf {
    let full = dir.join("conveyor.mp4");
    let status = Command::new("bash").arg(repo().join("scripts/make-demo-clip.sh")).arg(&full).status().expect("bash");
    assert!(status.success(), "make-demo-clip.sh failed (is ffmpeg with libx264 installed?)");
    full
}

/// Source frames `first..first + frames` of the demo clip as `dir/cut.mp4` (re-encoded, so
/// frame i of the cut is source frame first + i, at 25 fps).
pub fn demo_clip_cut(dir: &Path, first: u64, frames: u64) -> PathBuf {
    let full = demo_clip(dir);
    let cut = dir.join("cut.mp4");
    let select = format!("select='between(n,{first},{})',setpts=N/25/TB", first + frames - 1);
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&full)
        .args(["-vf", &select, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-bf", "0", "-r", "25"])
        .arg(&cut)
        .status()
        .expect("ffmpeg");
    assert!(status.success(), "ffmpeg cut failed");
    cut
}

/// Where the clip's mark is for source frame `n`: the x range of the 60 px mark, if the part
/// is a marked one (script: part left edge 32·(n mod 50) − 240, mark at +140).
pub fn mark_x(n: u64) -> Option<(i64, i64)> {
    let marked = (n / 50) % 3 == 2;
    let x = 32 * (n % 50) as i64 - 240 + 140;
    marked.then_some((x, x + 60))
}

pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// `ifc run ARGS` in `dir`, bounded (a debug build infers a few frames a second).
pub fn ifc_run(args: &[&str], dir: &Path) -> Output {
    let mut cmd = Command::new(ifc_bin());
    cmd.current_dir(dir).arg("run").args(args);
    run_with_timeout(&mut cmd, Duration::from_secs(900))
}

/// The shorthand's pipeline document (what `ifc run --input CLIP --model M` runs, from
/// `--print-pipeline`), as JSON for `ifc serve`'s API.
pub fn demo_document(clip: &Path, dir: &Path) -> serde_json::Value {
    let model = demo_model();
    let out = ifc_run(
        &["--input", clip.to_str().expect("utf-8"), "--model", model.to_str().expect("utf-8"), "--print-pipeline"],
        dir,
    );
    assert!(out.status.success(), "--print-pipeline: {}", String::from_utf8_lossy(&out.stderr));
    serde_yaml_ng::from_slice(&out.stdout).expect("YAML document")
}
