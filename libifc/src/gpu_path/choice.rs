//! [`choose_path`]: the path a probe result allows, with the reason in words; [`auto_path`]:
//! the real machine's, probed and logged once per process.

use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;

use super::GpuProbe;

/// Where frames are decoded and preprocessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuPath {
    /// NVDEC decodes into device surfaces; CUDA preprocesses them in place.
    NvdecCuda,
    /// libavcodec decodes; frames are uploaded once and preprocessed by CUDA.
    CpuDecodeCudaPreprocess,
    /// libavcodec and the CPU preprocessing kernels.
    Cpu,
}

impl fmt::Display for GpuPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NvdecCuda => "NVDEC decode + CUDA preprocessing",
            Self::CpuDecodeCudaPreprocess => "CPU decode + CUDA preprocessing",
            Self::Cpu => "CPU decode + CPU preprocessing",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathChoice {
    pub path: GpuPath,
    pub reason: String,
}

/// The path `probe` allows: NVDEC + CUDA when libcuda and libnvcuvid load and a GPU is there;
/// CPU decode + CUDA preprocessing with a GPU but no NVDEC library (some container set-ups do
/// not mount it); else the CPU. CUDA preprocessing compiles its kernel with NVRTC, so without
/// NVRTC a GPU is of no use to it and the CPU path is taken.
pub fn choose_path(probe: &GpuProbe) -> PathChoice {
    let cpu = |reason: String| PathChoice { path: GpuPath::Cpu, reason };
    if !probe.cuda_compiled_in {
        return cpu("built without the `cuda` feature".into());
    }
    if !probe.driver.loaded {
        return cpu(format!("no CUDA driver: {} did not load ({})", probe.driver.library, probe.driver.detail));
    }
    let Some(gpu) = probe.devices.first() else {
        let why = probe.device_error.as_deref().unwrap_or("the driver lists no device");
        return cpu(format!("CUDA driver {} found but no GPU: {why}", probe.driver_version.as_deref().unwrap_or("?")));
    };
    if !probe.nvrtc.loaded {
        return cpu(format!(
            "GPU {} found, but NVRTC ({}) did not load ({}), so CUDA preprocessing cannot compile its kernel",
            gpu.name, probe.nvrtc.library, probe.nvrtc.detail
        ));
    }
    if !probe.nvdec.loaded {
        return PathChoice {
            path: GpuPath::CpuDecodeCudaPreprocess,
            reason: format!(
                "GPU {} found, but {} did not load ({}): decoding on the CPU, preprocessing on the GPU",
                gpu.name, probe.nvdec.library, probe.nvdec.detail
            ),
        };
    }
    PathChoice {
        path: GpuPath::NvdecCuda,
        reason: format!("GPU {} with {} and NVRTC {}", gpu.name, probe.nvdec.library, probe.nvrtc.detail),
    }
}

/// This machine's path: probed on first use, then remembered; the choice and its reason are
/// logged once (tracing, INFO, target `ifc::gpu_path`).
pub fn auto_path() -> &'static PathChoice {
    static CHOICE: OnceLock<PathChoice> = OnceLock::new();
    CHOICE.get_or_init(|| {
        let choice = choose_path(&super::probe());
        tracing::info!(target: "ifc::gpu_path", path = %choice.path, reason = %choice.reason, "processing path chosen");
        choice
    })
}

#[cfg(test)]
mod tests {
    use super::super::{GpuDevice, LibraryProbe};
    use super::*;

    fn h200_machine() -> GpuProbe {
        GpuProbe {
            cuda_compiled_in: true,
            driver: LibraryProbe::loaded("libcuda.so.1", "13.0"),
            driver_version: Some("13.0".into()),
            device_error: None,
            devices: vec![GpuDevice {
                ordinal: 0,
                name: "NVIDIA H200".into(),
                memory_bytes: 150_000_000_000,
                compute_capability: (9, 0),
                decoder_caps: Vec::new(),
                decoder_caps_error: None,
            }],
            nvdec: LibraryProbe::loaded("libnvcuvid.so.1", "loaded"),
            nvrtc: LibraryProbe::loaded("libnvrtc", "13.0"),
        }
    }

    #[test]
    fn a_gpu_with_every_library_takes_nvdec_and_cuda() {
        let choice = choose_path(&h200_machine());
        assert_eq!(choice.path, GpuPath::NvdecCuda);
        assert!(choice.reason.contains("NVIDIA H200"), "{}", choice.reason);
    }

    #[test]
    fn a_gpu_without_the_nvdec_library_decodes_on_the_cpu_and_preprocesses_on_the_gpu() {
        let mut probe = h200_machine();
        probe.nvdec = LibraryProbe::missing("libnvcuvid.so.1", "cannot open shared object file");
        let choice = choose_path(&probe);
        assert_eq!(choice.path, GpuPath::CpuDecodeCudaPreprocess);
        assert!(choice.reason.contains("libnvcuvid.so.1 did not load"), "{}", choice.reason);
    }

    #[test]
    fn no_driver_takes_the_cpu_path_and_says_so() {
        let mut probe = h200_machine();
        probe.driver = LibraryProbe::missing("libcuda.so.1", "not found");
        probe.devices.clear();
        let choice = choose_path(&probe);
        assert_eq!(choice.path, GpuPath::Cpu);
        assert!(choice.reason.starts_with("no CUDA driver"), "{}", choice.reason);
    }

    #[test]
    fn a_driver_without_a_gpu_takes_the_cpu_path() {
        let mut probe = h200_machine();
        probe.devices.clear();
        probe.device_error = Some("cuInit: CUDA_ERROR_NO_DEVICE".into());
        let choice = choose_path(&probe);
        assert_eq!(choice.path, GpuPath::Cpu);
        assert!(choice.reason.contains("no GPU: cuInit: CUDA_ERROR_NO_DEVICE"), "{}", choice.reason);
    }

    #[test]
    fn a_gpu_without_nvrtc_takes_the_cpu_path() {
        let mut probe = h200_machine();
        probe.nvrtc = LibraryProbe::missing("libnvrtc", "not found");
        assert_eq!(choose_path(&probe).path, GpuPath::Cpu);
    }

    #[test]
    fn a_build_without_cuda_takes_the_cpu_path() {
        let choice = choose_path(&GpuProbe::not_compiled_in());
        assert_eq!(choice.path, GpuPath::Cpu);
        assert!(choice.reason.contains("`cuda` feature"));
    }
}
