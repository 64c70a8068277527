//! The frames the checks use: synthetic 1080p pictures (8-bit NV12 and 10-bit P010, with
//! gradients, edges and noise so every colour and resampling path is exercised) and any raw
//! frames given with `--frames`.

use std::path::Path;

use ifc::codec::ColourDescription;
use ifc::preprocess::{FrameView, PixelFormat, Plane};

/// A tightly packed raw 4:2:0 frame.
pub struct RawFrame {
    pub name: String,
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl RawFrame {
    pub fn view(&self) -> FrameView<'_> {
        let sample = if self.format.bit_depth() > 8 { 2 } else { 1 };
        let (w, h) = (self.width as usize * sample, self.height as usize);
        let split = (w * h).min(self.data.len());
        let (y, chroma) = self.data.split_at(split);
        let planes = if matches!(self.format, PixelFormat::Nv12 | PixelFormat::P010le) {
            [Plane::new(y, w), Plane::new(chroma, w), Plane::default()]
        } else {
            let (u, v) = chroma.split_at((w / 2 * h / 2).min(chroma.len()));
            [Plane::new(y, w), Plane::new(u, w / 2), Plane::new(v, w / 2)]
        };
        FrameView::new(self.format, self.width, self.height, planes, ColourDescription::default())
    }
}

fn format_named(name: &str) -> Option<PixelFormat> {
    [PixelFormat::Yuv420p, PixelFormat::Nv12, PixelFormat::Yuv420p10le, PixelFormat::P010le]
        .into_iter()
        .find(|f| f.ffmpeg_name() == name)
}

/// A deterministic 8- or 10-bit picture: smooth ramps, a sharp checkerboard, full-range
/// extremes in one corner, and xorshift noise.
fn synthetic(format: PixelFormat, width: u32, height: u32) -> RawFrame {
    let depth = format.bit_depth();
    let max = (1u32 << depth) - 1;
    let mut state = 0x9e37_79b9u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state % 9
    };
    let (w, h) = (width as usize, height as usize);
    let luma = |x: usize, y: usize, n: u32| -> u32 {
        if x < 64 && y < 64 {
            return if (x + y) % 2 == 0 { 0 } else { max };
        }
        let ramp = (x * max as usize / w + y * max as usize / h) as u32 / 2;
        let checker = if (x / 8 + y / 8) % 2 == 0 { max / 8 } else { 0 };
        (ramp + checker + n).min(max)
    };
    let mut y_plane = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            y_plane.push(luma(x, y, noise()));
        }
    }
    let mut u_plane = Vec::with_capacity(w * h / 4);
    let mut v_plane = Vec::with_capacity(w * h / 4);
    for cy in 0..h / 2 {
        for cx in 0..w / 2 {
            u_plane.push(((cx * max as usize / (w / 2)) as u32 + noise()).min(max));
            v_plane.push((max - (cy * max as usize / (h / 2)) as u32).saturating_sub(noise()));
        }
    }
    let mut data = Vec::new();
    let push = |data: &mut Vec<u8>, v: u32| match format {
        PixelFormat::Yuv420p | PixelFormat::Nv12 => data.push(v as u8),
        PixelFormat::Yuv420p10le => data.extend_from_slice(&(v as u16).to_le_bytes()),
        PixelFormat::P010le => data.extend_from_slice(&((v as u16) << 6).to_le_bytes()),
    };
    y_plane.iter().for_each(|&v| push(&mut data, v));
    if matches!(format, PixelFormat::Nv12 | PixelFormat::P010le) {
        for (&u, &v) in u_plane.iter().zip(&v_plane) {
            push(&mut data, u);
            push(&mut data, v);
        }
    } else {
        u_plane.iter().for_each(|&v| push(&mut data, v));
        v_plane.iter().for_each(|&v| push(&mut data, v));
    }
    RawFrame { name: format!("synthetic-{}", format.ffmpeg_name()), format, width, height, data }
}

/// The synthetic 1080p frames, then the raw frames in `dir`.
pub fn load(dir: Option<&Path>) -> Result<Vec<RawFrame>, String> {
    let mut frames = vec![synthetic(PixelFormat::Nv12, 1920, 1080), synthetic(PixelFormat::P010le, 1920, 1080)];
    let Some(dir) = dir else { return Ok(frames) };
    let entries = std::fs::read_dir(dir).map_err(|e| format!("--frames {}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let parts: Vec<&str> = file.rsplitn(4, '.').collect();
        // rsplitn: ["yuv", "WxH", "pix_fmt", "name"].
        let [ext, size, pix_fmt, name] = parts[..] else { continue };
        if ext != "yuv" {
            continue;
        }
        let format = format_named(pix_fmt).ok_or_else(|| format!("{file}: unknown pix_fmt {pix_fmt}"))?;
        let (width, height) = size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
            .ok_or_else(|| format!("{file}: size {size} is not WxH"))?;
        let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let sample = if format.bit_depth() > 8 { 2 } else { 1 };
        let expected = width as usize * height as usize * 3 / 2 * sample;
        if data.len() != expected {
            return Err(format!(
                "{file}: {} B, a packed {pix_fmt} {width}x{height} frame has {expected} B",
                data.len()
            ));
        }
        frames.push(RawFrame { name: name.to_owned(), format, width, height, data });
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_frames_validate_and_raw_frames_are_parsed_by_name() {
        let frames = load(None).expect("synthetic");
        assert_eq!(frames.len(), 2);
        for f in &frames {
            let mut out = vec![0u8; ifc::preprocess::output_len_bytes(&Default::default(), 1)];
            ifc::preprocess::preprocess_into(&f.view(), &Default::default(), &mut out, 0).expect("valid frame");
        }
        let dir = std::env::temp_dir().join(format!("ifc-gpu-check-frames-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("cam.a.nv12.4x2.yuv"), [0u8; 12]).expect("write");
        std::fs::write(dir.join("notes.txt"), b"ignored").expect("write");
        let frames = load(Some(&dir)).expect("parsed");
        assert_eq!(frames.len(), 3);
        assert_eq!((frames[2].name.as_str(), frames[2].format, frames[2].width), ("cam.a", PixelFormat::Nv12, 4));
        std::fs::write(dir.join("short.p010le.4x2.yuv"), [0u8; 12]).expect("write");
        assert!(load(Some(&dir)).err().is_some_and(|e| e.contains("short.p010le.4x2.yuv: 12 B")));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
