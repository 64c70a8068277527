//! The parser's three callbacks (sequence, decode, display) and the state they work on.
//!
//! `cuvidParseVideoData` calls them synchronously, on the calling thread, from inside
//! [`NvdecDecoder::push`](super::NvdecDecoder) or `flush`; they carry out what the sans-IO
//! core (`sequence_plan`, `picture_book`) decides. An error inside a callback is kept in
//! `pending_error` and returned by the call that parsed the packet.

// FFI into the NVIDIA driver: every unsafe block says why it holds.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaStream};
use ifc_sys::{
    cudaVideoChromaFormat_enum as chroma, cudaVideoCreateFlags_enum as create_flags,
    cudaVideoDeinterlaceMode_enum as deinterlace, cudaVideoSurfaceFormat_enum as surface,
    cuvidDecodeStatus_enum as status, NvcuvidLibrary, CUVIDDECODECREATEINFO, CUVIDEOFORMAT, CUVIDGETDECODESTATUS,
    CUVIDPARSERDISPINFO, CUVIDPICPARAMS, CUVIDPROCPARAMS, CUVIDRECONFIGUREDECODERINFO,
};

use super::caps::{cuda_codec, decoder_caps};
use super::decoder_handle::DecoderHandle;
use super::device_frame::DeviceFrame;
use super::library::check;
use super::picture_book::{Disposition, OutputSlots, PictureBook, PictureStatus};
use super::sequence_plan::{
    plan_sequence, ChromaLayout, DecoderShape, DeviceLimits, DisplayArea, SequenceFormat, SequencePlan, ShapeSettings,
    SurfaceFormat,
};
use super::BACKEND;
use crate::codec::{Codec, ColourDescription};
use crate::decode::{DecodeError, Frame};

pub(super) struct CallbackState {
    pub lib: &'static NvcuvidLibrary,
    pub ctx: Arc<CudaContext>,
    pub stream: Arc<CudaStream>,
    pub codec: Codec,
    pub stream_id: u64,
    pub settings: ShapeSettings,
    pub output_surfaces: u32,
    pub decoder: Option<Arc<DecoderHandle>>,
    pub shape: Option<DecoderShape>,
    pub colour: ColourDescription,
    pub progressive: bool,
    pub book: PictureBook,
    pub slots: OutputSlots,
    /// Decode-order index of the packet being parsed.
    pub current_packet: u64,
    pub ready: VecDeque<Frame>,
    pub pending_error: Option<DecodeError>,
    limits_cache: Vec<((Codec, u8), DeviceLimits)>,
}

impl CallbackState {
    #[allow(clippy::too_many_arguments)] // every field a session starts with
    pub fn new(
        lib: &'static NvcuvidLibrary,
        ctx: Arc<CudaContext>,
        stream: Arc<CudaStream>,
        codec: Codec,
        stream_id: u64,
        settings: ShapeSettings,
        output_surfaces: u32,
        book: PictureBook,
    ) -> Self {
        Self {
            lib,
            ctx,
            stream,
            codec,
            stream_id,
            settings,
            output_surfaces,
            decoder: None,
            shape: None,
            colour: ColourDescription::default(),
            progressive: true,
            book,
            slots: OutputSlots::new(output_surfaces),
            current_packet: 0,
            ready: VecDeque::new(),
            pending_error: None,
            limits_cache: Vec::new(),
        }
    }

    fn fail(&mut self, error: DecodeError) {
        self.pending_error.get_or_insert(error);
    }

    fn backend_error(&self, reason: String) -> DecodeError {
        DecodeError::Backend { stream_id: self.stream_id, backend: BACKEND, reason }
    }

    fn limits(&mut self, codec: Codec, bit_depth: u8) -> Result<DeviceLimits, String> {
        if let Some((_, limits)) = self.limits_cache.iter().find(|(k, _)| *k == (codec, bit_depth)) {
            return Ok(*limits);
        }
        let limits = decoder_caps(self.lib, codec, bit_depth)?.limits;
        self.limits_cache.push(((codec, bit_depth), limits));
        Ok(limits)
    }

