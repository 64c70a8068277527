//! The joined path on the device: NVDEC frame → sampler → preprocessing kernel reading the
//! mapped surface (`gpu::FrameStage`) → a `cuMemAlloc` batch buffer, then:
//!
//! - correctness: every kept frame's model input within 1/255 of the CPU path run on the same
//!   decoded frame (downloaded once, for the comparison only);
//! - zero copies: a second pass with no downloads counts host↔device copies (must be 0) and
//!   the stage's own counters (frames dropped by the sampler untouched, in place, uploaded);
//! - hand-off: the batch buffer read back through its IPC handle by a second process;
//! - the PyTorch cross-check's inputs: the first frame's NV12/P010 planes and ifc's tensor
//!   under `OUT/torch-frames/` (scripts/gpu-check-torch.py compares them);
//! - throughput of decode only / + preprocess / + hand-off (waiting for each batch's kernels,
//!   as the Triton request would) for the configured stream counts.

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use ifc::decode::{open_decoder, BackendPreference, DecoderOptions, ErrorPolicy, Frame, Sampler, SamplingRule};
use ifc::gpu::{copy_counts, Device, DeviceBuffer, FrameStage, Pending};
use ifc::preprocess::reference::{decode_output, max_level_difference};
use ifc::preprocess::{output_len_bytes, PreprocessSpec, Preprocessor};

use crate::decode_check::decode;
use crate::manifest::{self, ClipEntry};
use crate::report::Report;
use crate::{clip, handoff_check, CheckEnv};

const CHECK: &str = "joined";
/// Images per batch buffer (a Triton slot of max_batch 4).
const BATCH: usize = 4;

fn options(config: ifc::codec::DecoderConfig, stream_id: u64) -> DecoderOptions {
    DecoderOptions::from_config(config)
        .with_backend(BackendPreference::PreferHardware)
        .with_error_policy(ErrorPolicy::Conceal)
        .with_stream_id(stream_id)
}

pub fn run(env: &CheckEnv, report: &mut Report) -> Result<()> {
    if !env.nvdec_available {
        report.fail(CHECK, "library", "NVDEC not available: the joined path not checked");
        return Ok(());
    }
    let device = env.device.as_ref().context("device 0 did not open")?;
    let clips = manifest::read(&env.data_dir)?;
    let spec = PreprocessSpec::default();
    for entry in clips.iter().filter(|c| c.throughput || c.clip.contains("main10")) {
        if let Err(e) = correctness(env, device, entry, &spec, report) {
            report.fail(CHECK, &entry.clip, &format!("{e:#}"));
        }
    }
    for entry in clips.iter().filter(|c| c.throughput) {
        if let Err(e) = zero_copies(env, device, entry, &spec, report) {
            report.fail("joined copies", &entry.clip, &format!("{e:#}"));
        }
    }
    for entry in clips.iter().filter(|c| c.throughput) {
        if let Err(e) = throughput(env, device, entry, &spec, report) {
            report.fail("joined throughput", &entry.clip, &format!("{e:#}"));
        }
    }
    Ok(())
}

/// The CPU path's output for a downloaded copy of `frame`, and that copy's planes.
fn cpu_reference(frame: &Frame, spec: &PreprocessSpec) -> Result<(Vec<f64>, Frame)> {
    let host = frame.device().context("NVDEC returned a host frame")?.download()?;
    let mut host = host;
    host.colour = frame.colour;
    let mut bytes = vec![0u8; output_len_bytes(spec, 1)];
    Preprocessor::new(spec.clone())?.run(&host.view()?, &mut bytes, 0)?;
    Ok((decode_output(spec.dtype, &bytes).into_iter().map(f64::from).collect(), host))
}

