//! `--dry-run`: everything the device check does before it touches a GPU, run here on every CI
//! run (scripts/test.sh) so that device time is spent only on driver behaviour: parse the
//! manifest, demux every clip with ifc's own demuxers, and compare each clip's packet count with
//! its reference frame count (one frame per access unit in these clips), check the 10-bit
//! reference files cover their index, and load the preprocessing frames.

use anyhow::Result;

use crate::manifest::{self, ClipEntry, RefKind};
use crate::report::Report;
use crate::{clip, frames, CheckEnv};

const CHECK: &str = "dry run";

pub fn run(env: &CheckEnv, report: &mut Report) -> Result<()> {
    let clips = match manifest::read(&env.data_dir) {
        Ok(clips) => clips,
        Err(e) => {
            report.fail(CHECK, "manifest", &format!("{e:#}"));
            return Ok(());
        }
    };
    report.row(CHECK, "manifest", Some(!clips.is_empty()), &format!("{} clips", clips.len()));
    for entry in &clips {
        let (pass, detail) = match check_clip(env, entry) {
            Ok(detail) => (detail.0, detail.1),
            Err(e) => (false, format!("{e:#}")),
        };
        report.row(CHECK, &entry.clip, Some(pass), &detail);
    }
    let throughput: Vec<&str> = clips.iter().filter(|c| c.throughput).map(|c| c.clip.as_str()).collect();
    report.row(CHECK, "throughput clips", Some(!throughput.is_empty()), &throughput.join(", "));
    let streams_ok = !env.stream_counts.is_empty() && env.stream_counts.iter().all(|&n| n > 0);
    report.row(CHECK, "--streams", Some(streams_ok), &format!("{:?}", env.stream_counts));
    match frames::load(env.frames_dir.as_deref()) {
        Ok(frames) => report.row(CHECK, "preprocess frames", Some(!frames.is_empty()), &format!("{} frames", frames.len())),
        Err(e) => report.fail(CHECK, "preprocess frames", &e),
    }
    Ok(())
}

/// `(pass, detail)` for one clip.
fn check_clip(env: &CheckEnv, entry: &ClipEntry) -> Result<(bool, String)> {
    let clip = clip::read(&env.data_dir.join(&entry.clip))?;
    let (packets, frames) = (clip.packets.len(), entry.frames.len());
    let mut problems = Vec::new();
    if packets != frames {
        problems.push(format!("{packets} packets but {frames} reference frames"));
    }
    if clip.packets.first().is_some_and(|p| !p.is_key) {
        problems.push("the first packet is not a key packet".to_owned());
    }
    if let RefKind::Psnr { raw } = &entry.kind {
        let path = env.data_dir.join(raw);
        let needed = entry.raw_len_needed();
        match std::fs::metadata(&path) {
            Ok(m) if m.len() >= needed => {}
            Ok(m) => problems.push(format!("{raw}: {} bytes, the index needs {needed}", m.len())),
            Err(e) => problems.push(format!("{raw}: {e}")),
        }
    }
    let detail = format!("{:?}, {packets} packets, {frames} reference frames", clip.config.codec);
    if problems.is_empty() {
        Ok((true, detail))
    } else {
        Ok((false, format!("{detail}: {}", problems.join("; "))))
    }
}
