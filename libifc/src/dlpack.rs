//! DLPack export: a tensor in host or device memory described by the structs of the public
//! DLPack header (`dlpack.h`, ABI of v0.8+: the *unversioned* `DLManagedTensor`, which every
//! consumer accepts — `torch.from_dlpack`, CuPy, JAX, NumPy — through a PyCapsule named
//! `"dltensor"`), so Python can take ifc's frames and model inputs without a copy.
//!
//! [`DlpackTensor`] owns what the tensor points into (any `Send` value: an
//! `Arc<DeviceBuffer>`, a `Vec<u8>`); the consumer calls the deleter exactly once when it is
//! done, which drops that owner. Until handed out with [`DlpackTensor::into_raw`], dropping
//! the `DlpackTensor` runs the deleter itself.
#![allow(unsafe_code)]

use std::any::Any;
use std::ffi::c_void;
use std::ptr::NonNull;

/// `DLDeviceType` values ifc produces.
pub const DL_CPU: i32 = 1;
pub const DL_CUDA: i32 = 2;

/// `DLDataTypeCode` values.
pub const DL_INT: u8 = 0;
pub const DL_UINT: u8 = 1;
pub const DL_FLOAT: u8 = 2;

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DLDevice {
    pub device_type: i32,
    pub device_id: i32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DLDataType {
    pub code: u8,
    pub bits: u8,
    pub lanes: u16,
}

impl DLDataType {
    pub const F32: Self = Self { code: DL_FLOAT, bits: 32, lanes: 1 };
    pub const F16: Self = Self { code: DL_FLOAT, bits: 16, lanes: 1 };
    pub const U8: Self = Self { code: DL_UINT, bits: 8, lanes: 1 };
    pub const U16: Self = Self { code: DL_UINT, bits: 16, lanes: 1 };

    pub fn size_bytes(self) -> usize {
        usize::from(self.bits).div_ceil(8) * usize::from(self.lanes)
    }
}

#[repr(C)]
#[derive(Debug)]
pub struct DLTensor {
    pub data: *mut c_void,
    pub device: DLDevice,
    pub ndim: i32,
    pub dtype: DLDataType,
    pub shape: *mut i64,
    /// In elements; may be null for a compact row-major tensor (ifc always fills it).
    pub strides: *mut i64,
    pub byte_offset: u64,
}

#[repr(C)]
#[derive(Debug)]
pub struct DLManagedTensor {
    pub dl_tensor: DLTensor,
    pub manager_ctx: *mut c_void,
    pub deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

/// What `manager_ctx` points to: the owner of the memory and the shape/stride arrays.
struct Context {
    _owner: Box<dyn Any + Send>,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

/// Why a tensor cannot be described.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DlpackError {
    #[error("dlpack: shape has {shape} dimensions but strides have {strides}")]
    RankMismatch { shape: usize, strides: usize },
    #[error("dlpack: {0} dimensions is too many")]
    TooManyDimensions(usize),
    #[error("dlpack: negative dimension in shape {0:?}")]
    NegativeDimension(Vec<i64>),
    #[error("dlpack: the tensor needs {needed_bytes} B but the buffer has {len_bytes} B")]
    OutOfBounds { needed_bytes: usize, len_bytes: usize },
}

/// What a consumer's `__dlpack__(stream=…)` asks of a CUDA producer (the Python array API's
/// rules for `kDLCUDA`): make the data ready on the consumer's stream before it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerStream {
    /// `stream=-1`: the consumer synchronises itself; the producer does nothing.
    NoSync,
    /// The `CUstream` to order after the producer's work: `None` and `1` are the legacy
    /// default stream (`CU_STREAM_LEGACY`, 0x1), `2` the per-thread default stream
    /// (`CU_STREAM_PER_THREAD`, 0x2), any other positive value a stream handle.
    Stream(u64),
}

/// Reads `stream=` for a CUDA tensor. `0` is refused (the array API leaves it ambiguous and
/// forbids it for CUDA), as are negative values other than `-1`.
pub fn consumer_stream(stream: Option<i64>) -> Result<ConsumerStream, StreamError> {
    match stream {
        None | Some(1) => Ok(ConsumerStream::Stream(1)),
        Some(-1) => Ok(ConsumerStream::NoSync),
        Some(0) => Err(StreamError(0)),
        Some(s) if s > 0 => Ok(ConsumerStream::Stream(s as u64)),
        Some(s) => Err(StreamError(s)),
    }
}

/// A `stream=` value a CUDA producer cannot honour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stream={0}: for CUDA tensors expected None, -1 (no synchronisation), 1 (legacy default stream), 2 (per-thread default stream) or a stream handle")]
pub struct StreamError(pub i64);

/// A `DLManagedTensor` not yet handed to a consumer.
#[derive(Debug)]
pub struct DlpackTensor {
    raw: NonNull<DLManagedTensor>,
}

// SAFETY: the tensor owns its context (whose owner is `Send`) and the pointers in it are only
// dereferenced by the deleter, which runs once, on whichever thread drops or consumes it.
unsafe impl Send for DlpackTensor {}

/// Row-major strides (in elements) of a compact tensor of `shape`.
pub fn compact_strides(shape: &[i64]) -> Vec<i64> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1].max(1);
    }
    strides
}

