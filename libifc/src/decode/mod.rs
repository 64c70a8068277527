//! Decoding: encoded access units in, decoded [`Frame`]s out, once per stream.
//!
//! - [`Decoder`]: the backend-neutral push/pull contract; [`open_decoder`] picks a backend
//!   (libavcodec on the CPU today; NVDEC later) from a [`BackendPreference`].
//! - [`DecodeWorker`]: runs a blocking decoder on its own thread. Sending packets never blocks
//!   (recording must never wait for inference); decoded frames go through a [`Sampler`] into a
//!   bounded queue that drops the oldest frame when inference falls behind.
//! - [`Sampler`]: which frames go on to inference (every n-th, a target rate by pts, key
//!   frames, or on scene change by a [`LumaThumbnail`]).
//!
//! # The run loop
//! ```text
//! push(packet) ─▶ decoder ─▶ pull() → Some(frame) … None ─▶ push(next packet) … flush() ─▶ pull() until None
//! ```
//! Frames come out in display order, possibly several packets after their own (B-frames,
//! frame threading). [`Decoder::flush`] ends the stream: every frame still held comes out.
//!
//! # Errors and recovery
//! A damaged, truncated or missing access unit is counted in [`DecodeStats`] and reported as
//! [`DecodeError::Bitstream`] (the backend noticed) or [`DecodeError::Damaged`] (ifc's own
//! analysis of the slice headers noticed: slices or reference pictures missing); the decoder
//! stays usable. A picture predicted from a damaged or missing one is damaged too, until the
//! next key frame. Under the default [`ErrorPolicy::SkipUntilKeyframe`], damaged pictures are
//! dropped and non-key packets are skipped (and counted) until the next key packet, where the
//! decoder restarts cleanly: a damaged access unit costs at most the frames up to the next key
//! frame. Under [`ErrorPolicy::Conceal`] they are delivered with [`Frame::corrupt`] set.

#[cfg_attr(not(feature = "ffmpeg"), allow(dead_code))]
mod damage;
mod error;
mod frame;
pub(crate) mod frame_queue;
#[cfg_attr(not(any(feature = "ffmpeg", feature = "cuda")), allow(dead_code))]
mod keyframe;
#[cfg(feature = "ffmpeg")]
mod libav;
mod nvdec;
mod nvdec_options;
mod pixel_format;
mod sampler;
mod thumbnail;
mod view;
mod worker;

pub use damage::Damage;
pub use error::DecodeError;
pub use frame::Frame;
pub use frame_queue::QueuePolicy;
#[cfg(feature = "cuda")]
pub use nvdec::DeviceFrame;
/// For [`crate::gpu_path`]'s probe: the NVDEC library and its caps.
#[cfg(feature = "cuda")]
pub(crate) mod nvdec_probe {
    pub(crate) use super::nvdec::caps::DecoderCaps;

    /// `cuvidGetDecoderCaps` for a codec and bit depth; a context must be current.
    pub(crate) fn decoder_caps(codec: crate::codec::Codec, bit_depth: u8) -> Result<DecoderCaps, String> {
        let lib = super::nvdec::library::nvcuvid()?;
        super::nvdec::caps::decoder_caps(lib, codec, bit_depth)
    }
}

/// Whether `libnvcuvid.so.1` loads (loaded once per process, kept).
#[cfg(feature = "cuda")]
pub(crate) fn nvdec_library() -> Result<(), String> {
    nvdec::library::nvcuvid().map(|_| ())
}
pub use nvdec_options::NvdecOptions;
pub use pixel_format::FramePixelFormat;
pub use sampler::{FrameMeta, InvalidSamplingRule, Sampler, SamplingRule};
pub use thumbnail::{LumaThumbnail, THUMBNAIL_HEIGHT, THUMBNAIL_WIDTH};
pub use worker::{DecodeWorker, FrameReceiver, PacketSender, WorkerStats};

use bytes::Bytes;
use serde::Serialize;

use crate::codec::{Codec, DecoderConfig, VideoParams};

