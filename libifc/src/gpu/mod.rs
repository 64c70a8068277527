//! The CUDA path (feature `cuda`): device probe, device memory that Triton and other
//! processes can open by IPC handle, and the preprocessing kernel — the CPU path's semantics
//! ([`crate::preprocess`]) as one kernel from a 4:2:0 device frame (NVDEC's NV12 / P016, or a
//! CPU frame uploaded once) to the model input, compiled at run time with NVRTC.
//!
//! Nothing links against CUDA: libcuda and libnvrtc are loaded at run time, and every entry
//! point probes for them first ([`GpuProbe`], [`Device::open`]) and returns a [`GpuError`]
//! instead of letting cudarc panic. [`GpuProbe::summary`] is the one-line "which path and
//! why" for logs and `ifc doctor`.
//!
//! The kernel (`kernel/preprocess.cu`) only evaluates a [`KernelPlan`], which is derived by the
//! CPU path's own code (content box, resampling taps, colour coefficients, normalisation,
//! padding). The tests compile the same source as C++ (`kernel/host_shim.h`) and run it on
//! the CPU against the f64 reference and the CPU path, and compile it to PTX and assemble it
//! for sm_90 with NVRTC and ptxas.

mod buffer;
mod device;
mod dlpack_export;
mod error;
mod frame;
mod joined;
mod nvrtc;
mod params;
mod preprocess;
mod probe;

#[cfg(test)]
mod host_kernel_tests;
#[cfg(test)]
mod ptx_tests;

pub(crate) use buffer::note_device_to_host_copies;
pub use buffer::{copy_counts, CopyCounts, DeviceBuffer, IpcMapping, IpcMemHandle};
pub use device::Device;
pub use dlpack_export::{dlpack_batch, model_input_layout};
pub use error::GpuError;
pub use frame::{DeviceFrame, DevicePlane, UploadedFrame};
pub use joined::{route, FrameStage, Pending, Route, StageCounts};
pub use nvrtc::{arch_for, compile_cubin, compile_ptx, sm_arch_for, PREPROCESS_ENTRY, PREPROCESS_SOURCE};
pub use params::{KernelPlan, PlaneAddresses, PreprocessParams, TapAddresses, BLOCK_DIM};
pub use preprocess::{rgb_spec, GpuPreprocessor, PreprocessDone};
pub use probe::{driver_present, nvrtc_present, DeviceInfo, GpuProbe};
