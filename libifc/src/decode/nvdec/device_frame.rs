//! [`DeviceFrame`]: a decoded picture left on the GPU, in a mapped NVDEC output surface (NV12,
//! or P016 for 10-bit). Nothing is copied: the surface stays mapped until the frame is dropped,
//! which unmaps it (on any thread). The frame owns the CUDA stream its mapping was ordered on;
//! work that reads the surface goes on that stream or waits for it.

// FFI into the NVIDIA driver: every unsafe block says why it holds.
#![allow(unsafe_code)]

use std::fmt;
use std::sync::Arc;

use cudarc::driver::CudaStream;

use super::decoder_handle::DecoderHandle;
use super::picture_book::OutputSlot;
use super::sequence_plan::SurfaceFormat;
use crate::decode::{DecodeError, Frame, FramePixelFormat};

pub struct DeviceFrame {
    decoder: Arc<DecoderHandle>,
    stream: Arc<CudaStream>,
    dev_ptr: u64,
    pitch_bytes: u32,
    width: u32,
    height: u32,
    format: SurfaceFormat,
    _slot: OutputSlot,
}

impl DeviceFrame {
    #[allow(clippy::too_many_arguments)] // one constructor, called from one place
    pub(super) fn new(
        decoder: Arc<DecoderHandle>,
        stream: Arc<CudaStream>,
        dev_ptr: u64,
        pitch_bytes: u32,
        width: u32,
        height: u32,
        format: SurfaceFormat,
        slot: OutputSlot,
    ) -> Self {
        Self { decoder, stream, dev_ptr, pitch_bytes, width, height, format, _slot: slot }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// NV12 for 8-bit streams; P010 layout (samples in the high bits) for 10-bit ones.
    pub fn pix_fmt(&self) -> FramePixelFormat {
        match self.format {
            SurfaceFormat::Nv12 => FramePixelFormat::Nv12,
            SurfaceFormat::P016 => FramePixelFormat::P010le,
        }
    }

    /// Device address of the luma plane.
    pub fn luma_ptr(&self) -> u64 {
        self.dev_ptr
    }

    /// Device address of the interleaved chroma plane: after the luma rows, rounded to even.
    pub fn chroma_ptr(&self) -> u64 {
        self.dev_ptr + u64::from(self.pitch_bytes) * u64::from((self.height + 1) & !1)
    }

    /// Bytes from one row to the next, in both planes.
    pub fn pitch_bytes(&self) -> u32 {
        self.pitch_bytes
    }

    /// The stream the surface's mapping was ordered on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The mapped surface as the preprocessing kernel's input: NV12 (or P016, described as
    /// P010, samples in the high bits), luma then interleaved chroma at the surface's pitch.
    /// Borrows the frame, so the surface stays mapped while the view lives; work queued on it
    /// must wait for [`DeviceFrame::stream`] first and finish before the frame drops.
    pub fn gpu_view(&self, colour: crate::codec::ColourDescription) -> crate::gpu::DeviceFrame<'_> {
        use crate::gpu::DevicePlane;
        use crate::preprocess::PixelFormat;
        let format = match self.format {
            SurfaceFormat::Nv12 => PixelFormat::Nv12,
            SurfaceFormat::P016 => PixelFormat::P010le,
        };
        let pitch = self.pitch_bytes as usize;
        let luma_rows = self.pix_fmt().rows(0, self.height).unwrap_or(0);
        let chroma_rows = self.pix_fmt().rows(1, self.height).unwrap_or(0);
        let planes = [
            DevicePlane { ptr: self.luma_ptr(), stride_bytes: pitch, len_bytes: pitch * luma_rows },
            DevicePlane { ptr: self.chroma_ptr(), stride_bytes: pitch, len_bytes: pitch * chroma_rows },
            DevicePlane::default(),
        ];
        // SAFETY: both planes lie in the surface NVDEC mapped for this frame (luma rows at the
        // pitch, then the chroma rows from `chroma_ptr`), on the decoder's device; it stays
        // mapped and unchanged until this frame drops, which the returned view's borrow prevents.
        unsafe {
            crate::gpu::DeviceFrame::from_raw(format, self.width, self.height, planes, colour, self.decoder.ctx.ordinal())
        }
    }

    /// Copies the picture to host memory (for checks and the CPU path; the GPU path never
    /// calls this). Waits for the mapping's stream.
    pub fn download(&self) -> Result<Frame, DecodeError> {
        let failed = |reason: String| DecodeError::Backend { stream_id: 0, backend: super::BACKEND, reason };
        let pix_fmt = self.pix_fmt();
        let pitch = self.pitch_bytes as usize;
        let luma_rows = pix_fmt.rows(0, self.height).unwrap_or(0);
        let chroma_rows = pix_fmt.rows(1, self.height).unwrap_or(0);
        let mut luma = vec![0u8; pitch * luma_rows];
        let mut chroma = vec![0u8; pitch * chroma_rows];
        self.decoder.ctx.bind_to_thread().map_err(|e| failed(format!("binding the context: {e}")))?;
        self.stream.synchronize().map_err(|e| failed(format!("waiting for the mapping: {e}")))?;
        // SAFETY: the surface is mapped (this frame holds it) and spans `pitch` × the luma rows,
        // then, from chroma_ptr, `pitch` × the chroma rows; the host buffers are exactly that long.
        unsafe {
            cudarc::driver::result::memcpy_dtoh_sync(&mut luma, self.luma_ptr())
                .and_then(|()| cudarc::driver::result::memcpy_dtoh_sync(&mut chroma, self.chroma_ptr()))
        }
        .map_err(|e| failed(format!("copying the surface to the host: {e}")))?;
        crate::gpu::note_device_to_host_copies(2);
        Frame::from_planes(self.width, self.height, pix_fmt, vec![(luma, pitch), (chroma, pitch)])
    }
}

impl Drop for DeviceFrame {
    fn drop(&mut self) {
        if let Err(e) = self.decoder.ctx.bind_to_thread() {
            tracing::warn!(target: "ifc::decode::nvdec", error = %e, "cannot bind the CUDA context to unmap a frame");
            return;
        }
        // SAFETY: `dev_ptr` was returned by cuvidMapVideoFrame64 on this decoder and is
        // unmapped once, here; the decoder handle is alive (held by this frame).
        let code = unsafe { (self.decoder.lib.cuvidUnmapVideoFrame64)(self.decoder.raw, self.dev_ptr) };
        if let Err(e) = super::library::check("cuvidUnmapVideoFrame64", code) {
            tracing::warn!(target: "ifc::decode::nvdec", error = %e, "frame not unmapped");
        }
    }
}

impl fmt::Debug for DeviceFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceFrame")
            .field("size", &(self.width, self.height))
            .field("format", &self.format)
            .field("pitch_bytes", &self.pitch_bytes)
            .finish_non_exhaustive()
    }
}
