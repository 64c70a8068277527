//! NVDEC on the GPU machine: correctness against libavcodec references, then throughput for
//! 1, 7, 14 and 28 concurrent 1080p streams per codec (decode and map only; frames dropped).

use std::sync::{Arc, Barrier};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use ifc::decode::{open_decoder, BackendPreference, Decoder, DecoderOptions, Frame, FramePixelFormat};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::report::Report;
use crate::{clip, CheckEnv};

const CHECK: &str = "nvdec";
const MIN_PSNR_DB: f64 = 50.0;

pub fn run(env: &CheckEnv, report: &mut Report) -> Result<()> {
    if !env.nvdec_available {
        report.fail(CHECK, "library", "libnvcuvid.so.1 did not load (or Auto is not on NVDEC): NVDEC not checked");
        return Ok(());
    }
    let manifest_path = env.data_dir.join("manifest.json");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?,
    )?;
    let clips = manifest["clips"].as_array().context("manifest.clips")?;
    for entry in clips {
        let name = entry["clip"].as_str().context("clip name")?;
        if let Err(e) = check_clip(env, entry, report) {
            report.fail(CHECK, name, &format!("{e:#}"));
        }
    }
    for entry in clips.iter().filter(|c| c["throughput"].as_bool() == Some(true)) {
        let name = entry["clip"].as_str().context("clip name")?;
        if let Err(e) = throughput(env, name, report) {
            report.fail("nvdec throughput", name, &format!("{e:#}"));
        }
    }
    Ok(())
}

fn hardware(config: ifc::codec::DecoderConfig) -> DecoderOptions {
    DecoderOptions::from_config(config).with_backend(BackendPreference::PreferHardware)
}

/// Decodes a whole clip, handing each frame on in display order.
fn decode(decoder: &mut dyn Decoder, clip: &clip::Clip, mut on_frame: impl FnMut(Frame) -> Result<()>) -> Result<u64> {
    let mut errors = 0;
    for p in &clip.packets {
        if decoder.push(p.clone()).is_err() {
            errors += 1;
        }
        while let Some(frame) = decoder.pull()? {
            on_frame(frame)?;
        }
    }
    decoder.flush()?;
    while let Some(frame) = decoder.pull()? {
        on_frame(frame)?;
    }
    Ok(errors)
}

