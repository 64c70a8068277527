//! Device memory: [`DeviceBuffer`] (plain `cuMemAlloc`, which CUDA IPC can export, unlike
//! stream-ordered pool memory), its [`IpcMemHandle`] (what Triton's CUDA shared memory and a
//! second process open), and the host↔device copy counters that prove a path copies nothing.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cudarc::driver::{result, sys, CudaContext};

use super::device::Device;
use super::error::GpuError;

static HOST_TO_DEVICE_COPIES: AtomicU64 = AtomicU64::new(0);
static DEVICE_TO_HOST_COPIES: AtomicU64 = AtomicU64::new(0);

/// Host↔device copies made through ifc since the process started (every copy ifc makes goes
/// through [`DeviceBuffer`]); the device check compares them around the decode → inference
/// path, which must add none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CopyCounts {
    pub host_to_device: u64,
    pub device_to_host: u64,
}

pub fn copy_counts() -> CopyCounts {
    CopyCounts {
        host_to_device: HOST_TO_DEVICE_COPIES.load(Ordering::Relaxed),
        device_to_host: DEVICE_TO_HOST_COPIES.load(Ordering::Relaxed),
    }
}

/// Counts copies ifc makes outside [`DeviceBuffer`] (an NVDEC surface downloaded for the CPU
/// path, one per plane), so that the counters see every host↔device copy.
pub(crate) fn note_device_to_host_copies(copies: u64) {
    DEVICE_TO_HOST_COPIES.fetch_add(copies, Ordering::Relaxed);
}

/// `cuMemAlloc` memory on one device, freed on drop.
#[derive(Debug)]
pub struct DeviceBuffer {
    ctx: Arc<CudaContext>,
    ptr: sys::CUdeviceptr,
    len_bytes: usize,
}

/// The 64 bytes of a `CUipcMemHandle`: what `cuIpcOpenMemHandle` (and Triton's
/// `cudaIpcOpenMemHandle`) takes in another process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpcMemHandle(pub [u8; 64]);

impl DeviceBuffer {
    /// `len_bytes` (non-zero) of uninitialised device memory.
    pub fn alloc(device: &Device, len_bytes: usize) -> Result<Self, GpuError> {
        if len_bytes == 0 {
            return Err(GpuError::Buffer { what: "a zero-byte buffer cannot be allocated or shared".to_owned() });
        }
        device.bind()?;
        // SAFETY: the device's context is current; the allocation is freed exactly once, in Drop.
        let ptr = unsafe { result::malloc_sync(len_bytes) }.map_err(|e| GpuError::driver("cuMemAlloc", e))?;
        Ok(Self { ctx: device.context().clone(), ptr, len_bytes })
    }

    pub fn device_ptr(&self) -> u64 {
        self.ptr
    }

    pub fn len_bytes(&self) -> usize {
        self.len_bytes
    }

    pub fn device_ordinal(&self) -> usize {
        self.ctx.ordinal()
    }

    fn bind(&self) -> Result<(), GpuError> {
        self.ctx.bind_to_thread().map_err(|e| GpuError::driver("cuCtxSetCurrent", e))
    }

