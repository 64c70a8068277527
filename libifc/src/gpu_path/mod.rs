//! Which processing path this machine can take, and why: NVDEC decode + CUDA preprocessing,
//! CPU decode + CUDA preprocessing, or the CPU path.
//!
//! [`probe`] looks at the machine (libcuda, a GPU, libnvcuvid, NVRTC; all loaded at run time,
//! nothing linked); [`choose_path`] is a pure function of what it found, so every case is
//! tested without a GPU; [`auto_path`] probes once per process and logs the choice once.

mod choice;
#[cfg(feature = "cuda")]
mod probe_cuda;
mod report;

pub use choice::{auto_path, choose_path, GpuPath, PathChoice};
pub use report::{CodecCaps, GpuDevice, GpuProbe, LibraryProbe};

/// Looks at this machine. Never panics: a missing library is a reason, not a crash.
pub fn probe() -> GpuProbe {
    #[cfg(feature = "cuda")]
    {
        probe_cuda::probe()
    }
    #[cfg(not(feature = "cuda"))]
    {
        GpuProbe::not_compiled_in()
    }
}
