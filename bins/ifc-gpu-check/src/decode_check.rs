//! NVDEC on the GPU machine: correctness against libavcodec references (conceal policy: every
//! picture NVDEC produces is delivered, damage counted), then throughput for 1, 7, 14 and 28
//! concurrent 1080p streams per codec (decode and map only; frames dropped; the total frame
//! count checked). Every row keeps the first error met (push, pull or flush) with its text.

use std::sync::{Arc, Barrier};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use ifc::decode::{open_decoder, BackendPreference, Decoder, DecoderOptions, Frame, FramePixelFormat};
use ifc::decode::ErrorPolicy;
use sha2::{Digest, Sha256};

use crate::manifest::{self, ClipEntry, RefKind};
use crate::report::Report;
use crate::{clip, CheckEnv};

const CHECK: &str = "nvdec";
const MIN_PSNR_DB: f64 = 50.0;

pub fn run(env: &CheckEnv, report: &mut Report) -> Result<()> {
    if !env.nvdec_available {
        report.fail(CHECK, "library", "libnvcuvid.so.1 did not load or no device opened: NVDEC not checked");
        return Ok(());
    }
    let clips = manifest::read(&env.data_dir)?;
    for entry in &clips {
        if let Err(e) = check_clip(env, entry, report) {
            report.fail(CHECK, &entry.clip, &format!("{e:#}"));
        }
    }
    for entry in clips.iter().filter(|c| c.throughput) {
        if let Err(e) = throughput(env, entry, report) {
            report.fail("nvdec throughput", &entry.clip, &format!("{e:#}"));
        }
    }
    Ok(())
}

fn hardware(config: ifc::codec::DecoderConfig) -> DecoderOptions {
    DecoderOptions::from_config(config)
        .with_backend(BackendPreference::PreferHardware)
        .with_error_policy(ErrorPolicy::Conceal)
}

/// What one decode of a clip met.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DecodeOutcome {
    pub frames: u64,
    pub push_errors: u64,
    /// The first error of the run, where it happened and its text.
    pub first_error: Option<String>,
}

impl DecodeOutcome {
    fn note(&mut self, at: impl std::fmt::Display, error: impl std::fmt::Display) {
        self.first_error.get_or_insert_with(|| format!("{at}: {error}"));
    }

    /// `; first error: …` for a table row, or nothing.
    pub fn first_error_detail(&self) -> String {
        self.first_error.as_ref().map(|e| format!("; first error: {e}")).unwrap_or_default()
    }
}

