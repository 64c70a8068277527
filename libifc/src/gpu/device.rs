//! [`Device`]: one CUDA device's primary context and the stream ifc's kernels run on.

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaStream};

use super::error::GpuError;
use super::probe::init_driver;

/// A CUDA device ready for work: its primary context (shared with every other user of the
/// device in this process, NVDEC included) and a stream of its own.
#[derive(Debug, Clone)]
pub struct Device {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
}

impl Device {
    /// Opens device `ordinal`; a typed error when there is no driver or no such device.
    pub fn open(ordinal: usize) -> Result<Self, GpuError> {
        init_driver()?;
        let count = cudarc::driver::result::device::get_count().map_err(|e| GpuError::driver("cuDeviceGetCount", e))?;
        let count = usize::try_from(count).unwrap_or(0);
        if count == 0 {
            return Err(GpuError::NoDevice);
        }
        if ordinal >= count {
            return Err(GpuError::NoSuchDevice { ordinal, count });
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| GpuError::driver("cuDevicePrimaryCtxRetain", e))?;
        let stream = ctx.new_stream().map_err(|e| GpuError::driver("cuStreamCreate", e))?;
        Ok(Self { ctx, stream })
    }

    pub fn ordinal(&self) -> usize {
        self.ctx.ordinal()
    }

    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// Makes the context current on this thread (driver calls act on the current context).
    pub(crate) fn bind(&self) -> Result<(), GpuError> {
        self.ctx.bind_to_thread().map_err(|e| GpuError::driver("cuCtxSetCurrent", e))
    }

    /// `(major, minor)` compute capability.
    pub fn compute_capability(&self) -> Result<(i32, i32), GpuError> {
        use cudarc::driver::sys::CUdevice_attribute as A;
        let get = |a| self.ctx.attribute(a).map_err(|e| GpuError::driver("cuDeviceGetAttribute", e));
        Ok((
            get(A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
            get(A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?,
        ))
    }

    /// Waits until everything queued on the stream has finished.
    pub fn synchronize(&self) -> Result<(), GpuError> {
        self.stream.synchronize().map_err(|e| GpuError::driver("cuStreamSynchronize", e))
    }

    /// Device time of the work `enqueue` queues on the stream, in milliseconds (events around
    /// it; waits for it to finish).
    pub fn time_ms(&self, enqueue: impl FnOnce() -> Result<(), GpuError>) -> Result<f32, GpuError> {
        use cudarc::driver::sys::CUevent_flags;
        let timing = Some(CUevent_flags::CU_EVENT_DEFAULT);
        let start = self.stream.record_event(timing).map_err(|e| GpuError::driver("cuEventRecord", e))?;
        enqueue()?;
        let end = self.stream.record_event(timing).map_err(|e| GpuError::driver("cuEventRecord", e))?;
        start.elapsed_ms(&end).map_err(|e| GpuError::driver("cuEventElapsedTime", e))
    }

    /// Device time of `launches` calls of `enqueue` captured on the stream into a CUDA graph and
    /// replayed once, in milliseconds: back-to-back kernels with no host gaps between them
    /// (host-issued launches can starve a short kernel). Capture always ends, even when an
    /// `enqueue` fails, so the stream never stays in capture mode.
    pub fn time_graph_ms(
        &self,
        launches: usize,
        mut enqueue: impl FnMut() -> Result<(), GpuError>,
    ) -> Result<f32, GpuError> {
        use cudarc::driver::sys::{CUgraphInstantiate_flags, CUstreamCaptureMode};
        self.stream
            .begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
            .map_err(|e| GpuError::driver("cuStreamBeginCapture", e))?;
        let queued = (0..launches).try_for_each(|_| enqueue());
        let graph = self
            .stream
            .end_capture(CUgraphInstantiate_flags(0))
            .map_err(|e| GpuError::driver("cuStreamEndCapture", e))?;
        queued?;
        let graph = graph.ok_or_else(|| GpuError::Buffer { what: "the capture recorded no graph".into() })?;
        graph.upload().map_err(|e| GpuError::driver("cuGraphUpload", e))?;
        self.synchronize()?;
        self.time_ms(|| graph.launch().map_err(|e| GpuError::driver("cuGraphLaunch", e)))
    }

    /// Orders this device's stream after everything queued so far on `other` (e.g. the
    /// stream an NVDEC frame's mapping was ordered on), without blocking the host.
    pub fn wait_for_stream(&self, other: &CudaStream) -> Result<(), GpuError> {
        let event = other.record_event(None).map_err(|e| GpuError::driver("cuEventRecord", e))?;
        self.stream.wait(&event).map_err(|e| GpuError::driver("cuStreamWaitEvent", e))
    }
}