impl DlpackTensor {
    /// Describes `shape` elements of `dtype` at `data + byte_offset` on `device`, with
    /// `strides` in elements (`None`: compact row-major), kept alive by `owner`.
    ///
    /// # Safety
    /// `owner` must keep the memory `data + byte_offset` addresses (every element the shape
    /// and strides reach) valid until it is dropped.
    pub unsafe fn new(
        owner: Box<dyn Any + Send>,
        data: *mut c_void,
        byte_offset: u64,
        device: DLDevice,
        dtype: DLDataType,
        shape: Vec<i64>,
        strides: Option<Vec<i64>>,
    ) -> Result<Self, DlpackError> {
        if shape.iter().any(|&d| d < 0) {
            return Err(DlpackError::NegativeDimension(shape));
        }
        let strides = strides.unwrap_or_else(|| compact_strides(&shape));
        if strides.len() != shape.len() {
            return Err(DlpackError::RankMismatch { shape: shape.len(), strides: strides.len() });
        }
        let ndim = i32::try_from(shape.len()).map_err(|_| DlpackError::TooManyDimensions(shape.len()))?;
        let mut context = Box::new(Context { _owner: owner, shape, strides });
        let tensor = Box::new(DLManagedTensor {
            dl_tensor: DLTensor {
                data,
                device,
                ndim,
                dtype,
                // The vectors live in the boxed context, so these pointers stay valid until the
                // deleter drops it.
                shape: context.shape.as_mut_ptr(),
                strides: context.strides.as_mut_ptr(),
                byte_offset,
            },
            manager_ctx: Box::into_raw(context).cast::<c_void>(),
            deleter: Some(delete_managed_tensor),
        });
        Ok(Self { raw: NonNull::from(Box::leak(tensor)) })
    }

    /// The tensor as a consumer sees it.
    pub fn tensor(&self) -> &DLTensor {
        // SAFETY: `raw` is the live box made in `new`, not yet handed out or deleted.
        unsafe { &self.raw.as_ref().dl_tensor }
    }

    pub fn shape(&self) -> &[i64] {
        let t = self.tensor();
        // SAFETY: `shape` points to `ndim` i64s in the live context.
        unsafe { std::slice::from_raw_parts(t.shape, t.ndim as usize) }
    }

    pub fn strides(&self) -> &[i64] {
        let t = self.tensor();
        // SAFETY: `strides` points to `ndim` i64s in the live context.
        unsafe { std::slice::from_raw_parts(t.strides, t.ndim as usize) }
    }

    /// Hands the tensor out (e.g. into a `"dltensor"` PyCapsule): from now on the consumer
    /// must call its deleter exactly once.
    pub fn into_raw(self) -> *mut DLManagedTensor {
        let raw = self.raw.as_ptr();
        std::mem::forget(self);
        raw
    }
}

impl Drop for DlpackTensor {
    fn drop(&mut self) {
        // SAFETY: not handed out (into_raw forgets self), so this is the one deletion.
        unsafe { delete_managed_tensor(self.raw.as_ptr()) }
    }
}

