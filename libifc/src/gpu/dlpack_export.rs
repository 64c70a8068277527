//! DLPack views of device buffers (for Python and torch): the model-input batch a
//! [`super::GpuPreprocessor`] wrote, as a `kDLCUDA` tensor that keeps the buffer alive.
#![allow(unsafe_code)]

use std::sync::Arc;

use crate::dlpack::{DLDataType, DLDevice, DlpackError, DlpackTensor, DL_CUDA};
use crate::preprocess::{DType, Layout, PreprocessSpec};

use super::buffer::DeviceBuffer;

/// Element type and shape of a batch of `batch` model inputs: `[N, 3, H, W]` (NCHW) or
/// `[N, H, W, 3]` (NHWC).
pub fn model_input_layout(spec: &PreprocessSpec, batch: usize) -> (DLDataType, Vec<i64>) {
    let dtype = match spec.dtype {
        DType::F32 => DLDataType::F32,
        DType::F16 => DLDataType::F16,
        DType::U8 => DLDataType::U8,
    };
    let (n, h, w) = (batch as i64, i64::from(spec.out_height), i64::from(spec.out_width));
    let shape = match spec.layout {
        Layout::Nchw => vec![n, 3, h, w],
        Layout::Nhwc => vec![n, h, w, 3],
    };
    (dtype, shape)
}

/// The first `batch` images of `buffer` as a compact CUDA tensor on the buffer's device.
/// The tensor holds a reference to the buffer until its consumer calls the deleter.
pub fn dlpack_batch(
    buffer: Arc<DeviceBuffer>,
    spec: &PreprocessSpec,
    batch: usize,
) -> Result<DlpackTensor, DlpackError> {
    let (dtype, shape) = model_input_layout(spec, batch);
    let needed = crate::preprocess::output_len_bytes(spec, batch);
    if needed > buffer.len_bytes() {
        return Err(DlpackError::OutOfBounds { needed_bytes: needed, len_bytes: buffer.len_bytes() });
    }
    let device = DLDevice { device_type: DL_CUDA, device_id: buffer.device_ordinal() as i32 };
    let data = buffer.device_ptr() as *mut std::ffi::c_void;
    // SAFETY: the tensor reaches `needed` bytes from the buffer's base (checked above), and
    // the Arc it owns keeps the allocation alive until the deleter drops it.
    unsafe { DlpackTensor::new(Box::new(buffer), data, 0, device, dtype, shape, None) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_and_element_types_follow_the_spec() {
        let spec = PreprocessSpec::default().with_output_size(640, 384).with_dtype(DType::F16);
        assert_eq!(model_input_layout(&spec, 4), (DLDataType::F16, vec![4, 3, 384, 640]));
        let spec = spec.with_layout(Layout::Nhwc).with_dtype(DType::U8);
        assert_eq!(model_input_layout(&spec, 1), (DLDataType::U8, vec![1, 384, 640, 3]));
    }
}