    fn check_range(&self, offset: usize, len: usize) -> Result<(), GpuError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len_bytes => Ok(()),
            _ => Err(GpuError::Buffer {
                what: format!("{len} B at offset {offset} reach past the {} B buffer", self.len_bytes),
            }),
        }
    }

    /// Copies `src` to `offset` (synchronously; counted as a host→device copy).
    pub fn copy_from_host(&mut self, offset: usize, src: &[u8]) -> Result<(), GpuError> {
        self.check_range(offset, src.len())?;
        self.bind()?;
        // SAFETY: the destination range lies inside this allocation (checked above) and the
        // copy completes before the call returns.
        unsafe { result::memcpy_htod_sync(self.ptr + offset as u64, src) }
            .map_err(|e| GpuError::driver("cuMemcpyHtoD", e))?;
        HOST_TO_DEVICE_COPIES.fetch_add(1, Ordering::Relaxed);
        // A pageable-memory copy may return before its DMA lands, and it runs on the legacy
        // stream, which ifc's non-blocking streams do not wait for: finish it here.
        self.ctx.synchronize().map_err(|e| GpuError::driver("cuCtxSynchronize", e))?;
        Ok(())
    }

    /// Copies from `offset` into `dst` (synchronously; counted as a device→host copy).
    pub fn copy_to_host(&self, offset: usize, dst: &mut [u8]) -> Result<(), GpuError> {
        self.check_range(offset, dst.len())?;
        self.bind()?;
        // The copy runs on the legacy stream, which does not wait for ifc's non-blocking
        // streams: let the kernels that write this buffer finish first.
        self.ctx.synchronize().map_err(|e| GpuError::driver("cuCtxSynchronize", e))?;
        // SAFETY: the source range lies inside this allocation (checked above); `dst` is an
        // exclusive host slice of the same length; the copy completes before returning.
        unsafe { result::memcpy_dtoh_sync(dst, self.ptr + offset as u64) }
            .map_err(|e| GpuError::driver("cuMemcpyDtoH", e))?;
        DEVICE_TO_HOST_COPIES.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Queues a copy of the first `len_bytes` of `src` to the start of this buffer on the
    /// device's stream (device to device: not a host copy; the device check's bandwidth
    /// yardstick).
    pub fn copy_from_device_async(
        &mut self,
        device: &Device,
        src: &DeviceBuffer,
        len_bytes: usize,
    ) -> Result<(), GpuError> {
        self.check_range(0, len_bytes)?;
        src.check_range(0, len_bytes)?;
        device.bind()?;
        // SAFETY: both ranges lie inside their allocations (checked above); the copy is
        // ordered on the stream before anything queued after it.
        unsafe { result::memcpy_dtod_async(self.ptr, src.ptr, len_bytes, device.stream().cu_stream()) }
            .map_err(|e| GpuError::driver("cuMemcpyDtoDAsync", e))
    }

    /// The buffer's IPC handle. Another process that opens it sees this memory (from its
    /// base address) for as long as this buffer lives.
    pub fn ipc_handle(&self) -> Result<IpcMemHandle, GpuError> {
        self.bind()?;
        let mut handle = sys::CUipcMemHandle_st { reserved: [0; 64] };
        // SAFETY: `ptr` is the base of a cuMemAlloc allocation (IPC needs exactly that) and the
        // handle is a local out-parameter.
        unsafe { sys::cuIpcGetMemHandle(&mut handle, self.ptr) }
            .result()
            .map_err(|e| GpuError::driver("cuIpcGetMemHandle", e))?;
        Ok(IpcMemHandle(handle.reserved.map(|b| b as u8)))
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        // Best effort: a failing free (context already torn down) leaves nothing to do. Work
        // still queued on the buffer (a kernel writing it) finishes before it is freed.
        if self.bind().is_ok() && self.ctx.synchronize().is_ok() {
            // SAFETY: `ptr` came from cuMemAlloc and is freed once, here; nothing borrows it
            // past the buffer's lifetime (views and DLPack tensors keep the buffer alive).
            let _ = unsafe { result::free_sync(self.ptr) };
        }
    }
}

/// Another process's buffer opened from its [`IpcMemHandle`]; closed on drop.
#[derive(Debug)]
pub struct IpcMapping {
    ctx: Arc<CudaContext>,
    ptr: sys::CUdeviceptr,
}

impl IpcMapping {
    pub fn open(device: &Device, handle: &IpcMemHandle) -> Result<Self, GpuError> {
        device.bind()?;
        let raw = sys::CUipcMemHandle_st { reserved: handle.0.map(|b| b as _) };
        let mut ptr = 0;
        // SAFETY: the handle is 64 opaque bytes the driver validates; `ptr` is a local.
        unsafe {
            sys::cuIpcOpenMemHandle_v2(
                &mut ptr,
                raw,
                sys::CUipcMem_flags::CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS as std::ffi::c_uint,
            )
        }
        .result()
        .map_err(|e| GpuError::driver("cuIpcOpenMemHandle", e))?;
        Ok(Self { ctx: device.context().clone(), ptr })
    }

    /// Copies `dst.len()` bytes from `offset` of the mapped buffer (counted as device→host).
    /// The caller knows the exporter's size; the driver rejects reads past the allocation.
    pub fn copy_to_host(&self, offset: usize, dst: &mut [u8]) -> Result<(), GpuError> {
        self.ctx.bind_to_thread().map_err(|e| GpuError::driver("cuCtxSetCurrent", e))?;
        // SAFETY: the mapping stays open while `self` lives; the driver checks the range
        // against the exported allocation and fails the copy rather than reading outside it.
        unsafe { result::memcpy_dtoh_sync(dst, self.ptr + offset as u64) }
            .map_err(|e| GpuError::driver("cuMemcpyDtoH", e))?;
        DEVICE_TO_HOST_COPIES.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl Drop for IpcMapping {
    fn drop(&mut self) {
        if self.ctx.bind_to_thread().is_ok() {
            // SAFETY: `ptr` came from cuIpcOpenMemHandle and is closed once, here.
            let _ = unsafe { sys::cuIpcCloseMemHandle(self.ptr) };
        }
    }
}