/// The frame's samples as libavcodec's planar layout stores them (yuv420p, or yuv420p10le with
/// values in the low bits): luma rows, then Cb, then Cr, no padding.
fn planar_bytes(frame: &Frame) -> Result<Vec<u8>> {
    let host = match frame.device() {
        Some(device) => device.download()?,
        None => bail!("NVDEC returned a host frame"),
    };
    let (w, h) = (host.width() as usize, host.height() as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let ten_bit = host.pix_fmt() == FramePixelFormat::P010le;
    let bytes = if ten_bit { 2 } else { 1 };
    let mut out = Vec::with_capacity((w * h + 2 * cw * ch) * bytes);
    let sample = |row: &[u8], i: usize| -> [u8; 2] {
        if ten_bit {
            let v = u16::from_le_bytes([row[2 * i], row[2 * i + 1]]) >> 6;
            v.to_le_bytes()
        } else {
            [row[i], 0]
        }
    };
    for row in host.plane_rows(0) {
        for i in 0..w {
            out.extend_from_slice(&sample(row, i)[..bytes]);
        }
    }
    for component in 0..2 {
        for row in host.plane_rows(1) {
            for i in 0..cw {
                out.extend_from_slice(&sample(row, 2 * i + component)[..bytes]);
            }
        }
    }
    debug_assert_eq!(out.len(), (w * h + 2 * cw * ch) * bytes);
    Ok(out)
}

fn check_clip(env: &CheckEnv, entry: &Value, report: &mut Report) -> Result<()> {
    let name = entry["clip"].as_str().context("clip")?;
    let clip = clip::read(&env.data_dir.join(name))?;
    let refs: Vec<Value> = entry["frames"].as_array().context("frames")?.clone();
    let mut decoder = open_decoder(hardware(clip.config.clone()))?;
    let mut got = Vec::new();
    let errors = decode(decoder.as_mut(), &clip, |frame| {
        got.push((frame.width(), frame.height(), planar_bytes(&frame)?));
        Ok(())
    })?;
    let stats = decoder.stats();
    let counts = format!(
        "{} frames (reference {}), push errors {errors}, decode errors {}, concealed {}",
        got.len(),
        refs.len(),
        stats.decode_errors,
        stats.concealed_or_corrupt_frames
    );
    if got.len() != refs.len() {
        report.fail(CHECK, name, &counts);
        return Ok(());
    }
    match entry["kind"].as_str() {
        Some("exact") => {
            let mismatches: Vec<usize> = got
                .iter()
                .zip(&refs)
                .enumerate()
                .filter(|(_, ((w, h, data), r))| {
                    let digest = format!("{:x}", Sha256::digest(data));
                    Some(u64::from(*w)) != r["width"].as_u64()
                        || Some(u64::from(*h)) != r["height"].as_u64()
                        || Some(digest.as_str()) != r["sha256"].as_str()
                })
                .map(|(i, _)| i)
                .collect();
            let detail = format!(
                "{counts}; {} frames differ from libavcodec {:?}",
                mismatches.len(),
                &mismatches[..mismatches.len().min(8)]
            );
            report.row(CHECK, name, Some(mismatches.is_empty()), &detail);
        }
        Some("psnr") => {
            let raw_path = env.data_dir.join(entry["raw"].as_str().context("raw")?);
            let reference = std::fs::read(&raw_path).with_context(|| format!("reading {}", raw_path.display()))?;
            let psnr = psnr_10bit(&got, &refs, &reference)?;
            report.row(
                CHECK,
                name,
                Some(psnr >= MIN_PSNR_DB),
                &format!("{counts}; PSNR {psnr:.2} dB (≥ {MIN_PSNR_DB})"),
            );
        }
        other => bail!("unknown check kind {other:?}"),
    }
    Ok(())
}

/// PSNR over every sample of every frame, 10-bit peak (1023).
fn psnr_10bit(got: &[(u32, u32, Vec<u8>)], refs: &[Value], reference: &[u8]) -> Result<f64> {
    let (mut squared_error, mut samples) = (0f64, 0u64);
    for ((_, _, data), r) in got.iter().zip(refs) {
        let offset = r["offset_bytes"].as_u64().context("offset_bytes")? as usize;
        let size = r["size_bytes"].as_u64().context("size_bytes")? as usize;
        let expected = reference.get(offset..offset + size).context("reference shorter than its index")?;
        if expected.len() != data.len() {
            bail!("frame of {} bytes, reference {}", data.len(), expected.len());
        }
        for (a, b) in data.chunks_exact(2).zip(expected.chunks_exact(2)) {
            let d = f64::from(u16::from_le_bytes([a[0], a[1]])) - f64::from(u16::from_le_bytes([b[0], b[1]]));
            squared_error += d * d;
            samples += 1;
        }
    }
    if squared_error == 0.0 {
        return Ok(f64::INFINITY);
    }
    Ok(10.0 * (1023.0f64 * 1023.0 * samples as f64 / squared_error).log10())
}

fn throughput(env: &CheckEnv, name: &str, report: &mut Report) -> Result<()> {
    let clip = Arc::new(clip::read(&env.data_dir.join(name))?);
    let mut single_fps = None;
    for &streams in &env.stream_counts {
        let (fps, frames) = run_streams(&clip, streams, env.repeats)?;
        let single = *single_fps.get_or_insert(fps);
        let detail = format!(
            "{streams} streams: {frames} frames, {fps:.0} fps total, {:.0} fps per stream, {:.2}x one stream",
            fps / streams as f64,
            fps / single
        );
        // The bar: 28 streams reach at least 5x one stream.
        let pass = (streams == 28).then_some(fps >= 5.0 * single);
        report.row("nvdec throughput", &format!("{name} x{streams}"), pass, &detail);
    }
    Ok(())
}

/// Decodes the clip `repeats` times on each of `streams` threads at once; total fps.
fn run_streams(clip: &Arc<clip::Clip>, streams: usize, repeats: usize) -> Result<(f64, u64)> {
    let barrier = Arc::new(Barrier::new(streams + 1));
    let workers: Vec<_> = (0..streams)
        .map(|i| {
            let (clip, barrier) = (Arc::clone(clip), Arc::clone(&barrier));
            std::thread::spawn(move || -> Result<u64> {
                let options = hardware(clip.config.clone()).with_stream_id(i as u64);
                let decoder = open_decoder(options);
                barrier.wait();
                let mut decoder = decoder?;
                let mut frames = 0;
                for _ in 0..repeats {
                    decode(decoder.as_mut(), &clip, |_frame| {
                        frames += 1;
                        Ok(())
                    })?;
                }
                Ok(frames)
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let mut total = 0;
    for w in workers {
        total += w.join().map_err(|_| anyhow::anyhow!("a decode thread panicked"))??;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok((total as f64 / secs.max(1e-9), total))
}
