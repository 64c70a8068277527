//! `ifc-gpu-check`: the device check of the GPU path, in one run (see scripts/gpu-check.sh).
//!
//! 1. Says first what the machine has: CUDA driver, GPU, libnvcuvid, NVRTC (`ifc doctor`'s
//!    probe). Without a GPU it stops there with exit code 2 and says why.
//! 2. `decode_check`: NVDEC correctness against references made with libavcodec (8-bit:
//!    every frame equal; 10-bit: PSNR ≥ 50 dB) and NVDEC throughput for 1, 7, 14 and 28
//!    concurrent 1080p H.264 and HEVC streams.
//! 3. `preprocess_check`: the CUDA preprocessing kernel against the CPU reference (within
//!    1/255) on synthetic 1080p NV12/P010 frames and on the raw frames in `--frames DIR`
//!    (`<name>.<pix_fmt>.<W>x<H>.yuv`), and the kernel against its bandwidth floor.
//! 4. `handoff_check`: the model input exported by IPC handle, opened by a second process (this
//!    binary re-run with `--handoff-child`) and read back exactly; host↔device copies counted.
//! 5. `joined_check`: NVDEC frames through the sampler and the kernel (`gpu::FrameStage`) against
//!    the CPU path on the same frames, zero host copies per frame, the batch read back by a
//!    second process, the PyTorch cross-check's inputs, and decode-only / + preprocess /
//!    + hand-off throughput.
//!
//!    ifc-gpu-check [--data DIR] [--out DIR] [--streams 1,7,14,28] [--repeats 2] [--frames DIR]
//!    ifc-gpu-check --dry-run [--data DIR] [--out DIR]
//!
//! Prints one table and writes it, with the log, to `--out` (the device machine's `$OUT`), and
//! ifc's tracing (`RUST_LOG`, default `ifc=debug`) to `trace.log` there. One CUDA context (the
//! device's primary context, retained once) is held for the whole run. `--dry-run` needs no
//! GPU: it checks the manifest and the clips (see `dry_run`), as CI does on every run.
//! Exit code: 0 all checks passed, 1 a check failed, 2 no GPU.

mod clip;
mod decode_check;
mod dry_run;
mod frames;
mod handoff_check;
mod joined_check;
mod manifest;
mod preprocess_check;
mod report;

use std::path::PathBuf;

use anyhow::{Context, Result};
use ifc::gpu_path::{choose_path, probe, GpuPath};

use report::Report;

/// What every check gets.
pub struct CheckEnv {
    /// Clips and references made by scripts/gpu-check-prepare.sh.
    pub data_dir: PathBuf,
    pub out_dir: PathBuf,
    pub stream_counts: Vec<usize>,
    /// Times each stream decodes its clip in the throughput runs.
    pub repeats: usize,
    pub nvdec_available: bool,
    /// Extra raw frames for the preprocessing and hand-off checks.
    pub frames_dir: Option<PathBuf>,
    /// Device 0, opened once: its primary context stays retained for the whole check (NVDEC
    /// sessions retain the same context, so none is created and destroyed per clip).
    pub device: Option<ifc::gpu::Device>,
}

type Check = fn(&CheckEnv, &mut Report) -> Result<()>;

/// The checks, in order.
const CHECKS: &[(&str, Check)] = &[
    ("decode", decode_check::run),
    ("preprocess", preprocess),
    ("handoff", handoff),
    ("joined", joined_check::run),
];

fn device_and_frames(env: &CheckEnv) -> Result<(&ifc::gpu::Device, Vec<frames::RawFrame>)> {
    let device = env.device.as_ref().context("device 0 did not open")?;
    let frames = frames::load(env.frames_dir.as_deref()).map_err(anyhow::Error::msg)?;
    Ok((device, frames))
}

fn preprocess(env: &CheckEnv, report: &mut Report) -> Result<()> {
    let (device, frames) = device_and_frames(env)?;
    preprocess_check::run(device, &frames, report);
    Ok(())
}

fn handoff(env: &CheckEnv, report: &mut Report) -> Result<()> {
    let (device, frames) = device_and_frames(env)?;
    handoff_check::run(device, &frames, report);
    Ok(())
}