    /// Returns the decode-surface count for the parser, or 0 to stop it.
    fn on_sequence(&mut self, video: &CUVIDEOFORMAT) -> c_int {
        let display = DisplayArea {
            left: u32::try_from(video.display_area.left).unwrap_or(0),
            top: u32::try_from(video.display_area.top).unwrap_or(0),
            right: u32::try_from(video.display_area.right).unwrap_or(0),
            bottom: u32::try_from(video.display_area.bottom).unwrap_or(0),
        };
        let format = SequenceFormat {
            codec: self.codec,
            bit_depth_luma: video.bit_depth_luma_minus8.saturating_add(8),
            chroma: match video.chroma_format {
                chroma::cudaVideoChromaFormat_Monochrome => ChromaLayout::Monochrome,
                chroma::cudaVideoChromaFormat_420 => ChromaLayout::Yuv420,
                chroma::cudaVideoChromaFormat_422 => ChromaLayout::Yuv422,
                _ => ChromaLayout::Yuv444,
            },
            coded_width: video.coded_width,
            coded_height: video.coded_height,
            display,
            min_decode_surfaces: u32::from(video.min_num_decode_surfaces),
        };
        let signal = &video.video_signal_description;
        self.colour = ColourDescription {
            primaries: signal.color_primaries,
            transfer: signal.transfer_characteristics,
            matrix: signal.matrix_coefficients,
            full_range: signal.video_full_range_flag() != 0,
        };
        self.progressive = video.progressive_sequence != 0;
        let limits = match self.limits(format.codec, format.bit_depth_luma) {
            Ok(limits) => limits,
            Err(reason) => {
                let error = self.backend_error(reason);
                self.fail(error);
                return 0;
            }
        };
        let plan = plan_sequence(self.shape.as_ref(), &format, &limits, &self.settings, self.slots.held());
        tracing::debug!(target: "ifc::decode::nvdec", stream_id = self.stream_id, ?plan, "sequence");
        let result = match plan {
            SequencePlan::Keep => Ok(self.shape.map_or(0, |s| s.decode_surfaces)),
            SequencePlan::Create(shape) | SequencePlan::Recreate(shape) => self.create(shape),
            SequencePlan::Reconfigure(shape) => self.reconfigure(shape),
            SequencePlan::Refuse(reason) => Err(DecodeError::UnsupportedPicture { stream_id: self.stream_id, reason }),
        };
        match result {
            Ok(surfaces) => c_int::try_from(surfaces).unwrap_or(0),
            Err(error) => {
                self.fail(error);
                0
            }
        }
    }

    fn create(&mut self, shape: DecoderShape) -> Result<u32, DecodeError> {
        // The old session (if any) lives on in the frames still mapped from it.
        self.decoder = None;
        self.shape = None;
        let short = |v: u32| i16::try_from(v).unwrap_or(i16::MAX);
        // SAFETY: CUVIDDECODECREATEINFO is a plain C struct; all zeros is valid (no lock, no rects).
        let mut info: CUVIDDECODECREATEINFO = unsafe { std::mem::zeroed() };
        info.ulWidth = shape.coded_width.into();
        info.ulHeight = shape.coded_height.into();
        info.ulNumDecodeSurfaces = shape.decode_surfaces.into();
        info.CodecType = cuda_codec(shape.codec);
        info.ChromaFormat = chroma::cudaVideoChromaFormat_420;
        info.ulCreationFlags = create_flags::cudaVideoCreate_PreferCUVID.into();
        info.bitDepthMinus8 = u32::from(shape.bit_depth_luma.saturating_sub(8)).into();
        info.ulMaxWidth = shape.max_width.into();
        info.ulMaxHeight = shape.max_height.into();
        info.display_area.left = short(shape.display.left);
        info.display_area.top = short(shape.display.top);
        info.display_area.right = short(shape.display.right);
        info.display_area.bottom = short(shape.display.bottom);
        info.OutputFormat = match shape.output {
            SurfaceFormat::Nv12 => surface::cudaVideoSurfaceFormat_NV12,
            SurfaceFormat::P016 => surface::cudaVideoSurfaceFormat_P016,
        };
        info.DeinterlaceMode = if self.progressive {
            deinterlace::cudaVideoDeinterlaceMode_Weave
        } else {
            deinterlace::cudaVideoDeinterlaceMode_Adaptive
        };
        let (target_width, target_height) = shape.target_size();
        info.ulTargetWidth = target_width.into();
        info.ulTargetHeight = target_height.into();
        info.ulNumOutputSurfaces = self.output_surfaces.into();
        let mut raw = std::ptr::null_mut();
        // SAFETY: `info` and `raw` are valid for the call; the session's context is current
        // (the parse call that runs this callback bound it).
        let code = unsafe { (self.lib.cuvidCreateDecoder)(&mut raw, &mut info) };
        check("cuvidCreateDecoder", code).map_err(|reason| DecodeError::Open {
            stream_id: self.stream_id,
            backend: BACKEND,
            reason,
        })?;
        self.decoder = Some(Arc::new(DecoderHandle { lib: self.lib, ctx: Arc::clone(&self.ctx), raw }));
        self.shape = Some(shape);
        Ok(shape.decode_surfaces)
    }

