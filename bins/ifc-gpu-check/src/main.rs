//! `ifc-gpu-check`: the device checks of the CUDA path, for a machine with an NVIDIA GPU
//! (built here, carried there; it needs only the driver and libnvrtc at run time).
//!
//! ```text
//! ifc-gpu-check [preprocess] [handoff] [--frames DIR] [--out DIR]
//! ```
//!
//! With no check named, all run. `--frames DIR` adds raw frames named
//! `<name>.<pix_fmt>.<W>x<H>.yuv` (pix_fmt: yuv420p, nv12, yuv420p10le, p010le; tightly packed,
//! e.g. `ffmpeg -frames:v 1 -f rawvideo -pix_fmt nv12`) to the synthetic ones. It prints one
//! table, writes it to `DIR/gpu-check.log` with `--out`, and exits 0 when every check passed,
//! 1 when one failed, 2 when there is no usable GPU (with the reason).

mod frames;
mod handoff_check;
mod preprocess_check;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use ifc::gpu::{Device, GpuProbe};

use report::Report;

struct Args {
    checks: Vec<String>,
    frames: Option<PathBuf>,
    out: Option<PathBuf>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args { checks: Vec::new(), frames: None, out: None };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--frames" => parsed.frames = Some(args.next().ok_or("--frames needs a directory")?.into()),
            "--out" => parsed.out = Some(args.next().ok_or("--out needs a directory")?.into()),
            "preprocess" | "handoff" => parsed.checks.push(arg),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if parsed.checks.is_empty() {
        parsed.checks = vec!["preprocess".to_owned(), "handoff".to_owned()];
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let mut raw = std::env::args().skip(1).peekable();
    // The second process of the hand-off check: opens the parent's IPC handle.
    if raw.peek().map(String::as_str) == Some(handoff_check::CHILD_FLAG) {
        return handoff_check::child_main(raw.skip(1).collect());
    }
    let args = match parse_args(raw) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("ifc-gpu-check: {e}");
            return ExitCode::from(2);
        }
    };
    let probe = GpuProbe::run();
    println!("{}", probe.summary());
    if let Err(why) = probe.usable_device() {
        eprintln!("ifc-gpu-check: no usable GPU, nothing checked: {why}");
        return ExitCode::from(2);
    }
    let device = match Device::open(0) {
        Ok(device) => device,
        Err(e) => {
            eprintln!("ifc-gpu-check: opening device 0: {e}");
            return ExitCode::from(2);
        }
    };
    let frames = match frames::load(args.frames.as_deref()) {
        Ok(frames) => frames,
        Err(e) => {
            eprintln!("ifc-gpu-check: {e}");
            return ExitCode::from(2);
        }
    };
    let mut report = Report::default();
    for check in &args.checks {
        match check.as_str() {
            "preprocess" => preprocess_check::run(&device, &frames, &mut report),
            "handoff" => handoff_check::run(&device, &frames, &mut report),
            _ => {}
        }
    }
    let table = report.table();
    println!("{table}");
    if let Some(dir) = args.out {
        let path = dir.join("gpu-check.log");
        if let Err(e) = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, format!("{}\n{table}\n", probe.summary())))
        {
            eprintln!("ifc-gpu-check: writing {}: {e}", path.display());
        }
    }
    if report.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