/// Which kind of decoder [`open_decoder`] should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendPreference {
    /// Hardware when present, else software.
    #[default]
    Auto,
    PreferSoftware,
    /// Hardware or an error: no silent fallback to the CPU.
    PreferHardware,
}

/// What to do with damaged pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorPolicy {
    /// Drop damaged pictures (concealed by the backend, or found damaged by ifc's analysis)
    /// and skip non-key packets until the next key packet. Only damage that is reported or
    /// found can be acted on; see the backend's notes.
    #[default]
    SkipUntilKeyframe,
    /// Deliver every picture the backend produces; damaged ones carry [`Frame::corrupt`].
    Conceal,
}

/// How to open a decoder.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecoderOptions {
    pub codec: Codec,
    /// The track's avcC/hvcC record: packets are then length-prefixed NAL units (MP4 samples).
    /// `None`: packets are Annex B with in-band parameter sets.
    pub config: Option<DecoderConfig>,
    /// Decoder threads: 0 lets the backend choose; 1 keeps one stream to one core, which is
    /// fairest when many streams share a machine; more adds frame threading, which also adds
    /// about one frame of latency per thread.
    pub threads: usize,
    pub backend: BackendPreference,
    /// Carried into every [`Frame`] and error, so that many streams can share one consumer.
    pub stream_id: u64,
    pub error_policy: ErrorPolicy,
    /// How the NVDEC backend sizes and paces its session (ignored by libavcodec).
    pub nvdec: NvdecOptions,
    /// The largest picture (coded width × height) a stream may declare before anything is
    /// allocated for it: checked on the configuration at open and on every in-band SPS.
    /// Default [`DEFAULT_MAX_PICTURE_PIXELS`] (8192 × 4352, 8K); each side is also at most
    /// [`MAX_PICTURE_SIDE`].
    pub max_picture_pixels: u64,
}

/// 8192 × 4352: 8K (DCI 4K × 2 each way) with H.264's 16-line rounding.
pub const DEFAULT_MAX_PICTURE_PIXELS: u64 = 8192 * 4352;
/// The longest side a picture may have, whatever the pixel limit (H.264/H.265 level 6.2
/// allows 8192 × 4320; twice that per side leaves room for odd shapes).
pub const MAX_PICTURE_SIDE: u32 = 16_384;

impl DecoderOptions {
    /// Annex B input, one thread, automatic backend, skip-until-keyframe recovery.
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            config: None,
            threads: 1,
            backend: BackendPreference::Auto,
            stream_id: 0,
            error_policy: ErrorPolicy::default(),
            nvdec: NvdecOptions::default(),
            max_picture_pixels: DEFAULT_MAX_PICTURE_PIXELS,
        }
    }

    #[must_use]
    pub fn with_max_picture_pixels(mut self, max_picture_pixels: u64) -> Self {
        self.max_picture_pixels = max_picture_pixels;
        self
    }

    /// [`DecodeError::PictureTooLarge`] when `params` declare more than the limits allow.
    pub fn check_picture_size(&self, params: &VideoParams) -> Result<(), DecodeError> {
        check_picture_size(self.stream_id, self.max_picture_pixels, params)
    }

    /// Length-prefixed input described by `config` (its codec is the decoder's).
    pub fn from_config(config: DecoderConfig) -> Self {
        let codec = config.codec;
        Self { config: Some(config), ..Self::new(codec) }
    }

    #[must_use]
    pub fn with_config(mut self, config: DecoderConfig) -> Self {
        self.config = Some(config);
        self
    }

    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    #[must_use]
    pub fn with_backend(mut self, backend: BackendPreference) -> Self {
        self.backend = backend;
        self
    }

    #[must_use]
    pub fn with_stream_id(mut self, stream_id: u64) -> Self {
        self.stream_id = stream_id;
        self
    }

    #[must_use]
    pub fn with_error_policy(mut self, error_policy: ErrorPolicy) -> Self {
        self.error_policy = error_policy;
        self
    }

    #[must_use]
    pub fn with_nvdec(mut self, nvdec: NvdecOptions) -> Self {
        self.nvdec = nvdec;
        self
    }

    fn validate(&self) -> Result<(), DecodeError> {
        match &self.config {
            Some(config) if config.codec != self.codec => Err(DecodeError::InvalidOptions {
                stream_id: self.stream_id,
                reason: format!("a {:?} decoder configuration for a {:?} decoder", config.codec, self.codec),
            }),
            Some(config) if !matches!(config.nal_length_size, 1 | 2 | 4) => Err(DecodeError::InvalidOptions {
                stream_id: self.stream_id,
                reason: format!("NAL length size {} (must be 1, 2 or 4)", config.nal_length_size),
            }),
            Some(config) => self.check_picture_size(&config.params),
            None => Ok(()),
        }
    }
}