fn correctness(
    env: &CheckEnv,
    device: &Device,
    entry: &ClipEntry,
    spec: &PreprocessSpec,
    report: &mut Report,
) -> Result<()> {
    const FRAMES: usize = 12;
    let clip = clip::read(&env.data_dir.join(&entry.clip))?;
    let mut decoder = open_decoder(options(clip.config.clone(), 0))?;
    let mut stage = FrameStage::new(device, spec.clone())?;
    let out = DeviceBuffer::alloc(device, output_len_bytes(spec, 1))?;
    let mut sampler = Sampler::new(SamplingRule::Every(3)).map_err(anyhow::Error::msg)?;
    let (mut worst, mut compared) = (0f64, 0usize);
    let mut first_saved = false;
    let outcome = decode(decoder.as_mut(), &clip, |frame| {
        if compared >= FRAMES {
            return Ok(());
        }
        let reference = cpu_reference(&frame, spec)?;
        let Some(pending) = stage.offer(frame, &mut sampler, &out, 0)? else { return Ok(()) };
        pending.wait()?;
        let mut bytes = vec![0u8; output_len_bytes(spec, 1)];
        out.copy_to_host(0, &mut bytes)?;
        let ours = decode_output(spec.dtype, &bytes);
        worst = worst.max(max_level_difference(spec, &ours, &reference.0, 2.0));
        if !first_saved {
            first_saved = true;
            save_for_torch(&env.out_dir, &entry.clip, &reference.1, &bytes)?;
        }
        compared += 1;
        Ok(())
    });
    let counts = stage.counts();
    let detail = format!(
        "{compared} sampled NVDEC frames (every 3rd) through the kernel vs the CPU path on the same frame: max {worst:.3} levels (limit 1); stage: {} offered, {} dropped untouched{}",
        counts.frames_offered,
        counts.frames_dropped_untouched,
        outcome.first_error_detail()
    );
    report.row(CHECK, &entry.clip, Some(compared > 0 && worst <= 1.0 && outcome.first_error.is_none()), &detail);
    Ok(())
}

/// The first frame's planes (tight, as libavcodec's planar layout would not be: NV12/P010 as
/// NVDEC gives them) and ifc's f32 NCHW tensor, for scripts/gpu-check-torch.py.
fn save_for_torch(out_dir: &Path, clip: &str, host: &Frame, tensor: &[u8]) -> Result<()> {
    let dir = out_dir.join("torch-frames");
    std::fs::create_dir_all(&dir)?;
    let mut planes = Vec::new();
    let row_bytes = host.width() as usize * host.pix_fmt().bytes_per_sample();
    for plane in 0..2 {
        for row in host.plane_rows(plane) {
            planes.extend_from_slice(row.get(..row_bytes).context("short row")?);
        }
    }
    std::fs::write(dir.join(format!("{clip}.planes")), &planes)?;
    std::fs::write(dir.join(format!("{clip}.ifc.f32")), tensor)?;
    let meta = serde_json::json!({
        "width": host.width(), "height": host.height(),
        "format": if host.pix_fmt().bytes_per_sample() == 2 { "p010" } else { "nv12" },
        "matrix": host.colour.matrix, "full_range": host.colour.full_range,
        "out_width": 640, "out_height": 640, "pad": 114,
    });
    std::fs::write(dir.join(format!("{clip}.json")), serde_json::to_vec_pretty(&meta)?)?;
    Ok(())
}

fn zero_copies(
    env: &CheckEnv,
    device: &Device,
    entry: &ClipEntry,
    spec: &PreprocessSpec,
    report: &mut Report,
) -> Result<()> {
    let clip = clip::read(&env.data_dir.join(&entry.clip))?;
    let mut decoder = open_decoder(options(clip.config.clone(), 0))?;
    let mut stage = FrameStage::new(device, spec.clone())?;
    let out = DeviceBuffer::alloc(device, output_len_bytes(spec, BATCH))?;
    let mut sampler = Sampler::new(SamplingRule::Every(2)).map_err(anyhow::Error::msg)?;
    let mut pending: Vec<Pending> = Vec::new();
    let before = copy_counts();
    let outcome = decode(decoder.as_mut(), &clip, |frame| {
        if let Some(p) = stage.offer(frame, &mut sampler, &out, pending.len())? {
            pending.push(p);
        }
        if pending.len() == BATCH {
            pending.drain(..).try_for_each(|p| p.wait().map(|_| ()))?;
        }
        Ok(())
    });
    pending.drain(..).try_for_each(|p| p.wait().map(|_| ()))?;
    let after = copy_counts();
    let (h2d, d2h) = (after.host_to_device - before.host_to_device, after.device_to_host - before.device_to_host);
    let counts = stage.counts();
    // The kernel's taps tables go up once per frame shape (not per frame): at most one here.
    let pass = d2h == 0 && h2d <= 1 && counts.host_copies_per_frame() == 0.0 && outcome.first_error.is_none();
    report.row(
        "joined copies",
        &entry.clip,
        Some(pass),
        &format!(
            "{} frames decoded, {} kept (in place {}, uploaded {}), {} dropped untouched; host->device {h2d} (taps tables once), device->host {d2h}; {:.2} host copies per frame{}",
            outcome.frames,
            counts.frames_in_place + counts.frames_uploaded,
            counts.frames_in_place,
            counts.frames_uploaded,
            counts.frames_dropped_untouched,
            counts.host_copies_per_frame(),
            outcome.first_error_detail()
        ),
    );
    // The batch buffer, as Triton would open it: by IPC handle from another process.
    let mut expected = vec![0u8; out.len_bytes()];
    out.copy_to_host(0, &mut expected)?;
    let (pass, detail) = handoff_check::read_by_child(device, &out, &expected);
    report.row("joined hand-off", &entry.clip, Some(pass), &detail);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    DecodeOnly,
    Preprocess,
    /// Preprocess, then wait for each batch's kernels (what a Triton request needs first).
    HandOff,
}

