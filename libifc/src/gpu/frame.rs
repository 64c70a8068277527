//! Frames in device memory: [`DeviceFrame`] (a view of planes: a mapped NVDEC surface or an
//! [`UploadedFrame`]) and [`UploadedFrame`] (a CPU-decoded frame copied once to the device,
//! for machines with a GPU but no NVDEC library).
#![allow(unsafe_code)]

use std::marker::PhantomData;

use crate::codec::ColourDescription;
use crate::preprocess::{plane_shapes, FrameView, PixelFormat, PreprocessError};

use super::buffer::DeviceBuffer;
use super::device::Device;
use super::error::GpuError;

/// One plane in device memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DevicePlane {
    pub ptr: u64,
    pub stride_bytes: usize,
    /// Readable bytes from `ptr` (at least `(rows − 1) × stride + row bytes`).
    pub len_bytes: usize,
}

/// A 4:2:0 picture in device memory, borrowed for `'a`. NVDEC's NV12 is [`PixelFormat::Nv12`];
/// its P016 for 10-bit streams stores the sample in the high bits like
/// [`PixelFormat::P010le`], which is how it is described here.
#[derive(Debug, Clone, Copy)]
pub struct DeviceFrame<'a> {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Y, U, V (planar) or Y, UV (interleaved; the third is unused).
    pub planes: [DevicePlane; 3],
    pub colour: ColourDescription,
    /// The device the planes live on.
    pub device_ordinal: usize,
    _memory: PhantomData<&'a ()>,
}

impl<'a> DeviceFrame<'a> {
    /// A frame over planes the caller owns (e.g. a mapped NVDEC surface).
    ///
    /// # Safety
    /// Every used plane's `ptr..ptr + len_bytes` must be device memory of device
    /// `device_ordinal`, readable and unchanged for `'a` (until the kernels queued on it have
    /// finished).
    pub unsafe fn from_raw(
        format: PixelFormat,
        width: u32,
        height: u32,
        planes: [DevicePlane; 3],
        colour: ColourDescription,
        device_ordinal: usize,
    ) -> Self {
        Self { format, width, height, planes, colour, device_ordinal, _memory: PhantomData }
    }

    /// The same size and plane checks as [`FrameView`]'s, so the kernel reads only inside.
    pub(crate) fn validate(&self) -> Result<(), PreprocessError> {
        let (width, height) = (self.width, self.height);
        if width == 0 || height == 0 {
            return Err(PreprocessError::EmptyFrame { width, height });
        }
        if width % 2 != 0 || height % 2 != 0 {
            return Err(PreprocessError::OddSize { format: self.format, width, height });
        }
        let shapes = plane_shapes(self.format, width, height);
        for (plane, &(row_bytes, rows)) in shapes.iter().enumerate().take(self.format.plane_count()) {
            let DevicePlane { len_bytes, stride_bytes, .. } = self.planes[plane];
            if stride_bytes < row_bytes {
                return Err(PreprocessError::StrideTooSmall { plane, stride_bytes, row_bytes });
            }
            let needed = (rows - 1).checked_mul(stride_bytes).and_then(|n| n.checked_add(row_bytes));
            if needed.is_none_or(|needed| len_bytes < needed) {
                return Err(PreprocessError::PlaneTooSmall { plane, len_bytes, rows, row_bytes, stride_bytes });
            }
        }
        Ok(())
    }
}

/// A CPU frame copied to the device in one host→device copy, planes packed without padding.
#[derive(Debug)]
pub struct UploadedFrame {
    buffer: DeviceBuffer,
    format: PixelFormat,
    width: u32,
    height: u32,
    colour: ColourDescription,
    /// `(offset, stride, len)` of each plane in `buffer`.
    planes: [(usize, usize, usize); 3],
}

impl UploadedFrame {
    pub fn upload(device: &Device, frame: &FrameView<'_>) -> Result<Self, GpuError> {
        frame.validate()?;
        let shapes = plane_shapes(frame.format, frame.width, frame.height);
        let mut staging = Vec::with_capacity(shapes.iter().map(|(row, rows)| row * rows).sum());
        let mut planes = [(0, 0, 0); 3];
        for (index, &(row_bytes, rows)) in shapes.iter().enumerate().take(frame.format.plane_count()) {
            let plane = frame.planes[index];
            let offset = staging.len();
            for r in 0..rows {
                let start = r * plane.stride_bytes;
                // In range: validate() checked every row of every used plane.
                staging.extend_from_slice(plane.data.get(start..start + row_bytes).unwrap_or_default());
            }
            planes[index] = (offset, row_bytes, staging.len() - offset);
        }
        let mut buffer = DeviceBuffer::alloc(device, staging.len())?;
        buffer.copy_from_host(0, &staging)?;
        Ok(Self {
            buffer,
            format: frame.format,
            width: frame.width,
            height: frame.height,
            colour: frame.colour,
            planes,
        })
    }

    pub fn view(&self) -> DeviceFrame<'_> {
        let base = self.buffer.device_ptr();
        let planes = self.planes.map(|(offset, stride_bytes, len_bytes)| DevicePlane {
            ptr: base + offset as u64,
            stride_bytes,
            len_bytes,
        });
        // SAFETY: the planes lie inside `buffer` (packed by `upload`), which `self` owns and
        // the returned frame borrows.
        unsafe {
            DeviceFrame::from_raw(
                self.format,
                self.width,
                self.height,
                planes,
                self.colour,
                self.buffer.device_ordinal(),
            )
        }
    }

    /// Bytes on the device.
    pub fn len_bytes(&self) -> usize {
        self.buffer.len_bytes()
    }
}
