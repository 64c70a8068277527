//! `manifest.json` (written by scripts/gpu-check-refs.py): the clips and, per clip, the
//! libavcodec reference of every frame, parsed into types once so that a malformed manifest is
//! found by the dry run here, not on the GPU machine.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefKind {
    /// 8-bit: every frame's planar bytes hash to `sha256`.
    Exact,
    /// 10-bit: frames compared by PSNR with the planar frames in `raw`.
    Psnr { raw: String },
}

#[derive(Debug, Clone)]
pub struct RefFrame {
    pub width: u32,
    pub height: u32,
    pub sha256: Option<String>,
    pub offset_bytes: Option<u64>,
    pub size_bytes: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ClipEntry {
    pub clip: String,
    pub kind: RefKind,
    pub throughput: bool,
    pub frames: Vec<RefFrame>,
}

pub fn read(data_dir: &Path) -> Result<Vec<ClipEntry>> {
    let path = data_dir.join("manifest.json");
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    parse(&bytes).with_context(|| format!("parsing {}", path.display()))
}

pub fn parse(bytes: &[u8]) -> Result<Vec<ClipEntry>> {
    let manifest: Value = serde_json::from_slice(bytes)?;
    let clips = manifest["clips"].as_array().context("clips: not an array")?;
    clips.iter().enumerate().map(|(i, c)| clip(c).with_context(|| format!("clips[{i}]"))).collect()
}

fn clip(entry: &Value) -> Result<ClipEntry> {
    let name = entry["clip"].as_str().context("clip: not a string")?.to_owned();
    if name.contains('/') || name.starts_with('.') {
        bail!("clip {name:?}: a file name in the data directory is expected");
    }
    let kind = match entry["kind"].as_str() {
        Some("exact") => RefKind::Exact,
        Some("psnr") => RefKind::Psnr { raw: entry["raw"].as_str().context("raw: not a string")?.to_owned() },
        other => bail!("kind: {other:?} (exact or psnr)"),
    };
    let frames = entry["frames"].as_array().context("frames: not an array")?;
    let frames = frames
        .iter()
        .enumerate()
        .map(|(i, f)| frame(f, &kind).with_context(|| format!("frames[{i}]")))
        .collect::<Result<_>>()?;
    Ok(ClipEntry { clip: name, kind, throughput: entry["throughput"].as_bool() == Some(true), frames })
}

fn frame(f: &Value, kind: &RefKind) -> Result<RefFrame> {
    let dim = |key: &str| -> Result<u32> {
        let v = f[key].as_u64().with_context(|| format!("{key}: not a count"))?;
        u32::try_from(v).ok().filter(|&v| v > 0).with_context(|| format!("{key}: {v} out of range"))
    };
    let frame = RefFrame {
        width: dim("width")?,
        height: dim("height")?,
        sha256: f["sha256"].as_str().map(str::to_owned),
        offset_bytes: f["offset_bytes"].as_u64(),
        size_bytes: f["size_bytes"].as_u64(),
    };
    match kind {
        RefKind::Exact if frame.sha256.as_ref().is_none_or(|d| d.len() != 64) => bail!("sha256: missing or not 64 hex digits"),
        RefKind::Psnr { .. } if frame.offset_bytes.is_none() || frame.size_bytes.is_none() => {
            bail!("offset_bytes/size_bytes missing")
        }
        _ => Ok(frame),
    }
}

impl ClipEntry {
    /// Bytes the 10-bit reference file must hold (the end of its last frame).
    pub fn raw_len_needed(&self) -> u64 {
        self.frames.iter().map(|f| f.offset_bytes.unwrap_or(0) + f.size_bytes.unwrap_or(0)).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_manifest_of_both_kinds_parses() {
        let text = format!(
            r#"{{"clips":[{{"clip":"a.mp4","kind":"exact","throughput":true,"frames":[{{"width":320,"height":240,"pix_fmt":"yuv420p","sha256":"{DIGEST}"}}]}},
               {{"clip":"b.mp4","kind":"psnr","throughput":false,"raw":"refs/b.mp4.raw","frames":[{{"width":2,"height":2,"offset_bytes":0,"size_bytes":12}},{{"width":2,"height":2,"offset_bytes":12,"size_bytes":12}}]}}]}}"#
        );
        let clips = parse(text.as_bytes()).expect("parses");
        assert_eq!(clips.len(), 2);
        assert!(clips[0].throughput && clips[0].kind == RefKind::Exact);
        assert_eq!(clips[1].kind, RefKind::Psnr { raw: "refs/b.mp4.raw".into() });
        assert_eq!(clips[1].raw_len_needed(), 24);
    }

    #[test]
    fn a_malformed_manifest_says_where() {
        let bad = br#"{"clips":[{"clip":"a.mp4","kind":"exact","frames":[{"width":320,"height":240,"sha256":"ab"}]}]}"#;
        let err = format!("{:#}", parse(bad).expect_err("short digest"));
        assert!(err.contains("clips[0]") && err.contains("frames[0]") && err.contains("sha256"), "{err}");
        let escape = br#"{"clips":[{"clip":"../x.mp4","kind":"exact","frames":[]}]}"#;
        assert!(parse(escape).is_err(), "a clip outside the data directory is refused");
        let kind = br#"{"clips":[{"clip":"a.mp4","kind":"fuzzy","frames":[]}]}"#;
        assert!(format!("{:#}", parse(kind).unwrap_err()).contains("kind"));
    }
}