fn throughput(
    env: &CheckEnv,
    device: &Device,
    entry: &ClipEntry,
    spec: &PreprocessSpec,
    report: &mut Report,
) -> Result<()> {
    let clip = Arc::new(clip::read(&env.data_dir.join(&entry.clip))?);
    for &streams in &env.stream_counts {
        let mut fps = Vec::new();
        for mode in [Mode::DecodeOnly, Mode::Preprocess, Mode::HandOff] {
            let (rate, frames, error) = run_streams(device, &clip, spec, streams, env.repeats, mode)?;
            let expected = (entry.frames.len() * streams * env.repeats) as u64;
            if frames != expected || error.is_some() {
                bail!("{mode:?} x{streams}: {frames} frames (expected {expected}){}", error.map(|e| format!("; first error: {e}")).unwrap_or_default());
            }
            fps.push(rate);
        }
        let ratio = fps[2] / fps[0].max(1e-9);
        report.row(
            "joined throughput",
            &format!("{} x{streams}", entry.clip),
            None,
            &format!(
                "decode only {:.0} fps, + preprocess {:.0} fps, + hand-off {:.0} fps ({:.1}% of decode only; goal 95%, not enforced)",
                fps[0],
                fps[1],
                fps[2],
                ratio * 100.0
            ),
        );
    }
    Ok(())
}

fn run_streams(
    device: &Device,
    clip: &Arc<clip::Clip>,
    spec: &PreprocessSpec,
    streams: usize,
    repeats: usize,
    mode: Mode,
) -> Result<(f64, u64, Option<String>)> {
    let barrier = Arc::new(Barrier::new(streams + 1));
    let workers: Vec<_> = (0..streams)
        .map(|i| {
            let (clip, barrier, device, spec) = (Arc::clone(clip), Arc::clone(&barrier), device.clone(), spec.clone());
            std::thread::spawn(move || -> (u64, Option<String>) {
                let setup = || -> Result<_> {
                    let decoder = open_decoder(options(clip.config.clone(), i as u64))?;
                    let stage = FrameStage::new(&device, spec.clone())?;
                    let out = DeviceBuffer::alloc(&device, output_len_bytes(&spec, BATCH))?;
                    Ok((decoder, stage, out))
                };
                let ready = setup();
                barrier.wait();
                let (mut decoder, mut stage, out) = match ready {
                    Ok(parts) => parts,
                    Err(e) => return (0, Some(format!("stream {i}: {e:#}"))),
                };
                let mut sampler = Sampler::all();
                let (mut frames, mut first_error) = (0, None);
                let mut pending: Vec<Pending> = Vec::new();
                for _ in 0..repeats {
                    let outcome = decode(decoder.as_mut(), &clip, |frame| {
                        if mode == Mode::DecodeOnly {
                            return Ok(());
                        }
                        if let Some(p) = stage.offer(frame, &mut sampler, &out, pending.len())? {
                            pending.push(p);
                        }
                        if pending.len() == BATCH {
                            if mode == Mode::HandOff {
                                pending.drain(..).try_for_each(|p| p.wait().map(|_| ()))?;
                            } else {
                                // Released without a host wait per frame: Pending's drop waits
                                // for its own kernel only.
                                pending.clear();
                            }
                        }
                        Ok(())
                    });
                    frames += outcome.frames;
                    if first_error.is_none() {
                        first_error = outcome.first_error.map(|e| format!("stream {i}: {e}"));
                    }
                }
                drop(pending);
                (frames, first_error)
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let (mut total, mut first_error) = (0, None);
    for w in workers {
        let (frames, error) = w.join().map_err(|_| anyhow::anyhow!("a stream thread panicked"))?;
        total += frames;
        first_error = first_error.or(error);
    }
    Ok((total as f64 / started.elapsed().as_secs_f64().max(1e-9), total, first_error))
}
