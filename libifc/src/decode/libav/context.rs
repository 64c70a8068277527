//! Opening a libavcodec decoder: the codec, extradata from the decoder configuration record,
//! threads, and libav's global log level.

#![allow(unsafe_code)]

use std::sync::Once;

use ffmpeg::ffi;
use ffmpeg_next as ffmpeg;

use crate::codec::Codec;
use crate::decode::{DecodeError, DecoderOptions};

pub(super) const BACKEND: &str = "libavcodec";

/// libavcodec logs concealment at `error` level, once per damaged macroblock row; a library
/// must not print, so only fatal messages stay. Global to the process, set once, and never
/// made more verbose than the application set it.
pub(super) fn quiet_libav_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: av_log_get_level/av_log_set_level read and write one global int.
        unsafe {
            if ffi::av_log_get_level() > ffi::AV_LOG_FATAL {
                ffi::av_log_set_level(ffi::AV_LOG_FATAL);
            }
        }
    });
}

/// The most decoding threads asked of libavcodec (its own limit for frame threads is lower).
const MAX_THREADS: usize = 64;

pub(super) fn open(options: &DecoderOptions) -> Result<ffmpeg::decoder::Video, DecodeError> {
    let stream_id = options.stream_id;
    let open_error = |reason: String| DecodeError::Open { stream_id, backend: BACKEND, reason };
    let id = match options.codec {
        Codec::H264 => ffmpeg::codec::Id::H264,
        Codec::H265 => ffmpeg::codec::Id::HEVC,
    };
    let codec = ffmpeg::decoder::find(id).ok_or_else(|| DecodeError::BackendUnavailable {
        backend: BACKEND,
        reason: format!("this FFmpeg has no {} decoder", options.codec.ffmpeg_name()),
    })?;
    let mut context = ffmpeg::codec::Context::new_with_codec(codec);
    // SAFETY: a context fresh from avcodec_alloc_context3, not yet opened, owned here.
    let raw = unsafe { context.as_mut_ptr() };
    if raw.is_null() {
        return Err(open_error("out of memory".into()));
    }
    if let Some(config) = &options.config {
        set_extradata(raw, &config.record).map_err(open_error)?;
    }
    let threads = options.threads.min(MAX_THREADS) as i32;
    // SAFETY: `raw` is a valid, unopened context (checked above); these are plain fields that
    // avcodec_open2 reads. Frame and slice threading both allowed; libavcodec picks frame
    // threading for H.264/H.265 when `thread_count` is above 1, and 0 means "auto".
    unsafe {
        (*raw).thread_count = threads;
        (*raw).thread_type = ffi::FF_THREAD_FRAME | ffi::FF_THREAD_SLICE;
        (*raw).pkt_timebase = ffi::AVRational { num: 1, den: 90_000 };
    }
    context.decoder().open_as(codec).and_then(|opened| opened.video()).map_err(|e| open_error(e.to_string()))
}

/// Copies the avcC/hvcC record into `extradata`, which libavcodec frees with the context and
/// reads with `AV_INPUT_BUFFER_PADDING_SIZE` zero bytes past its end.
fn set_extradata(raw: *mut ffi::AVCodecContext, record: &[u8]) -> Result<(), String> {
    let padding = ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize;
    let size = i32::try_from(record.len())
        .ok()
        .filter(|&n| n < i32::MAX - padding as i32)
        .ok_or_else(|| format!("decoder configuration record of {} bytes", record.len()))?;
    // SAFETY: av_mallocz returns zeroed memory of the requested size or null (checked);
    // the copy writes `record.len()` bytes into a buffer of `record.len() + padding` bytes;
    // `raw` is a valid unopened context whose extradata is still null, and the context takes
    // ownership of the buffer (avcodec_free_context frees it with av_free).
    unsafe {
        let buffer = ffi::av_mallocz(record.len() + padding).cast::<u8>();
        if buffer.is_null() {
            return Err("out of memory".into());
        }
        std::ptr::copy_nonoverlapping(record.as_ptr(), buffer, record.len());
        (*raw).extradata = buffer;
        (*raw).extradata_size = size;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_a_decoder_silences_libav_below_fatal() {
        open(&DecoderOptions::new(Codec::H264)).expect("opens");
        quiet_libav_logging();
        let level = ffmpeg::log::get_level().map(i32::from);
        assert!(level.is_ok_and(|l| l <= ffi::AV_LOG_FATAL), "{level:?}");
    }
}
