//! [`Frame`]: one decoded picture, its planes where the decoder left them, and what is known
//! about it (timestamp, colour, key frame, position in decode and display order).

use std::fmt;

use super::{DecodeError, FramePixelFormat};
use crate::codec::ColourDescription;

/// A decoded picture.
///
/// A frame from libavcodec owns the decoder's reference-counted picture buffers: no sample is
/// copied on the way out of the decoder, and the buffers return to the decoder's pool when
/// the frame is dropped. Planes are read with [`Frame::plane`] (data and stride) or row by row
/// with [`Frame::plane_rows`].
pub struct Frame {
    /// Presentation time in 90 kHz ticks, as carried by the packet the picture came from.
    pub pts_90k: Option<i64>,
    /// Colour description (H.273 code points) that the decoder reports for this picture.
    pub colour: ColourDescription,
    pub stream_id: u64,
    /// An IDR/IRAP picture, or one the decoder marks as a recovery point.
    pub key_frame: bool,
    /// The decoder concealed damage in this picture, or ifc's analysis found it damaged:
    /// slices or reference pictures missing, or predicted from a damaged picture
    /// ([`Damage`](super::Damage)). Only delivered under
    /// [`ErrorPolicy::Conceal`](super::ErrorPolicy::Conceal).
    pub corrupt: bool,
    /// Index of the packet (decode order, counted from 0 per decoder) that carried the picture.
    pub decode_index: Option<u64>,
    /// Position in output (display) order, counted from 0 per decoder.
    pub display_index: u64,
    width: u32,
    height: u32,
    pix_fmt: FramePixelFormat,
    picture: Picture,
}

enum Picture {
    #[cfg(feature = "ffmpeg")]
    Libav(super::libav::LibavPicture),
    Owned(Vec<(Vec<u8>, usize)>),
    /// A mapped NVDEC surface: no host planes.
    #[cfg(feature = "cuda")]
    Device(super::DeviceFrame),
}

impl Frame {
    /// A frame over caller-owned planes (`(data, stride in bytes)` per plane), for synthetic
    /// pictures and backends that download to host memory. Each plane must hold its rows at the
    /// given stride; the last row needs no padding.
    pub fn from_planes(
        width: u32,
        height: u32,
        pix_fmt: FramePixelFormat,
        planes: Vec<(Vec<u8>, usize)>,
    ) -> Result<Self, DecodeError> {
        let invalid = |reason: String| DecodeError::InvalidPlanes { reason };
        if width == 0 || height == 0 {
            return Err(invalid(format!("size {width}x{height}")));
        }
        if planes.len() != pix_fmt.plane_count() {
            return Err(invalid(format!("{} planes for {pix_fmt:?}", planes.len())));
        }
        for (i, (data, stride)) in planes.iter().enumerate() {
            let needed = plane_len(pix_fmt, i, width, height, *stride)
                .ok_or_else(|| invalid(format!("plane {i}: stride {stride} is shorter than a row")))?;
            if data.len() < needed {
                return Err(invalid(format!("plane {i}: {} bytes, needs {needed}", data.len())));
            }
        }
        Ok(Self::with_picture(width, height, pix_fmt, Picture::Owned(planes)))
    }

    #[cfg(feature = "ffmpeg")]
    pub(super) fn from_libav(picture: super::libav::LibavPicture) -> Self {
        let (width, height, pix_fmt) = (picture.width(), picture.height(), picture.pix_fmt());
        Self::with_picture(width, height, pix_fmt, Picture::Libav(picture))
    }

    #[cfg(feature = "cuda")]
    pub(super) fn from_device(frame: super::DeviceFrame) -> Self {
        let (width, height, pix_fmt) = (frame.width(), frame.height(), frame.pix_fmt());
        Self::with_picture(width, height, pix_fmt, Picture::Device(frame))
    }

    /// The GPU surface of a frame that NVDEC left on the device, or `None` for host frames.
    #[cfg(feature = "cuda")]
    pub fn device(&self) -> Option<&super::DeviceFrame> {
        match &self.picture {
            Picture::Device(frame) => Some(frame),
            _ => None,
        }
    }