/// Decodes a whole clip, handing each frame on in display order. Push errors are counted and
/// decoding goes on (the decoder stays usable); a pull or flush error ends the run. The first
/// error is kept either way.
pub fn decode(
    decoder: &mut dyn Decoder,
    clip: &clip::Clip,
    mut on_frame: impl FnMut(Frame) -> Result<()>,
) -> DecodeOutcome {
    let mut outcome = DecodeOutcome::default();
    let mut deliver = |decoder: &mut dyn Decoder, outcome: &mut DecodeOutcome, at: &str| -> bool {
        loop {
            match decoder.pull() {
                Ok(Some(frame)) => {
                    outcome.frames += 1;
                    if let Err(e) = on_frame(frame) {
                        outcome.note(format!("frame {} ({at})", outcome.frames - 1), format!("{e:#}"));
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(e) => {
                    outcome.note(format!("pull ({at})"), e);
                    return false;
                }
            }
        }
    };
    for (i, p) in clip.packets.iter().enumerate() {
        if let Err(e) = decoder.push(p.clone()) {
            outcome.push_errors += 1;
            outcome.note(format!("push of packet {i}"), e);
        }
        if !deliver(decoder, &mut outcome, &format!("after packet {i}")) {
            return outcome;
        }
    }
    if let Err(e) = decoder.flush() {
        outcome.note("flush", e);
    }
    deliver(decoder, &mut outcome, "after flush");
    outcome
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

fn check_clip(env: &CheckEnv, entry: &ClipEntry, report: &mut Report) -> Result<()> {
    let name = entry.clip.as_str();
    let clip = clip::read(&env.data_dir.join(name))?;
    let refs = &entry.frames;
    let mut decoder = open_decoder(hardware(clip.config.clone()))?;
    let mut got = Vec::new();
    let outcome = decode(decoder.as_mut(), &clip, |frame| {
        got.push((frame.width(), frame.height(), planar_bytes(&frame)?));
        Ok(())
    });
    let stats = decoder.stats();
    let counts = format!(
        "{} frames (reference {}), push errors {}, decode errors {}, concealed {}{}",
        got.len(),
        refs.len(),
        outcome.push_errors,
        stats.decode_errors,
        stats.concealed_or_corrupt_frames,
        outcome.first_error_detail()
    );
    if got.len() != refs.len() || outcome.first_error.is_some() {
        report.fail(CHECK, name, &counts);
        return Ok(());
    }
    match &entry.kind {
        RefKind::Exact => {
            let mismatches: Vec<usize> = got
                .iter()
                .zip(refs)
                .enumerate()
                .filter(|(_, ((w, h, data), r))| {
                    let digest = format!("{:x}", Sha256::digest(data));
                    (*w, *h) != (r.width, r.height) || Some(digest.as_str()) != r.sha256.as_deref()
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
        RefKind::Psnr { raw } => {
            let raw_path = env.data_dir.join(raw);
            let reference = std::fs::read(&raw_path).with_context(|| format!("reading {}", raw_path.display()))?;
            let psnr = psnr_10bit(&got, refs, &reference)?;
            report.row(
                CHECK,
                name,
                Some(psnr >= MIN_PSNR_DB),
                &format!("{counts}; PSNR {psnr:.2} dB (≥ {MIN_PSNR_DB})"),
            );
        }
    }
    Ok(())
}

/// PSNR over every sample of every frame, 10-bit peak (1023).
fn psnr_10bit(got: &[(u32, u32, Vec<u8>)], refs: &[manifest::RefFrame], reference: &[u8]) -> Result<f64> {
    let (mut squared_error, mut samples) = (0f64, 0u64);
    for ((_, _, data), r) in got.iter().zip(refs) {
        let offset = usize::try_from(r.offset_bytes.context("offset_bytes")?)?;
        let size = usize::try_from(r.size_bytes.context("size_bytes")?)?;
        let expected = offset
            .checked_add(size)
            .and_then(|end| reference.get(offset..end))
            .context("reference shorter than its index")?;
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

fn throughput(env: &CheckEnv, entry: &ClipEntry, report: &mut Report) -> Result<()> {
    let name = entry.clip.as_str();
    let clip = Arc::new(clip::read(&env.data_dir.join(name))?);
    let mut single_fps = None;
    for &streams in &env.stream_counts {
        let run = run_streams(&clip, streams, env.repeats)?;
        let expected = entry.frames.len() as u64 * (streams * env.repeats) as u64;
        let single = *single_fps.get_or_insert(run.fps);
        let detail = format!(
            "{streams} streams: {} frames (expected {expected}), {:.0} fps total, {:.0} fps per stream, {:.2}x one stream{}",
            run.frames,
            run.fps,
            run.fps / streams as f64,
            run.fps / single,
            run.first_error.as_ref().map(|e| format!("; first error: {e}")).unwrap_or_default()
        );
        // Every frame of every stream must arrive; the rate is a measurement (no bar until a
        // device run has shown what the engines reach).
        let pass = run.frames == expected && run.first_error.is_none();
        report.row("nvdec throughput", &format!("{name} x{streams}"), Some(pass), &detail);
    }
    Ok(())
}

pub struct StreamsRun {
    pub fps: f64,
    pub frames: u64,
    /// The first error of any stream, naming the stream.
    pub first_error: Option<String>,
}

/// Decodes the clip `repeats` times on each of `streams` threads at once.
fn run_streams(clip: &Arc<clip::Clip>, streams: usize, repeats: usize) -> Result<StreamsRun> {
    let barrier = Arc::new(Barrier::new(streams + 1));
    let workers: Vec<_> = (0..streams)
        .map(|i| {
            let (clip, barrier) = (Arc::clone(clip), Arc::clone(&barrier));
            std::thread::spawn(move || -> DecodeOutcome {
                let options = hardware(clip.config.clone()).with_stream_id(i as u64);
                let decoder = open_decoder(options);
                barrier.wait();
                let mut decoder = match decoder {
                    Ok(decoder) => decoder,
                    Err(e) => return DecodeOutcome { first_error: Some(format!("open: {e}")), ..Default::default() },
                };
                let mut total = DecodeOutcome::default();
                for _ in 0..repeats {
                    let run = decode(decoder.as_mut(), &clip, |_frame| Ok(()));
                    total.frames += run.frames;
                    total.push_errors += run.push_errors;
                    if total.first_error.is_none() {
                        total.first_error = run.first_error;
                    }
                }
                total
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let (mut frames, mut first_error) = (0, None);
    for (i, w) in workers.into_iter().enumerate() {
        let outcome = w.join().map_err(|_| anyhow::anyhow!("decode thread {i} panicked"))?;
        frames += outcome.frames;
        if first_error.is_none() {
            first_error = outcome.first_error.map(|e| format!("stream {i}: {e}"));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(StreamsRun { fps: frames as f64 / secs.max(1e-9), frames, first_error })
}

#[cfg(test)]
mod tests {
    use ifc::codec::Codec;
    use ifc::decode::{DecodeError, DecodeStats, EncodedPacket};

    use super::*;

    /// Fails the pushes named and, if asked, the flush; yields no frames (frames cannot be
    /// built outside libifc).
    struct Failing {
        bad_pushes: Vec<usize>,
        pushes: usize,
        flush_fails: bool,
    }

    impl Decoder for Failing {
        fn push(&mut self, _packet: EncodedPacket) -> Result<(), DecodeError> {
            self.pushes += 1;
            if self.bad_pushes.contains(&(self.pushes - 1)) {
                return Err(DecodeError::BackendUnavailable { backend: "nvdec", reason: format!("bad {}", self.pushes - 1) });
            }
            Ok(())
        }
        fn pull(&mut self) -> Result<Option<Frame>, DecodeError> {
            Ok(None)
        }
        fn flush(&mut self) -> Result<(), DecodeError> {
            if self.flush_fails {
                return Err(DecodeError::BackendUnavailable { backend: "nvdec", reason: "flush broke".into() });
            }
            Ok(())
        }
        fn stats(&self) -> DecodeStats {
            DecodeStats::default()
        }
        fn backend_name(&self) -> &'static str {
            "test"
        }
    }

    /// The first `packets` packets of a committed fixture.
    fn clip(packets: usize) -> clip::Clip {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/h264_main_320x240_25.mp4");
        let mut clip = clip::read(&path).expect("fixture reads");
        assert_eq!(clip.config.codec, Codec::H264);
        clip.packets.truncate(packets);
        clip
    }

    #[test]
    fn the_first_push_error_is_kept_with_its_text_and_all_are_counted() {
        let mut decoder = Failing { bad_pushes: vec![2, 4], pushes: 0, flush_fails: true };
        let outcome = decode(&mut decoder, &clip(6), |_| Ok(()));
        assert_eq!(decoder.pushes, 6, "decoding goes on after a push error");
        assert_eq!(outcome.push_errors, 2);
        let first = outcome.first_error.expect("an error is kept");
        assert!(first.starts_with("push of packet 2:") && first.contains("bad 2"), "{first}");
    }

    #[test]
    fn a_flush_error_is_kept_when_nothing_failed_before() {
        let mut decoder = Failing { bad_pushes: vec![], pushes: 0, flush_fails: true };
        let outcome = decode(&mut decoder, &clip(3), |_| Ok(()));
        assert!(outcome.first_error.as_deref().is_some_and(|e| e.starts_with("flush:") && e.contains("flush broke")));
        assert!(outcome.first_error_detail().starts_with("; first error: flush:"));
        let clean = decode(&mut Failing { bad_pushes: vec![], pushes: 0, flush_fails: false }, &clip(3), |_| Ok(()));
        assert_eq!(clean, DecodeOutcome::default());
    }
}