    fn reconfigure(&mut self, shape: DecoderShape) -> Result<u32, DecodeError> {
        let Some(decoder) = &self.decoder else { return self.create(shape) };
        let short = |v: u32| i16::try_from(v).unwrap_or(i16::MAX);
        // SAFETY: a plain C struct; all zeros is valid (no target rectangle).
        let mut info: CUVIDRECONFIGUREDECODERINFO = unsafe { std::mem::zeroed() };
        info.ulWidth = shape.coded_width;
        info.ulHeight = shape.coded_height;
        (info.ulTargetWidth, info.ulTargetHeight) = shape.target_size();
        info.ulNumDecodeSurfaces = shape.decode_surfaces;
        info.display_area.left = short(shape.display.left);
        info.display_area.top = short(shape.display.top);
        info.display_area.right = short(shape.display.right);
        info.display_area.bottom = short(shape.display.bottom);
        // SAFETY: `decoder.raw` is a live decoder; `info` is valid for the call; context current.
        let code = unsafe { (self.lib.cuvidReconfigureDecoder)(decoder.raw, &mut info) };
        match check("cuvidReconfigureDecoder", code) {
            Ok(()) => {
                self.shape = Some(shape);
                Ok(shape.decode_surfaces)
            }
            // Frames still mapped can stop a reconfiguration; a new session always works.
            Err(reason) => {
                tracing::debug!(target: "ifc::decode::nvdec", stream_id = self.stream_id, %reason, "recreating instead");
                self.create(shape)
            }
        }
    }

    fn on_decode(&mut self, pic: &mut CUVIDPICPARAMS) -> c_int {
        let Some(decoder) = self.decoder.clone() else {
            let error = self.backend_error("a picture before any sequence header".into());
            self.fail(error);
            return 0;
        };
        self.book.decoded(pic.CurrPicIdx, self.current_packet);
        // SAFETY: `pic` is the parser's picture description, valid during this callback;
        // `decoder.raw` is live and the context is current.
        let code = unsafe { (self.lib.cuvidDecodePicture)(decoder.raw, pic) };
        if let Err(reason) = check("cuvidDecodePicture", code) {
            self.book.packet_failed();
            let error = DecodeError::Bitstream {
                stream_id: self.stream_id,
                packet_index: self.current_packet,
                pts_90k: None,
                reason,
            };
            self.fail(error);
            return 0;
        }
        1
    }

