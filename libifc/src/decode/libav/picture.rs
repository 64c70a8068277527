//! [`LibavPicture`]: a decoded `AVFrame` kept as it is, with its planes checked once against
//! the buffers the frame holds, so that reading them later needs no further trust.

#![allow(unsafe_code)]

use ffmpeg::format::Pixel;
use ffmpeg::frame::Video;
use ffmpeg_next as ffmpeg;

use crate::codec::ColourDescription;
use crate::decode::frame::plane_len;
use crate::decode::FramePixelFormat;

/// Where plane `i` is: its length in bytes from `AVFrame.data[i]`, and its stride.
#[derive(Debug, Clone, Copy, Default)]
struct PlaneSpan {
    len: usize,
    stride: usize,
}

pub(in crate::decode) struct LibavPicture {
    video: Video,
    pix_fmt: FramePixelFormat,
    full_range: bool,
    planes: [PlaneSpan; 4],
}

/// ifc's layout for a libavcodec pixel format, and whether the format itself says full range
/// (the deprecated `yuvj…` formats).
fn pixel_format(pixel: Pixel) -> Option<(FramePixelFormat, bool)> {
    Some(match pixel {
        Pixel::YUV420P => (FramePixelFormat::Yuv420p, false),
        Pixel::YUVJ420P => (FramePixelFormat::Yuv420p, true),
        Pixel::YUV422P => (FramePixelFormat::Yuv422p, false),
        Pixel::YUVJ422P => (FramePixelFormat::Yuv422p, true),
        Pixel::YUV444P => (FramePixelFormat::Yuv444p, false),
        Pixel::YUVJ444P => (FramePixelFormat::Yuv444p, true),
        Pixel::YUV420P10LE => (FramePixelFormat::Yuv420p10le, false),
        Pixel::YUV422P10LE => (FramePixelFormat::Yuv422p10le, false),
        Pixel::YUV444P10LE => (FramePixelFormat::Yuv444p10le, false),
        Pixel::GRAY8 => (FramePixelFormat::Gray8, false),
        Pixel::GRAY10LE => (FramePixelFormat::Gray10le, false),
        Pixel::NV12 => (FramePixelFormat::Nv12, false),
        Pixel::P010LE => (FramePixelFormat::P010le, false),
        _ => return None,
    })
}

impl LibavPicture {
    /// Wraps a decoded frame; an error names what does not fit (format, size, planes).
    pub(super) fn new(video: Video) -> Result<Self, String> {
        let format = video.format();
        let (pix_fmt, full_range) =
            pixel_format(format).ok_or_else(|| format!("pixel format {format:?} is not supported"))?;
        let (width, height) = (video.width(), video.height());
        if width == 0 || height == 0 {
            return Err(format!("picture size {width}x{height}"));
        }
        let mut planes = [PlaneSpan::default(); 4];
        for (i, span) in planes.iter_mut().enumerate().take(pix_fmt.plane_count()) {
            *span = checked_span(&video, pix_fmt, i)
                .ok_or_else(|| format!("plane {i} lies outside the frame's buffers"))?;
        }
        Ok(Self { video, pix_fmt, full_range, planes })
    }

    pub(in crate::decode) fn width(&self) -> u32 {
        self.video.width()
    }

    pub(in crate::decode) fn height(&self) -> u32 {
        self.video.height()
    }

    pub(in crate::decode) fn pix_fmt(&self) -> FramePixelFormat {
        self.pix_fmt
    }

    pub(in crate::decode) fn plane(&self, i: usize) -> Option<(&[u8], usize)> {
        if i >= self.pix_fmt.plane_count() {
            return None;
        }
        let span = self.planes.get(i)?;
        // SAFETY: `new` checked that `data[i]` is non-null and that `span.len` bytes from it lie
        // inside one of the reference-counted buffers this frame holds (`AVFrame.buf`). The
        // frame is owned by `self` and never mutated after decoding, so the buffers stay alive
        // and unchanged for as long as the returned borrow of `self`.
        let data = unsafe { std::slice::from_raw_parts((*self.video.as_ptr()).data[i], span.len) };
        Some((data, span.stride))
    }

    /// The colour description as H.273 code points: libavutil's `AVColorPrimaries`,
    /// `AVColorTransferCharacteristic` and `AVColorSpace` values are those code points.
    pub(super) fn colour(&self) -> ColourDescription {
        let code = |value: i32| u8::try_from(value).unwrap_or(2);
        ColourDescription {
            primaries: code(ffmpeg::ffi::AVColorPrimaries::from(self.video.color_primaries()) as i32),
            transfer: code(
                ffmpeg::ffi::AVColorTransferCharacteristic::from(self.video.color_transfer_characteristic()) as i32,
            ),
            matrix: code(ffmpeg::ffi::AVColorSpace::from(self.video.color_space()) as i32),
            full_range: self.full_range || self.video.color_range() == ffmpeg::color::Range::JPEG,
        }
    }

    pub(super) fn video(&self) -> &Video {
        &self.video
    }
}

/// The span of plane `i`: `stride × rows` when the plane's buffer holds that much (so that
/// callers may step through it a whole stride at a time), else exactly up to the end of the
/// last row; `None` when the plane is missing, has a negative stride, or leaves its buffers.
fn checked_span(video: &Video, pix_fmt: FramePixelFormat, i: usize) -> Option<PlaneSpan> {
    // SAFETY: `video` owns a valid AVFrame; reading its fields has no side effect.
    let frame = unsafe { &*video.as_ptr() };
    let start = *frame.data.get(i)? as usize;
    let stride = usize::try_from(*frame.linesize.get(i)?).ok()?;
    if start == 0 || stride == 0 {
        return None;
    }
    let exact = plane_len(pix_fmt, i, video.width(), video.height(), stride)?;
    let full = pix_fmt.rows(i, video.height())?.checked_mul(stride)?;
    let buffers = frame.buf.iter().filter(|b| !b.is_null()).map(|&b| {
        // SAFETY: non-null entries of `AVFrame.buf` point to valid AVBufferRefs.
        let buffer = unsafe { &*b };
        (buffer.data as usize, (buffer.data as usize).saturating_add(buffer.size))
    });
    let mut best = None;
    for (buf_start, buf_end) in buffers {
        if start < buf_start {
            continue;
        }
        if start.checked_add(full).is_some_and(|end| end <= buf_end) {
            return Some(PlaneSpan { len: full, stride });
        }
        if start.checked_add(exact).is_some_and(|end| end <= buf_end) {
            best = Some(PlaneSpan { len: exact, stride });
        }
    }
    best
}
