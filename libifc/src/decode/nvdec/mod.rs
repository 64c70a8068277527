//! The NVDEC backend (feature `cuda`): NVIDIA's hardware decoder through `libnvcuvid.so.1`
//! (bindings in `ifc-sys`, loaded at run time) and the CUDA driver API (cudarc).
//!
//! One [`NvdecDecoder`] is one NVDEC session: a parser (`cuvidCreateVideoParser`) that drives a
//! decoder through three callbacks. The sequence callback creates the decoder with a pool of
//! decode surfaces sized from the stream (`min_num_decode_surfaces` + display delay + margin),
//! reconfigures it in place when the resolution changes within the maximum set at creation
//! (`cuvidReconfigureDecoder`), and recreates it beyond. The display callback maps each
//! picture (`cuvidMapVideoFrame64`, on the session's own stream) into a [`DeviceFrame`], reads
//! its decode status (error vs concealed error, counted in [`DecodeStats`]), and queues it.
//! Many sessions run at once; the driver spreads them over the GPU's NVDEC engines.
//!
//! What decides (sequence plans, picture bookkeeping, error policy, output-surface slots) is
//! sans-IO and tested without a GPU: `sequence_plan`, `picture_book`, `payload`.
//! What calls the driver (`callbacks`, `decoder_handle`, `device_frame`, this file) has not
//! run in CI, which has no GPU; `bins/ifc-gpu-check` exercises it on a GPU machine.

#[cfg(feature = "cuda")]
mod callbacks;
#[cfg(feature = "cuda")]
pub(crate) mod caps;
#[cfg(feature = "cuda")]
mod decoder_handle;
#[cfg(feature = "cuda")]
mod device_frame;
#[cfg(feature = "cuda")]
pub(crate) mod library;
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
mod payload;
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
mod picture_book;
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
mod sequence_plan;
#[cfg(feature = "cuda")]
mod session;

#[cfg(feature = "cuda")]
pub use device_frame::DeviceFrame;
#[cfg(feature = "cuda")]
pub(in crate::decode) use session::NvdecDecoder;

#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) const BACKEND: &str = "nvdec";