/// The deleter: frees the tensor and its context, dropping the owner.
///
/// # Safety
/// `tensor` must come from [`DlpackTensor`] and be deleted only once.
unsafe extern "C" fn delete_managed_tensor(tensor: *mut DLManagedTensor) {
    if tensor.is_null() {
        return;
    }
    // SAFETY: per the contract, `tensor` is the box leaked in `DlpackTensor::new` and its
    // `manager_ctx` the boxed `Context`; both are reclaimed exactly once, here.
    unsafe {
        let tensor = Box::from_raw(tensor);
        drop(Box::from_raw(tensor.manager_ctx.cast::<Context>()));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    /// Counts its drops, like a device buffer whose free we must see exactly once.
    struct Owner(Arc<AtomicUsize>);
    impl Drop for Owner {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn tensor(drops: &Arc<AtomicUsize>, strides: Option<Vec<i64>>) -> Result<DlpackTensor, DlpackError> {
        let data = vec![0u8; 2 * 3 * 640 * 640 * 4];
        let ptr = data.as_ptr() as *mut c_void;
        let owner: Box<dyn Any + Send> = Box::new((data, Owner(drops.clone())));
        let device = DLDevice { device_type: DL_CUDA, device_id: 3 };
        // SAFETY: the owner holds the Vec the pointer addresses.
        unsafe {
            DlpackTensor::new(owner, ptr, 640 * 640 * 3 * 4, device, DLDataType::F32, vec![1, 3, 640, 640], strides)
        }
    }

    #[test]
    fn consumer_streams_follow_the_array_api() {
        assert_eq!(consumer_stream(None), Ok(ConsumerStream::Stream(1)), "None: the legacy default stream");
        assert_eq!(consumer_stream(Some(1)), Ok(ConsumerStream::Stream(1)));
        assert_eq!(consumer_stream(Some(2)), Ok(ConsumerStream::Stream(2)), "per-thread default stream");
        assert_eq!(consumer_stream(Some(-1)), Ok(ConsumerStream::NoSync));
        assert_eq!(consumer_stream(Some(0x7f00_dead_b000)), Ok(ConsumerStream::Stream(0x7f00_dead_b000)));
        assert_eq!(consumer_stream(Some(0)), Err(StreamError(0)), "0 is ambiguous for CUDA");
        assert!(consumer_stream(Some(-7)).unwrap_err().to_string().contains("stream=-7"));
    }

    #[test]
    fn fields_follow_the_header() {
        let drops = Arc::new(AtomicUsize::new(0));
        let t = tensor(&drops, None).expect("valid");
        let dl = t.tensor();
        assert_eq!(dl.device, DLDevice { device_type: 2, device_id: 3 });
        assert_eq!((dl.dtype.code, dl.dtype.bits, dl.dtype.lanes), (2, 32, 1));
        assert_eq!(dl.ndim, 4);
        assert_eq!(dl.byte_offset, 640 * 640 * 3 * 4);
        assert_eq!(t.shape(), [1, 3, 640, 640]);
        assert_eq!(t.strides(), [3 * 640 * 640, 640 * 640, 640, 1]);
        // The header's layout (x86-64 / aarch64): DLTensor is 48 bytes, DLManagedTensor 64.
        assert_eq!(std::mem::size_of::<DLTensor>(), 48);
        assert_eq!(std::mem::offset_of!(DLTensor, ndim), 16);
        assert_eq!(std::mem::offset_of!(DLTensor, byte_offset), 40);
        assert_eq!(std::mem::size_of::<DLManagedTensor>(), 64);
    }

    #[test]
    fn nhwc_strides_are_kept_and_rank_mismatch_is_rejected() {
        let drops = Arc::new(AtomicUsize::new(0));
        let t = tensor(&drops, Some(vec![640 * 640 * 3, 1, 640 * 3, 3])).expect("valid");
        assert_eq!(t.strides(), [640 * 640 * 3, 1, 1920, 3]);
        drop(t);
        assert_eq!(tensor(&drops, Some(vec![1, 2])).err(), Some(DlpackError::RankMismatch { shape: 4, strides: 2 }));
        // The rejected tensor's owner was dropped too (it was moved in).
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_consumer_deleter_drops_the_owner_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let raw = tensor(&drops, None).expect("valid").into_raw();
        assert_eq!(drops.load(Ordering::SeqCst), 0, "handed out: still alive");
        // What a consumer (torch) does when its tensor dies.
        // SAFETY: `raw` came from into_raw and is deleted once.
        unsafe {
            let deleter = (*raw).deleter.expect("deleter set");
            deleter(raw);
        }
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(Arc::strong_count(&drops), 1, "the owner's clone is gone");
    }

    #[test]
    fn dropping_an_unexported_tensor_runs_the_deleter() {
        let drops = Arc::new(AtomicUsize::new(0));
        drop(tensor(&drops, None).expect("valid"));
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}