    fn on_display(&mut self, info: &CUVIDPARSERDISPINFO) -> c_int {
        let shown = self.book.displayed(info.picture_index, info.timestamp);
        let (Some(decoder), Some(shape)) = (self.decoder.clone(), self.shape) else {
            let error = self.backend_error("a picture to display before any decoder".into());
            self.fail(error);
            return 0;
        };
        let Some(slot) = self.slots.acquire() else {
            self.book.stats.frames_dropped_surfaces_held += 1;
            let error = self.backend_error(format!(
                "picture {} dropped: frames hold all {} output surfaces (drop frames sooner or raise \
                 NvdecOptions::output_surfaces)",
                shown.display_index,
                self.slots.capacity()
            ));
            self.fail(error);
            return 1;
        };
        // SAFETY: a plain C struct; all zeros is valid (no raw input/output, no histogram).
        let mut proc: CUVIDPROCPARAMS = unsafe { std::mem::zeroed() };
        proc.progressive_frame = info.progressive_frame;
        proc.top_field_first = info.top_field_first;
        proc.output_stream = self.stream.cu_stream().cast();
        let (mut dev_ptr, mut pitch) = (0u64, 0u32);
        // SAFETY: the decoder is live, the picture index comes from the parser, the out
        // pointers are valid; the context is current.
        let code = unsafe {
            (self.lib.cuvidMapVideoFrame64)(decoder.raw, info.picture_index, &mut dev_ptr, &mut pitch, &mut proc)
        };
        if let Err(reason) = check("cuvidMapVideoFrame64", code) {
            self.book.packet_failed();
            let error = self.backend_error(reason);
            self.fail(error);
            return 0;
        }
        let frame = DeviceFrame::new(
            Arc::clone(&decoder),
            Arc::clone(&self.stream),
            dev_ptr,
            pitch,
            shape.display.width(),
            shape.display.height(),
            shape.output,
            slot,
        );
        // SAFETY: a plain C struct; all zeros is valid.
        let mut decode_status: CUVIDGETDECODESTATUS = unsafe { std::mem::zeroed() };
        // SAFETY: live decoder, parser's picture index, valid out pointer; context current.
        let code = unsafe { (self.lib.cuvidGetDecodeStatus)(decoder.raw, info.picture_index, &mut decode_status) };
        let picture_status = match (check("cuvidGetDecodeStatus", code), decode_status.decodeStatus) {
            (Ok(()), status::cuvidDecodeStatus_Error) => PictureStatus::Error,
            (Ok(()), status::cuvidDecodeStatus_Error_Concealed) => PictureStatus::Concealed,
            (Ok(()), status::cuvidDecodeStatus_Success) => PictureStatus::Success,
            _ => PictureStatus::Unknown,
        };
        match self.book.judge(picture_status) {
            Disposition::Drop => drop(frame), // unmaps at once
            Disposition::Deliver { corrupt } => {
                let mut frame = Frame::from_device(frame);
                frame.pts_90k = shown.pts_90k;
                frame.colour = self.colour;
                frame.stream_id = self.stream_id;
                frame.key_frame = shown.key_frame;
                frame.corrupt = corrupt;
                frame.decode_index = shown.decode_index;
                frame.display_index = shown.display_index;
                self.book.delivered();
                self.ready.push_back(frame);
            }
        }
        1
    }
}

/// The state behind the parser's `pUserData`.
///
/// # Safety
/// `user` must be the pointer the session registered (a live `CallbackState` from
/// `Box::into_raw`), and no other reference to it may exist: the parser calls back only from
/// inside `cuvidParseVideoData`, which the session calls from `&mut self` without holding one.
unsafe fn state<'a>(user: *mut c_void) -> Option<&'a mut CallbackState> {
    // SAFETY: see the function's contract.
    unsafe { user.cast::<CallbackState>().as_mut() }
}

pub(super) unsafe extern "C" fn on_sequence(user: *mut c_void, video: *mut CUVIDEOFORMAT) -> c_int {
    // SAFETY: `user` is the session's state (see `state`); `video` is the parser's, valid for
    // this call, or null (then nothing is done).
    match unsafe { (state(user), video.as_ref()) } {
        (Some(state), Some(video)) => state.on_sequence(video),
        _ => 0,
    }
}

pub(super) unsafe extern "C" fn on_decode(user: *mut c_void, pic: *mut CUVIDPICPARAMS) -> c_int {
    // SAFETY: as in `on_sequence`; the picture parameters are the parser's, valid for this call.
    match unsafe { (state(user), pic.as_mut()) } {
        (Some(state), Some(pic)) => state.on_decode(pic),
        _ => 0,
    }
}

pub(super) unsafe extern "C" fn on_display(user: *mut c_void, info: *mut CUVIDPARSERDISPINFO) -> c_int {
    // SAFETY: as in `on_sequence`. A null `info` marks the end of the stream: nothing to map.
    match unsafe { (state(user), info.as_ref()) } {
        (Some(state), Some(info)) => state.on_display(info),
        (Some(_), None) => 1,
        _ => 0,
    }
}