    /// The frame's NVDEC surface as the CUDA preprocessing kernel's input (with the frame's
    /// colour description), or `None` for host frames. The view borrows the frame: the surface
    /// stays mapped while it lives.
    #[cfg(feature = "cuda")]
    pub fn gpu_view(&self) -> Option<crate::gpu::DeviceFrame<'_>> {
        self.device().map(|d| d.gpu_view(self.colour))
    }

    /// The frame lives in GPU memory: it has no host planes ([`Frame::plane`] is `None`);
    /// read it on the GPU, or copy it with [`Frame::to_host`].
    pub fn is_on_device(&self) -> bool {
        #[cfg(feature = "cuda")]
        {
            matches!(self.picture, Picture::Device(_))
        }
        #[cfg(not(feature = "cuda"))]
        {
            false
        }
    }

    /// A host copy of a device frame, keeping its metadata; a host frame is returned as is.
    pub fn to_host(self) -> Result<Self, DecodeError> {
        #[cfg(feature = "cuda")]
        if let Picture::Device(device) = &self.picture {
            let mut host = device.download().map_err(|e| match e {
                DecodeError::Backend { backend, reason, .. } => {
                    DecodeError::Backend { stream_id: self.stream_id, backend, reason }
                }
                other => other,
            })?;
            host.pts_90k = self.pts_90k;
            host.colour = self.colour;
            host.stream_id = self.stream_id;
            host.key_frame = self.key_frame;
            host.corrupt = self.corrupt;
            host.decode_index = self.decode_index;
            host.display_index = self.display_index;
            return Ok(host);
        }
        Ok(self)
    }

    fn with_picture(width: u32, height: u32, pix_fmt: FramePixelFormat, picture: Picture) -> Self {
        Self {
            pts_90k: None,
            colour: ColourDescription::default(),
            stream_id: 0,
            key_frame: false,
            corrupt: false,
            decode_index: None,
            display_index: 0,
            width,
            height,
            pix_fmt,
            picture,
        }
    }

    /// Width of the picture in luma samples, after cropping.
    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn pix_fmt(&self) -> FramePixelFormat {
        self.pix_fmt
    }

    /// Plane `i` (0 = luma) and its stride in bytes. The slice starts at the first sample of the
    /// first row and holds every row; rows may be followed by padding up to the stride.
    pub fn plane(&self, i: usize) -> Option<(&[u8], usize)> {
        match &self.picture {
            #[cfg(feature = "ffmpeg")]
            Picture::Libav(p) => p.plane(i),
            Picture::Owned(planes) => planes.get(i).map(|(data, stride)| (data.as_slice(), *stride)),
            #[cfg(feature = "cuda")]
            Picture::Device(_) => None,
        }
    }

    /// The rows of plane `i`, each exactly as long as its picture data (no padding).
    pub fn plane_rows(&self, i: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let geometry = self.plane(i).and_then(|(data, stride)| {
            let row_bytes = self.pix_fmt.row_bytes(i, self.width)?;
            let rows = self.pix_fmt.rows(i, self.height)?;
            Some((data, stride, row_bytes, rows))
        });
        let (data, stride, row_bytes, rows) = geometry.unwrap_or((&[], 1, 0, 0));
        (0..rows).filter_map(move |y| data.get(y.checked_mul(stride)?..)?.get(..row_bytes))
    }
}

/// Bytes a plane spans at `stride`: every row but the last at full stride, then one row.
pub(super) fn plane_len(pix_fmt: FramePixelFormat, i: usize, width: u32, height: u32, stride: usize) -> Option<usize> {
    let row_bytes = pix_fmt.row_bytes(i, width)?;
    let rows = pix_fmt.rows(i, height)?;
    if stride < row_bytes || rows == 0 {
        return None;
    }
    (rows - 1).checked_mul(stride)?.checked_add(row_bytes)
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("stream_id", &self.stream_id)
            .field("pts_90k", &self.pts_90k)
            .field("size", &(self.width, self.height))
            .field("pix_fmt", &self.pix_fmt)
            .field("key_frame", &self.key_frame)
            .field("corrupt", &self.corrupt)
            .field("decode_index", &self.decode_index)
            .field("display_index", &self.display_index)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn owned_planes_are_checked_against_size_and_stride() {
        let ok = Frame::from_planes(
            5,
            3,
            FramePixelFormat::Yuv420p,
            vec![(vec![0; 8 * 2 + 5], 8), (vec![0; 4 + 3], 4), (vec![0; 7], 4)],
        );
        assert!(ok.is_ok());
        let short_stride = Frame::from_planes(5, 3, FramePixelFormat::Gray8, vec![(vec![0; 64], 4)]);
        assert!(matches!(short_stride, Err(DecodeError::InvalidPlanes { .. })));
        let short_data = Frame::from_planes(5, 3, FramePixelFormat::Gray8, vec![(vec![0; 20], 8)]);
        assert!(matches!(short_data, Err(DecodeError::InvalidPlanes { .. })));
        let missing_plane = Frame::from_planes(4, 4, FramePixelFormat::Nv12, vec![(vec![0; 16], 4)]);
        assert!(matches!(missing_plane, Err(DecodeError::InvalidPlanes { .. })));
    }

    #[test]
    fn plane_rows_skip_the_padding() {
        let luma: Vec<u8> = (0..24).collect();
        let frame = Frame::from_planes(5, 3, FramePixelFormat::Gray8, vec![(luma, 8)]).unwrap();
        let rows: Vec<&[u8]> = frame.plane_rows(0).collect();
        assert_eq!(rows, [&[0, 1, 2, 3, 4][..], &[8, 9, 10, 11, 12], &[16, 17, 18, 19, 20]]);
        assert_eq!(frame.plane_rows(1).count(), 0, "gray has no chroma plane");
    }
}
