//! [`GpuError`]: why the CUDA path is not available or a CUDA call failed.

use crate::preprocess::PreprocessError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    #[error("no NVIDIA driver: libcuda.so could not be loaded")]
    NoDriver,

    #[error("the NVIDIA driver found no CUDA device")]
    NoDevice,

    #[error("CUDA device {ordinal} does not exist ({count} found)")]
    NoSuchDevice { ordinal: usize, count: usize },

    #[error("NVRTC (libnvrtc.so) could not be loaded: the CUDA kernels cannot be compiled")]
    NvrtcMissing,

    #[error("CUDA {call} failed: {code}")]
    Driver { call: &'static str, code: String },

    #[error("NVRTC could not compile {kernel}: {log}")]
    Compile { kernel: &'static str, log: String },

    #[error(transparent)]
    Preprocess(#[from] PreprocessError),

    #[error("device buffer: {len_bytes} B is shorter than the {needed_bytes} B where image {batch_index} ends")]
    OutputTooSmall { len_bytes: usize, needed_bytes: usize, batch_index: usize },

    #[error("device buffer: {what}")]
    Buffer { what: String },
}

impl GpuError {
    /// A failed driver call, with the driver's error name.
    pub(crate) fn driver(call: &'static str, error: cudarc::driver::DriverError) -> Self {
        GpuError::Driver { call, code: format!("{error:?}") }
    }
}
