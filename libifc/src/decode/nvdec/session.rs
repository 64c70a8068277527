//! [`NvdecDecoder`]: one NVDEC session behind the [`Decoder`] contract.

// FFI into the NVIDIA driver: every unsafe block says why it holds.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::sync::Arc;

use bytes::Bytes;
use cudarc::driver::CudaContext;
use ifc_sys::{CUvideopacketflags as packet_flags, CUvideoparser, CUVIDPARSERPARAMS, CUVIDSOURCEDATAPACKET};

use super::callbacks::{on_decode, on_display, on_sequence, CallbackState};
use super::caps::cuda_codec;
use super::library::{check, nvcuvid};
use super::payload::{parser_payload, InputFraming};
use super::picture_book::{Admission, PacketMeta, PictureBook};
use super::sequence_plan::ShapeSettings;
use super::BACKEND;
use crate::decode::keyframe::{has_random_access_slice, NalFraming};
use crate::decode::{DecodeError, DecodeStats, Decoder, DecoderOptions, EncodedPacket, Frame};

pub(in crate::decode) struct NvdecDecoder {
    parser: CUvideoparser,
    /// From `Box::into_raw`; the parser's `pUserData`. Freed in `Drop` after the parser.
    state: *mut CallbackState,
    framing: InputFraming,
    nal_framing: NalFraming,
    stream_id: u64,
}

// SAFETY: the parser handle and the state pointer are owned by this value alone and used only
// through `&mut self`; the parser calls back on the thread that calls it. The CUDA context is
// bound to whichever thread makes each call.
unsafe impl Send for NvdecDecoder {}

impl NvdecDecoder {
    pub(in crate::decode) fn open(options: DecoderOptions) -> Result<Self, DecodeError> {
        let unavailable = |reason: String| DecodeError::BackendUnavailable { backend: BACKEND, reason };
        let open_failed = |reason: String| DecodeError::Open { stream_id: options.stream_id, backend: BACKEND, reason };
        // SAFETY: probing loads libcuda if present and runs its initialisers (trusted driver).
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(unavailable("libcuda.so.1 (the CUDA driver) did not load".into()));
        }
        let lib = nvcuvid().map_err(|e| unavailable(format!("{} did not load: {e}", ifc_sys::NVCUVID_LIBRARY)))?;
        let nvdec = options.nvdec;
        let ordinal = usize::try_from(nvdec.device_ordinal).unwrap_or(usize::MAX);
        let ctx = CudaContext::new(ordinal).map_err(|e| unavailable(format!("CUDA device {ordinal}: {e}")))?;
        let stream = ctx.new_stream().map_err(|e| open_failed(format!("creating a stream: {e}")))?;
        ctx.bind_to_thread().map_err(|e| open_failed(format!("binding the context: {e}")))?;
        let settings = ShapeSettings {
            max_width: nvdec.max_width,
            max_height: nvdec.max_height,
            extra_decode_surfaces: nvdec.display_delay.saturating_add(nvdec.extra_decode_surfaces),
        };
        let state = Box::into_raw(Box::new(CallbackState::new(
            lib,
            Arc::clone(&ctx),
            stream,
            options.codec,
            options.stream_id,
            settings,
            nvdec.output_surfaces.max(1),
            PictureBook::new(options.error_policy),
        )));
        // SAFETY: a plain C struct; all zeros is valid (no extended video info, no callbacks yet).
        let mut params: CUVIDPARSERPARAMS = unsafe { std::mem::zeroed() };
        params.CodecType = cuda_codec(options.codec);
        // The sequence callback's return value sets the real count once the stream is known.
        params.ulMaxNumDecodeSurfaces = 1;
        params.ulMaxDisplayDelay = nvdec.display_delay;
        params.pUserData = state.cast::<c_void>();
        params.pfnSequenceCallback = Some(on_sequence);
        params.pfnDecodePicture = Some(on_decode);
        params.pfnDisplayPicture = Some(on_display);
        let mut parser = std::ptr::null_mut();
        // SAFETY: `params` is valid for the call; its user data points at the boxed state,
        // which lives until this decoder drops, after the parser is destroyed.
        let created =
            check("cuvidCreateVideoParser", unsafe { (lib.cuvidCreateVideoParser)(&mut parser, &mut params) });
        if let Err(reason) = created {
            // SAFETY: `state` came from Box::into_raw above and no parser refers to it.
            drop(unsafe { Box::from_raw(state) });
            return Err(open_failed(reason));
        }
        let (framing, nal_framing) = match &options.config {
            Some(config) => (
                InputFraming::LengthPrefixed {
                    length_size: config.nal_length_size,
                    parameter_sets: config.parameter_sets.clone(),
                },
                NalFraming::LengthPrefixed(config.nal_length_size),
            ),
            None => (InputFraming::AnnexB, NalFraming::AnnexB),
        };
        Ok(Self { parser, state, framing, nal_framing, stream_id: options.stream_id })
    }

    fn state(&mut self) -> &mut CallbackState {
        // SAFETY: `state` is live (freed only in Drop) and no parse call is in progress while
        // `&mut self` is borrowed here, so this is the only reference.
        unsafe { &mut *self.state }
    }

    /// Hands bytes to the parser, which calls back into the state for each sequence, picture
    /// and display; then returns the first error a callback met.
    fn parse(&mut self, payload: &[u8], flags: u32, packet_index: u64) -> Result<(), DecodeError> {
        let stream_id = self.stream_id;
        {
            let state = self.state();
            state.current_packet = packet_index;
            state.ctx.bind_to_thread().map_err(|e| DecodeError::Backend {
                stream_id,
                backend: BACKEND,
                reason: format!("binding the context: {e}"),
            })?;
        }
        let lib = self.state().lib;
        let mut packet = source_packet(payload, flags, packet_index);
        // SAFETY: the parser is live; `packet` and the payload it points at outlive the call;
        // the callbacks reach the state through the raw pointer, and no Rust reference to the
        // state is held across this call.
        let code = unsafe { (lib.cuvidParseVideoData)(self.parser, &mut packet) };
        let state = self.state();
        let parsed = check("cuvidParseVideoData", code).map_err(|reason| DecodeError::Bitstream {
            stream_id,
            packet_index,
            pts_90k: None,
            reason,
        });
        if parsed.is_err() {
            state.book.packet_failed();
        }
        match state.pending_error.take() {
            Some(error) => Err(error),
            None => parsed,
        }
    }
}