/// See [`DecoderOptions::check_picture_size`].
pub(crate) fn check_picture_size(stream_id: u64, max_pixels: u64, params: &VideoParams) -> Result<(), DecodeError> {
    let (width, height) = (params.coded_width.max(params.width), params.coded_height.max(params.height));
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels || width > MAX_PICTURE_SIDE || height > MAX_PICTURE_SIDE {
        return Err(DecodeError::PictureTooLarge { stream_id, width, height, max_pixels, max_side: MAX_PICTURE_SIDE });
    }
    Ok(())
}

/// One encoded access unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPacket {
    /// Annex B, or length-prefixed when the decoder was opened with a [`DecoderConfig`].
    pub data: Bytes,
    pub pts_90k: Option<i64>,
    pub dts_90k: Option<i64>,
    /// An IDR/IRAP access unit. Packets not marked are also checked for random-access slices
    /// when the decoder waits for a key frame, so a missing flag costs nothing but time.
    pub is_key: bool,
}

impl EncodedPacket {
    pub fn new(data: Bytes, pts_90k: Option<i64>, is_key: bool) -> Self {
        Self { data, pts_90k, dts_90k: None, is_key }
    }
}

/// Counts kept by each decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct DecodeStats {
    pub packets_in: u64,
    pub frames_out: u64,
    /// Packets or pictures the backend reported as damaged, and packets ifc's analysis found
    /// damaged ([`DecodeError::Damaged`]: slices or reference pictures missing).
    pub decode_errors: u64,
    /// Pictures with damage the backend concealed and flagged (dropped under
    /// [`ErrorPolicy::SkipUntilKeyframe`]).
    pub concealed_or_corrupt_frames: u64,
    /// Pictures the backend did not flag that ifc's analysis found damaged: slices missing, a
    /// reference picture missing, or predicted from a damaged picture (dropped under
    /// [`ErrorPolicy::SkipUntilKeyframe`], flagged [`Frame::corrupt`] under
    /// [`ErrorPolicy::Conceal`]).
    pub damaged_frames: u64,
    /// Non-key packets skipped while waiting for a key frame (after an error, at the start).
    pub skipped_until_keyframe: u64,
    /// Pictures a hardware decoder dropped because frames still held all of its output
    /// surfaces (NVDEC: [`NvdecOptions::output_surfaces`]).
    pub frames_dropped_surfaces_held: u64,
}

/// A video decoder: push access units in decode order, pull frames in display order.
pub trait Decoder: Send {
    /// Decodes one access unit. An error reports damage in or around this packet; the decoder
    /// stays usable and the frames it could decode are still pulled.
    fn push(&mut self, packet: EncodedPacket) -> Result<(), DecodeError>;
    /// The next decoded frame, if one is ready.
    fn pull(&mut self) -> Result<Option<Frame>, DecodeError>;
    /// Ends the stream: every frame still held becomes ready for [`Decoder::pull`]. Pushing
    /// again afterwards starts a new stream, which must begin at a key packet.
    fn flush(&mut self) -> Result<(), DecodeError>;
    fn stats(&self) -> DecodeStats;
    /// `libavcodec` or `nvdec`.
    fn backend_name(&self) -> &'static str;
}

