//! [`DecoderHandle`]: one `CUvideodecoder`, destroyed when the session and every frame mapped
//! from it are gone (a recreated session leaves the old handle to the frames that hold it).

// FFI into the NVIDIA driver: every unsafe block says why it holds.
#![allow(unsafe_code)]

use std::sync::Arc;

use cudarc::driver::CudaContext;
use ifc_sys::{CUvideodecoder, NvcuvidLibrary};

pub(crate) struct DecoderHandle {
    pub lib: &'static NvcuvidLibrary,
    pub ctx: Arc<CudaContext>,
    pub raw: CUvideodecoder,
}

// SAFETY: the handle is an opaque driver object. ifc calls cuvidDecodePicture,
// cuvidMapVideoFrame64 and cuvidGetDecodeStatus on it only from the session's owner (`&mut`),
// and cuvidUnmapVideoFrame64 from frames on any thread; NVDEC documents mapping and unmapping
// from a thread other than the decoding one (its post-processing threads), with the context
// made current first, which every caller here does.
unsafe impl Send for DecoderHandle {}
// SAFETY: as above; no method takes `&self` to mutate Rust-side state.
unsafe impl Sync for DecoderHandle {}

impl Drop for DecoderHandle {
    fn drop(&mut self) {
        if let Err(e) = self.ctx.bind_to_thread() {
            tracing::warn!(target: "ifc::decode::nvdec", error = %e, "cannot bind the CUDA context to destroy a decoder");
            return;
        }
        // SAFETY: `raw` came from cuvidCreateDecoder and is destroyed once, here, after the last
        // frame mapped from it was unmapped (each frame holds an Arc of this handle).
        let code = unsafe { (self.lib.cuvidDestroyDecoder)(self.raw) };
        if let Err(e) = super::library::check("cuvidDestroyDecoder", code) {
            tracing::warn!(target: "ifc::decode::nvdec", error = %e, "decoder not destroyed");
        }
    }
}
