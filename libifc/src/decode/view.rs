//! A decoded [`Frame`] as the preprocessing input ([`FrameView`]): borrows the decoder's
//! planes, copies nothing.

use super::{Frame, FramePixelFormat};
use crate::preprocess::{FrameView, PixelFormat, Plane, PreprocessError};

impl Frame {
    /// Borrows the planes for preprocessing. Formats preprocessing does not take (4:2:2,
    /// 4:4:4, monochrome) are an [`PreprocessError::UnsupportedFormat`].
    pub fn view(&self) -> Result<FrameView<'_>, PreprocessError> {
        let format = match self.pix_fmt() {
            FramePixelFormat::Yuv420p => PixelFormat::Yuv420p,
            FramePixelFormat::Yuv420p10le => PixelFormat::Yuv420p10le,
            FramePixelFormat::Nv12 => PixelFormat::Nv12,
            FramePixelFormat::P010le => PixelFormat::P010le,
            other => return Err(PreprocessError::UnsupportedFormat(other.ffmpeg_name(false))),
        };
        let plane = |i: usize| {
            self.plane(i)
                .map_or(Plane { data: &[], stride_bytes: 0 }, |(data, stride_bytes)| Plane { data, stride_bytes })
        };
        Ok(FrameView {
            format,
            width: self.width(),
            height: self.height(),
            planes: [plane(0), plane(1), plane(2)],
            colour: self.colour,
        })
    }
}