/// Opens a decoder on the backend that `options.backend` asks for.
///
/// `Auto` takes NVDEC when this machine's path ([`crate::gpu_path::auto_path`], probed and
/// logged once per process) is NVDEC + CUDA, and libavcodec otherwise, or when NVDEC fails to
/// open (logged). `PreferHardware` never falls back: without NVDEC (not compiled in, no
/// driver, no GPU, no `libnvcuvid.so.1`) it is [`DecodeError::BackendUnavailable`] naming
/// `nvdec` and the reason.
pub fn open_decoder(options: DecoderOptions) -> Result<Box<dyn Decoder>, DecodeError> {
    options.validate()?;
    match options.backend {
        BackendPreference::PreferSoftware => open_software(options),
        BackendPreference::PreferHardware => open_hardware(options),
        BackendPreference::Auto => {
            if crate::gpu_path::auto_path().path == crate::gpu_path::GpuPath::NvdecCuda {
                match open_hardware(options.clone()) {
                    Ok(decoder) => return Ok(decoder),
                    Err(error) => tracing::warn!(
                        target: "ifc::decode",
                        stream_id = options.stream_id,
                        %error,
                        "NVDEC did not open; decoding this stream on the CPU"
                    ),
                }
            }
            open_software(options)
        }
    }
}

#[cfg(feature = "cuda")]
fn open_hardware(options: DecoderOptions) -> Result<Box<dyn Decoder>, DecodeError> {
    Ok(Box::new(nvdec::NvdecDecoder::open(options)?))
}

#[cfg(not(feature = "cuda"))]
fn open_hardware(_options: DecoderOptions) -> Result<Box<dyn Decoder>, DecodeError> {
    Err(DecodeError::BackendUnavailable {
        backend: "nvdec",
        reason: "no hardware decoder is compiled into this build (libifc feature `cuda`)".into(),
    })
}

#[cfg(feature = "ffmpeg")]
fn open_software(options: DecoderOptions) -> Result<Box<dyn Decoder>, DecodeError> {
    Ok(Box::new(libav::LibavDecoder::open(options)?))
}

#[cfg(not(feature = "ffmpeg"))]
fn open_software(_options: DecoderOptions) -> Result<Box<dyn Decoder>, DecodeError> {
    Err(DecodeError::BackendUnavailable { backend: "libavcodec", reason: "built without the `ffmpeg` feature".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_decoders_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Frame>();
        send::<Box<dyn Decoder>>();
        send::<PacketSender>();
        send::<FrameReceiver>();
    }

    #[test]
    fn prefer_hardware_without_a_hardware_backend_is_a_typed_error() {
        let options = DecoderOptions::new(Codec::H264).with_backend(BackendPreference::PreferHardware);
        match open_decoder(options) {
            Err(DecodeError::BackendUnavailable { backend, .. }) => assert_eq!(backend, "nvdec"),
            other => panic!("expected BackendUnavailable, got {:?}", other.map(|d| d.backend_name())),
        }
    }

    #[test]
    fn auto_falls_back_to_software() {
        let opened = open_decoder(DecoderOptions::new(Codec::H265));
        if cfg!(feature = "ffmpeg") {
            assert_eq!(opened.map(|d| d.backend_name()).ok(), Some("libavcodec"));
        } else {
            assert!(matches!(opened, Err(DecodeError::BackendUnavailable { backend: "libavcodec", .. })));
        }
    }

    #[test]
    fn a_config_of_another_codec_is_refused() {
        let config = DecoderConfig {
            codec: Codec::H265,
            record: Bytes::new(),
            nal_length_size: 4,
            parameter_sets: Vec::new(),
            params: crate::codec::VideoParams {
                codec: Codec::H265,
                profile_idc: 1,
                profile: "Main".into(),
                level_idc: 60,
                high_tier: false,
                coded_width: 64,
                coded_height: 64,
                width: 64,
                height: 64,
                bit_depth_luma: 8,
                bit_depth_chroma: 8,
                chroma_format: crate::codec::ChromaFormat::Yuv420,
                frame_rate: None,
                colour: Default::default(),
                sample_aspect_ratio: (1, 1),
                max_num_reorder_frames: None,
                codec_string: String::new(),
            },
        };
        let options = DecoderOptions::new(Codec::H264).with_config(config);
        assert!(matches!(open_decoder(options), Err(DecodeError::InvalidOptions { .. })));
    }
}
