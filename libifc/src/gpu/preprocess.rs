//! [`GpuPreprocessor`]: the CUDA path of preprocessing, with the semantics of
//! [`crate::preprocess`]: one kernel launch per frame, reading the device frame and writing one
//! image of the batch in a device buffer, asynchronously on the device's stream.
#![allow(unsafe_code)]

use std::ffi::c_void;

use cudarc::driver::{result, CudaEvent, CudaFunction};

use crate::codec::ColourDescription;
use crate::dlpack::ConsumerStream;
use crate::preprocess::{Geometry, PixelFormat, PreprocessSpec};

use super::buffer::DeviceBuffer;
use super::device::Device;
use super::error::GpuError;
use super::frame::DeviceFrame;
use super::nvrtc::preprocess_function;
use super::params::{KernelPlan, PlaneAddresses, PreprocessParams, TapAddresses, BLOCK_DIM};

/// Preprocessing on one device for one spec; the plan and its taps tables (on the device) are
/// cached for the last frame shape.
#[derive(Debug)]
pub struct GpuPreprocessor {
    device: Device,
    function: CudaFunction,
    spec: PreprocessSpec,
    plan: Option<DevicePlan>,
}

#[derive(Debug)]
struct DevicePlan {
    key: (PixelFormat, u32, u32, ColourDescription),
    plan: KernelPlan,
    /// Keeps the taps tables alive for the launches that read them.
    _taps: DeviceBuffer,
    taps_at: TapAddresses,
}

/// The point on the stream after a frame's kernel: wait on it before anyone else (Triton, a
/// DLPack consumer, another stream) reads the output.
#[derive(Debug)]
pub struct PreprocessDone(CudaEvent);

impl PreprocessDone {
    /// Blocks until the kernel has finished.
    pub fn wait(&self) -> Result<(), GpuError> {
        self.0.synchronize().map_err(|e| GpuError::driver("cuEventSynchronize", e))
    }

    /// Orders a DLPack consumer's stream after the kernel without blocking the host
    /// (`cuStreamWaitEvent`); nothing for [`ConsumerStream::NoSync`].
    ///
    /// # Safety
    /// A [`ConsumerStream::Stream`] handle other than 1 and 2 must be a live `CUstream` of
    /// this event's context (the consumer passed it to `__dlpack__`).
    pub unsafe fn order_before(&self, consumer: ConsumerStream) -> Result<(), GpuError> {
        let ConsumerStream::Stream(handle) = consumer else { return Ok(()) };
        // SAFETY: the event is live (owned by self); the stream handle is the caller's
        // contract (1 and 2 are the driver's default-stream handles).
        unsafe {
            result::stream::wait_event(
                handle as usize as cudarc::driver::sys::CUstream,
                self.0.cu_event(),
                cudarc::driver::sys::CUevent_wait_flags::CU_EVENT_WAIT_DEFAULT,
            )
        }
        .map_err(|e| GpuError::driver("cuStreamWaitEvent", e))
    }
}

/// The spec that turns a frame into packed RGB at its own size on the device (H×W×3 u8, the
/// stream's matrix and range, no scaling or normalisation): what a CUDA frame's `__dlpack__`
/// hands out, the device twin of `convert_to_rgb24`.
pub fn rgb_spec(width: u32, height: u32) -> PreprocessSpec {
    use crate::preprocess::{DType, Fit, Layout};
    PreprocessSpec::default()
        .with_output_size(width, height)
        .with_fit(Fit::Stretch)
        .with_layout(Layout::Nhwc)
        .with_dtype(DType::U8)
        .with_normalisation(1.0, [0.0; 3], [1.0; 3])
}

impl GpuPreprocessor {
    /// Compiles (once per device) and loads the kernel.
    pub fn new(device: &Device, spec: PreprocessSpec) -> Result<Self, GpuError> {
        spec.validate()?;
        let function = preprocess_function(device)?;
        Ok(Self { device: device.clone(), function, spec, plan: None })
    }

    pub fn spec(&self) -> &PreprocessSpec {
        &self.spec
    }