/// The parser's packet for `payload`. An empty payload (the end-of-stream flush) is a null
/// pointer with size 0, as NVIDIA's samples and FFmpeg pass it, never the dangling pointer of
/// an empty slice.
fn source_packet(payload: &[u8], flags: u32, packet_index: u64) -> CUVIDSOURCEDATAPACKET {
    CUVIDSOURCEDATAPACKET {
        flags: flags.into(),
        payload_size: payload.len() as std::ffi::c_ulong,
        payload: if payload.is_empty() { std::ptr::null() } else { payload.as_ptr() },
        timestamp: i64::try_from(packet_index).unwrap_or(i64::MAX),
    }
}

impl Decoder for NvdecDecoder {
    fn push(&mut self, packet: EncodedPacket) -> Result<(), DecodeError> {
        let codec = self.state().codec;
        let awaiting_key = self.state().book.awaiting_key();
        let is_key = packet.is_key || (awaiting_key && has_random_access_slice(codec, self.nal_framing, &packet.data));
        let (index, admission) = self.state().book.admit(PacketMeta { pts_90k: packet.pts_90k, is_key });
        let Admission::Parse { send_parameter_sets } = admission else { return Ok(()) };
        let payload: Bytes = match parser_payload(&self.framing, &packet.data, send_parameter_sets) {
            Ok(payload) => payload,
            Err(e) => {
                self.state().book.packet_failed();
                return Err(DecodeError::Bitstream {
                    stream_id: self.stream_id,
                    packet_index: index,
                    pts_90k: packet.pts_90k,
                    reason: e.to_string(),
                });
            }
        };
        if payload.is_empty() {
            return Ok(());
        }
        self.parse(&payload, packet_flags::CUVID_PKT_TIMESTAMP, index)
    }

    fn pull(&mut self) -> Result<Option<Frame>, DecodeError> {
        Ok(self.state().ready.pop_front())
    }

    fn flush(&mut self) -> Result<(), DecodeError> {
        let index = self.state().current_packet;
        let result = self.parse(&[], packet_flags::CUVID_PKT_ENDOFSTREAM, index);
        self.state().book.ended();
        result
    }

    fn stats(&self) -> DecodeStats {
        // SAFETY: shared read of the live state; no parse call is in progress under `&self`.
        unsafe { (*self.state).book.stats }
    }

    fn backend_name(&self) -> &'static str {
        BACKEND
    }
}

impl Drop for NvdecDecoder {
    fn drop(&mut self) {
        let lib = self.state().lib;
        if self.state().ctx.bind_to_thread().is_ok() {
            // SAFETY: the parser is live and destroyed once, here; no callback runs after this.
            let code = unsafe { (lib.cuvidDestroyVideoParser)(self.parser) };
            if let Err(e) = check("cuvidDestroyVideoParser", code) {
                tracing::warn!(target: "ifc::decode::nvdec", error = %e, "parser not destroyed");
            }
        }
        // SAFETY: `state` came from Box::into_raw in `open` and is freed once; the parser that
        // referred to it is gone. Frames still held keep their own handles to the decoder.
        drop(unsafe { Box::from_raw(self.state) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flush_packet_has_a_null_payload_pointer() {
        let flush = source_packet(&[], packet_flags::CUVID_PKT_ENDOFSTREAM, 7);
        assert!(flush.payload.is_null());
        assert_eq!(flush.payload_size, 0);
        assert_eq!(flush.flags, u64::from(packet_flags::CUVID_PKT_ENDOFSTREAM));
        let data = [0u8, 0, 1, 0x65];
        let packet = source_packet(&data, packet_flags::CUVID_PKT_TIMESTAMP, 3);
        assert_eq!(packet.payload, data.as_ptr());
        assert_eq!((packet.payload_size, packet.timestamp), (4, 3));
    }
}
