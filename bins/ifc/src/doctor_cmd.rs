//! `ifc doctor`: what this machine offers the GPU path (driver, GPUs, NVDEC engines and codec
//! capabilities, NVRTC) and which path `Auto` takes, and why. Always exits 0: it reports.

use anyhow::Result;
use clap::Args;
use ifc::gpu_path::{choose_path, probe, GpuProbe, LibraryProbe, PathChoice};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON ({"probe": …, "auto": {"path", "reason"}}) instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &DoctorArgs) -> Result<()> {
    let found = probe();
    let auto = choose_path(&found);
    if args.json {
        let value = serde_json::json!({ "probe": found, "auto": auto });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_table(&found, &auto);
    }
    Ok(())
}

fn library(l: &LibraryProbe) -> String {
    if l.loaded {
        format!("{} loaded ({})", l.library, l.detail)
    } else {
        format!("{} NOT loaded: {}", l.library, l.detail)
    }
}

fn print_table(p: &GpuProbe, auto: &PathChoice) {
    let row = |k: &str, v: String| println!("{k:<14} {v}");
    row("cuda feature", if p.cuda_compiled_in { "compiled in".into() } else { "not compiled in".into() });
    let driver = match (&p.driver_version, p.driver.loaded) {
        (Some(v), true) => format!("CUDA driver {v} ({})", p.driver.library),
        _ => format!("no CUDA driver: {}", library(&p.driver)),
    };
    row("driver", driver);
    if p.devices.is_empty() {
        let why = p.device_error.as_deref().map_or(String::new(), |e| format!(" ({e})"));
        row("GPUs", format!("none{why}"));
    }
    for gpu in &p.devices {
        row(
            &format!("GPU {}", gpu.ordinal),
            format!(
                "{}, {:.1} GiB, compute capability {}.{}",
                gpu.name,
                gpu.memory_bytes as f64 / f64::from(1u32 << 30),
                gpu.compute_capability.0,
                gpu.compute_capability.1
            ),
        );
        if let Some(engines) = gpu.decoder_caps.first().map(|c| c.nvdec_engines) {
            row("  NVDEC", format!("{engines} engines"));
        }
        for c in &gpu.decoder_caps {
            let what = if c.supported {
                format!("supported, up to {}x{}", c.max_width, c.max_height)
            } else {
                "not supported".into()
            };
            row(&format!("  {} {}-bit", c.codec, c.bit_depth), what);
        }
        if let Some(e) = &gpu.decoder_caps_error {
            row("  NVDEC caps", format!("unavailable: {e}"));
        }
    }
    row("NVDEC", library(&p.nvdec));
    row("NVRTC", library(&p.nvrtc));
    row("Auto path", auto.path.to_string());
    row("why", auto.reason.clone());
}