    /// Queues image `batch_index` of the batch in `out` on the device's stream and returns
    /// where the frame landed. The output is ready once [`GpuPreprocessor::done`] says so.
    pub fn run(
        &mut self,
        frame: &DeviceFrame<'_>,
        out: &DeviceBuffer,
        batch_index: usize,
    ) -> Result<Geometry, GpuError> {
        frame.validate()?;
        if frame.device_ordinal != self.device.ordinal() || out.device_ordinal() != self.device.ordinal() {
            return Err(GpuError::Buffer {
                what: format!(
                    "frame (device {}) and output (device {}) must be on device {}",
                    frame.device_ordinal,
                    out.device_ordinal(),
                    self.device.ordinal()
                ),
            });
        }
        let plan = self.plan_for(frame)?;
        let image_len = plan.plan.image_len_bytes;
        let end = batch_index.checked_add(1).and_then(|n| n.checked_mul(image_len));
        let image_start = match end {
            Some(end) if end <= out.len_bytes() => end - image_len,
            _ => {
                return Err(GpuError::OutputTooSmall {
                    len_bytes: out.len_bytes(),
                    needed_bytes: end.unwrap_or(usize::MAX),
                    batch_index,
                })
            }
        };
        let planes = PlaneAddresses {
            luma: frame.planes[0].ptr,
            chroma_u: frame.planes[1].ptr,
            chroma_v: frame.planes[2].ptr,
            luma_stride_bytes: frame.planes[0].stride_bytes as u64,
            chroma_stride_bytes: frame.planes[1].stride_bytes as u64,
        };
        let mut params: PreprocessParams =
            plan.plan.params(planes, plan.taps_at, out.device_ptr() + image_start as u64);
        let geometry = plan.plan.geometry;
        let grid = plan.plan.grid_dim();
        self.device.bind()?;
        let mut args = [(&mut params as *mut PreprocessParams).cast::<c_void>()];
        // SAFETY: the function is `ifc_preprocess`, whose one parameter is the by-value struct
        // that `PreprocessParams` mirrors (layout checked by the host-build test); the driver
        // copies the argument at launch. The frame's planes were validated against the plan's
        // shape (the kernel reads inside them), the output range was checked above, and the
        // taps buffer lives in `self.plan` until a later plan replaces it, which first waits
        // for the stream (plan_for).
        unsafe {
            result::launch_kernel(
                self.function.cu_function(),
                grid,
                BLOCK_DIM,
                0,
                self.device.stream().cu_stream(),
                &mut args,
            )
        }
        .map_err(|e| GpuError::driver("cuLaunchKernel", e))?;
        Ok(geometry)
    }

    /// An event after everything queued so far on the stream.
    pub fn done(&self) -> Result<PreprocessDone, GpuError> {
        let event = self.device.stream().record_event(None).map_err(|e| GpuError::driver("cuEventRecord", e))?;
        Ok(PreprocessDone(event))
    }

    fn plan_for(&mut self, frame: &DeviceFrame<'_>) -> Result<&DevicePlan, GpuError> {
        let key = (frame.format, frame.width, frame.height, frame.colour);
        if self.plan.as_ref().is_none_or(|p| p.key != key) {
            if self.plan.is_some() {
                // Launches queued with the old taps must finish before they are freed.
                self.device.synchronize()?;
            }
            let plan = KernelPlan::new(&self.spec, frame.format, frame.width, frame.height, &frame.colour)?;
            let (taps, taps_at) = upload_taps(&self.device, &plan)?;
            self.plan = Some(DevicePlan { key, plan, _taps: taps, taps_at });
        }
        self.plan.as_ref().ok_or(GpuError::Buffer { what: "no plan".to_owned() })
    }
}

/// The four taps tables in one device buffer (one host→device copy per plan, not per frame).
fn upload_taps(device: &Device, plan: &KernelPlan) -> Result<(DeviceBuffer, TapAddresses), GpuError> {
    let mut bytes = Vec::new();
    let mut section = |words: &mut dyn Iterator<Item = [u8; 4]>| {
        let at = bytes.len();
        words.for_each(|w| bytes.extend_from_slice(&w));
        at
    };
    let x_start = section(&mut plan.taps_x_start.iter().map(|v| v.to_ne_bytes()));
    let x_weight = section(&mut plan.taps_x_weight.iter().map(|v| v.to_ne_bytes()));
    let y_start = section(&mut plan.taps_y_start.iter().map(|v| v.to_ne_bytes()));
    let y_weight = section(&mut plan.taps_y_weight.iter().map(|v| v.to_ne_bytes()));
    let mut buffer = DeviceBuffer::alloc(device, bytes.len())?;
    buffer.copy_from_host(0, &bytes)?;
    let base = buffer.device_ptr();
    let at = |offset: usize| base + offset as u64;
    let addresses =
        TapAddresses { x_start: at(x_start), x_weight: at(x_weight), y_start: at(y_start), y_weight: at(y_weight) };
    Ok((buffer, addresses))
}
