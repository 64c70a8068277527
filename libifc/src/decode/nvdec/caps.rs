//! `cuvidGetDecoderCaps`: what the GPU's NVDEC engines decode, per codec and bit depth (4:2:0).

// FFI into the NVIDIA driver: every unsafe block says why it holds.
#![allow(unsafe_code)]

use ifc_sys::{cudaVideoChromaFormat_enum, cudaVideoCodec_enum, NvcuvidLibrary, CUVIDDECODECAPS};

use super::library::check;
use super::sequence_plan::DeviceLimits;
use crate::codec::Codec;

/// The caps of one codec and bit depth, and the engine count the driver reports with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecoderCaps {
    pub limits: DeviceLimits,
    pub nvdec_engines: u8,
}

pub(super) fn cuda_codec(codec: Codec) -> ifc_sys::cudaVideoCodec {
    match codec {
        Codec::H264 => cudaVideoCodec_enum::cudaVideoCodec_H264,
        Codec::H265 => cudaVideoCodec_enum::cudaVideoCodec_HEVC,
    }
}

/// Asks the driver. A CUDA context must be current on this thread.
pub(crate) fn decoder_caps(lib: &NvcuvidLibrary, codec: Codec, bit_depth: u8) -> Result<DecoderCaps, String> {
    // SAFETY: CUVIDDECODECAPS is a plain C struct of integers; all zeros is a valid value.
    let mut caps: CUVIDDECODECAPS = unsafe { std::mem::zeroed() };
    caps.eCodecType = cuda_codec(codec);
    caps.eChromaFormat = cudaVideoChromaFormat_enum::cudaVideoChromaFormat_420;
    caps.nBitDepthMinus8 = u32::from(bit_depth.saturating_sub(8));
    // SAFETY: `caps` is a valid, exclusively borrowed CUVIDDECODECAPS for the call's duration;
    // the caller has made a context current, as the function requires.
    check("cuvidGetDecoderCaps", unsafe { (lib.cuvidGetDecoderCaps)(&mut caps) })?;
    Ok(DecoderCaps {
        limits: DeviceLimits {
            supported: caps.bIsSupported != 0,
            max_width: caps.nMaxWidth,
            max_height: caps.nMaxHeight,
            min_width: u32::from(caps.nMinWidth),
            min_height: u32::from(caps.nMinHeight),
        },
        nvdec_engines: caps.nNumNVDECs,
    })
}