fn main() -> std::process::ExitCode {
    let mut raw = std::env::args().skip(1).peekable();
    // The second process of the hand-off check: opens the parent's IPC handle.
    if raw.peek().map(String::as_str) == Some(handoff_check::CHILD_FLAG) {
        return handoff_check::child_main(raw.skip(1).collect());
    }
    match run() {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("ifc-gpu-check: error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn run() -> Result<u8> {
    let args: Vec<String> = std::env::args().collect();
    let env = CheckEnv {
        data_dir: arg(&args, "--data").unwrap_or_else(|| ".gpu-check/data".into()).into(),
        out_dir: arg(&args, "--out").or_else(|| std::env::var("OUT").ok()).unwrap_or_else(|| ".".into()).into(),
        stream_counts: arg(&args, "--streams")
            .unwrap_or_else(|| "1,7,14,28".into())
            .split(',')
            .map(|n| n.trim().parse::<usize>().context("--streams takes counts like 1,7,14,28"))
            .collect::<Result<_>>()?,
        repeats: arg(&args, "--repeats").map_or(Ok(2), |r| r.parse()).context("--repeats takes a count")?,
        nvdec_available: false,
        frames_dir: arg(&args, "--frames").map(PathBuf::from),
        device: None,
    };
    std::fs::create_dir_all(&env.out_dir).with_context(|| format!("creating {}", env.out_dir.display()))?;
    let trace = install_tracing(&env.out_dir);
    let mut report = Report::new(env.out_dir.join("gpu-check.log"))?;
    match trace {
        Ok(path) => report.line(&format!("tracing to {}", path.display()))?,
        Err(e) => report.line(&format!("tracing NOT written: {e:#}"))?,
    }
    if args.iter().any(|a| a == "--dry-run") {
        dry_run::run(&env, &mut report)?;
        return report.finish();
    }

    let found = probe();
    let choice = choose_path(&found);
    report.line(&format!("libnvcuvid.so.1: {}", if found.nvdec.loaded { "found" } else { "NOT found" }))?;
    report.line(&format!("  {}", found.nvdec.detail))?;
    report.line(&format!(
        "NVRTC: {} ({})",
        if found.nvrtc.loaded { "found" } else { "NOT found" },
        found.nvrtc.detail
    ))?;
    report.line(&format!(
        "CUDA driver: {}",
        found.driver_version.as_deref().unwrap_or(if found.driver.loaded { "version unknown" } else { "NOT found" })
    ))?;
    for gpu in &found.devices {
        report.line(&format!(
            "GPU {}: {}, {:.1} GiB, compute capability {}.{}",
            gpu.ordinal,
            gpu.name,
            gpu.memory_bytes as f64 / f64::from(1u32 << 30),
            gpu.compute_capability.0,
            gpu.compute_capability.1
        ))?;
        for c in &gpu.decoder_caps {
            report.line(&format!(
                "  NVDEC {} {}-bit: supported {}, max {}x{}, {} engines",
                c.codec, c.bit_depth, c.supported, c.max_width, c.max_height, c.nvdec_engines
            ))?;
        }
    }
    report.line(&format!("Auto path: {} ({})", choice.path, choice.reason))?;
    report.line(&format!("probe: {}", serde_json::to_string(&found)?))?;
    if found.devices.is_empty() {
        report.line(&format!(
            "NO GPU: nothing to check here ({}). Run this on a machine with an NVIDIA GPU and driver.",
            found.device_error.as_deref().unwrap_or(&choice.reason)
        ))?;
        return Ok(2);
    }
    let device = match ifc::gpu::Device::open(0) {
        Ok(device) => Some(device),
        Err(e) => {
            report.fail("device", "0", &format!("opening device 0: {e}"));
            None
        }
    };
    // NVDEC needs its library and a device, not NVRTC (which only the kernel needs).
    let nvdec_available = nvdec_checkable(found.nvdec.loaded, found.devices.len(), device.is_some());
    if choice.path != GpuPath::NvdecCuda {
        report.line(&format!("note: Auto is not on NVDEC + CUDA here ({}); NVDEC is checked anyway", choice.reason))?;
    }
    let env = CheckEnv { nvdec_available, device, ..env };
    for (name, check) in CHECKS {
        if let Err(e) = check(&env, &mut report) {
            report.fail(name, "check aborted", &format!("{e:#}"));
        }
    }
    report.finish()
}

/// Whether the NVDEC checks can run: libnvcuvid loaded and a device opened.
fn nvdec_checkable(nvcuvid_loaded: bool, devices: usize, device_opened: bool) -> bool {
    nvcuvid_loaded && devices > 0 && device_opened
}

/// ifc's tracing to `OUT/trace.log`: `RUST_LOG` when set, else `ifc=debug`.
fn install_tracing(out_dir: &std::path::Path) -> Result<PathBuf> {
    use tracing_subscriber::EnvFilter;
    let path = out_dir.join("trace.log");
    let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("ifc=debug"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_thread_ids(true)
        .with_writer(std::sync::Mutex::new(file))
        .try_init()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::nvdec_checkable;

    #[test]
    fn nvdec_is_checked_with_its_library_and_a_device_whatever_nvrtc_says() {
        assert!(nvdec_checkable(true, 1, true), "NVRTC plays no part");
        assert!(!nvdec_checkable(false, 1, true), "no libnvcuvid");
        assert!(!nvdec_checkable(true, 0, false), "no device");
        assert!(!nvdec_checkable(true, 1, false), "the device did not open");
    }
}
