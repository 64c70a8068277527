//! DLPack export (<https://dmlc.github.io/dlpack/latest/>): hands a host buffer to numpy,
//! torch or any other consumer without a copy. The buffer's owner (a decoded frame, an RGB
//! image, a preprocessed tensor) travels inside the capsule and is dropped by the consumer's
//! deleter call, from whichever thread the consumer frees the tensor on.
//!
//! Both capsule kinds are made: `dltensor_versioned` (DLPack ≥ 1.0, carries the read-only flag)
//! when the consumer passes `max_version` ≥ (1, 0), else the legacy `dltensor`.
#![allow(unsafe_code)] // FFI with the DLPack ABI and the CPython capsule API; each block says why.

use std::ffi::{c_void, CStr};
use std::sync::Arc;

use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;

/// `kDLCPU`.
pub const DEVICE_CPU: i32 = 1;
const READ_ONLY: u64 = 1;
const IS_COPIED: u64 = 2;
const NAME_LEGACY: &CStr = c"dltensor";
const NAME_VERSIONED: &CStr = c"dltensor_versioned";

/// Element types a tensor can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    U8,
    U16,
    F16,
    F32,
}

impl Elem {
    pub fn size_bytes(self) -> usize {
        match self {
            Elem::U8 => 1,
            Elem::U16 | Elem::F16 => 2,
            Elem::F32 => 4,
        }
    }

    fn dl_type(self) -> DLDataType {
        let (code, bits) = match self {
            Elem::U8 => (1, 8),
            Elem::U16 => (1, 16),
            Elem::F16 => (2, 16),
            Elem::F32 => (2, 32),
        };
        DLDataType { code, bits, lanes: 1 }
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

#[repr(C)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

/// Who keeps a tensor's memory alive.
pub type Owner = Arc<dyn Send + Sync>;

/// A strided view of host memory kept alive by `owner`.
#[derive(Clone)]
pub struct HostTensor {
    pub owner: Owner,
    /// First element.
    pub ptr: *const u8,
    pub elem: Elem,
    pub shape: Vec<i64>,
    /// In elements, as DLPack counts them.
    pub strides: Vec<i64>,
    pub read_only: bool,
}

// SAFETY: the pointer is into memory that `owner` (Send + Sync) keeps alive and never moves;
// the tensor only reads through it, and hands it on to consumers with that owner attached.
unsafe impl Send for HostTensor {}
// SAFETY: as above; nothing here is mutated through a shared reference.
unsafe impl Sync for HostTensor {}

impl HostTensor {
    /// A C-contiguous tensor starting at `ptr`, in memory that `owner` keeps alive.
    pub fn contiguous(owner: Owner, ptr: *const u8, elem: Elem, shape: &[usize], read_only: bool) -> Self {
        let mut strides = vec![1i64; shape.len()];
        for i in (0..shape.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * shape[i + 1] as i64;
        }
        Self { owner, ptr, elem, shape: shape.iter().map(|&d| d as i64).collect(), strides, read_only }
    }

    /// A copy into fresh, C-contiguous memory (for `copy=True`).
    fn to_contiguous_copy(&self) -> Self {
        let elem_bytes = self.elem.size_bytes();
        let count: i64 = self.shape.iter().product();
        let mut out: Vec<u8> = Vec::with_capacity(count.max(0) as usize * elem_bytes);
        let mut index = vec![0i64; self.shape.len()];
        if count > 0 {
            'outer: loop {
                let offset: i64 = index.iter().zip(&self.strides).map(|(i, s)| i * s).sum();
                // SAFETY: every index is inside `shape`, so the element lies in the memory
                // `owner` keeps alive (that is what the tensor's shape and strides promise).
                let element = unsafe {
                    std::slice::from_raw_parts(self.ptr.offset((offset * elem_bytes as i64) as isize), elem_bytes)
                };
                out.extend_from_slice(element);
                for d in (0..index.len()).rev() {
                    index[d] += 1;
                    if index[d] < self.shape[d] {
                        continue 'outer;
                    }
                    index[d] = 0;
                }
                break;
            }
        }
        let shape: Vec<usize> = self.shape.iter().map(|&d| d as usize).collect();
        let owner: Arc<Vec<u8>> = Arc::new(out);
        let ptr = owner.as_ptr();
        Self::contiguous(owner, ptr, self.elem, &shape, false)
    }

    /// `obj.__dlpack__(stream=…, max_version=…, dl_device=…, copy=…)` for this tensor.
    pub fn export(
        &self,
        py: Python<'_>,
        stream: Option<&Bound<'_, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Py<PyAny>> {
        // The array API standard: for CPU tensors the stream must be None (there is nothing to
        // synchronise with); anything else is a consumer mistake worth reporting.
        if let Some(stream) = stream.filter(|s| !s.is_none()) {
            return Err(PyBufferError::new_err(format!(
                "stream={stream}: ifc's CPU tensors take stream=None (no stream to synchronise on the CPU)"
            )));
        }
        if let Some(device) = dl_device.filter(|&d| d != (DEVICE_CPU, 0)) {
            return Err(PyBufferError::new_err(format!(
                "dl_device={device:?}: this tensor is in host memory (kDLCPU, 0); no cross-device copy is made"
            )));
        }
        let copied = copy == Some(true);
        let tensor = if copied { self.to_contiguous_copy() } else { self.clone() };
        let versioned = max_version.is_some_and(|(major, _)| major >= 1);
        let flags = if copied {
            IS_COPIED
        } else if tensor.read_only {
            READ_ONLY
        } else {
            0
        };
        // SAFETY: the managed tensor is complete and owns its context; the capsule name and
        // destructor follow the DLPack Python specification for the kind made.
        unsafe { make_capsule(py, tensor, versioned, flags) }
    }
}

/// What a managed tensor's `manager_ctx` points to.
struct Context {
    tensor: HostTensor,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

fn dl_tensor(ctx: &mut Context) -> DLTensor {
    DLTensor {
        data: ctx.tensor.ptr as *mut c_void,
        device: DLDevice { device_type: DEVICE_CPU, device_id: 0 },
        ndim: ctx.shape.len() as i32,
        dtype: ctx.tensor.elem.dl_type(),
        shape: ctx.shape.as_mut_ptr(),
        strides: ctx.strides.as_mut_ptr(),
        byte_offset: 0,
    }
}

unsafe fn make_capsule(py: Python<'_>, tensor: HostTensor, versioned: bool, flags: u64) -> PyResult<Py<PyAny>> {
    let mut ctx = Box::new(Context { shape: tensor.shape.clone(), strides: tensor.strides.clone(), tensor });
    let dl = dl_tensor(&mut ctx);
    let ctx = Box::into_raw(ctx).cast::<c_void>();
    let (pointer, name, destructor): (*mut c_void, &CStr, ffi::PyCapsule_Destructor) = if versioned {
        let managed = Box::new(DLManagedTensorVersioned {
            version: DLPackVersion { major: 1, minor: 0 },
            manager_ctx: ctx,
            deleter: Some(delete_versioned),
            flags,
            dl_tensor: dl,
        });
        (Box::into_raw(managed).cast(), NAME_VERSIONED, capsule_destructor_versioned)
    } else {
        let managed = Box::new(DLManagedTensor { dl_tensor: dl, manager_ctx: ctx, deleter: Some(delete_legacy) });
        (Box::into_raw(managed).cast(), NAME_LEGACY, capsule_destructor_legacy)
    };
    // SAFETY: `pointer` is a live managed tensor; the name is a static C string as the
    // capsule API requires (it keeps the pointer, not a copy).
    let capsule = unsafe { ffi::PyCapsule_New(pointer, name.as_ptr(), Some(destructor)) };
    if capsule.is_null() {
        // SAFETY: the capsule was not made, so nobody else will free the managed tensor.
        unsafe {
            if versioned {
                delete_versioned(pointer.cast());
            } else {
                delete_legacy(pointer.cast());
            }
        }
        return Err(PyErr::fetch(py));
    }
    // SAFETY: PyCapsule_New returned a new (owned) reference.
    Ok(unsafe { Py::from_owned_ptr(py, capsule) })
}

unsafe extern "C" fn delete_legacy(managed: *mut DLManagedTensor) {
    if managed.is_null() {
        return;
    }
    // SAFETY: made by Box::into_raw in make_capsule, and the DLPack contract calls the deleter
    // once; the context was made the same way.
    unsafe {
        let managed = Box::from_raw(managed);
        drop(Box::from_raw(managed.manager_ctx.cast::<Context>()));
    }
}

unsafe extern "C" fn delete_versioned(managed: *mut DLManagedTensorVersioned) {
    if managed.is_null() {
        return;
    }
    // SAFETY: as in delete_legacy.
    unsafe {
        let managed = Box::from_raw(managed);
        drop(Box::from_raw(managed.manager_ctx.cast::<Context>()));
    }
}

/// A capsule that no consumer renamed (`used_…`) still owns its tensor.
unsafe extern "C" fn capsule_destructor_legacy(capsule: *mut ffi::PyObject) {
    // SAFETY: called by CPython with the GIL held on a live capsule; IsValid checks the name
    // before the pointer is read, and a pending exception is kept across the calls.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, NAME_LEGACY.as_ptr()) == 1 {
            let managed = ffi::PyCapsule_GetPointer(capsule, NAME_LEGACY.as_ptr());
            delete_legacy(managed.cast());
        }
    }
}

unsafe extern "C" fn capsule_destructor_versioned(capsule: *mut ffi::PyObject) {
    // SAFETY: as in capsule_destructor_legacy.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, NAME_VERSIONED.as_ptr()) == 1 {
            let managed = ffi::PyCapsule_GetPointer(capsule, NAME_VERSIONED.as_ptr());
            delete_versioned(managed.cast());
        }
    }
}

/// A tensor Python can consume: `np.from_dlpack(t)`, `torch.from_dlpack(t)`.
#[pyclass(module = "ifc._ifc", name = "Tensor", frozen)]
pub struct PyTensor {
    pub tensor: HostTensor,
}

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__(
        &self,
        py: Python<'_>,
        stream: Option<&Bound<'_, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Py<PyAny>> {
        self.tensor.export(py, stream, max_version, dl_device, copy)
    }

    fn __dlpack_device__(&self) -> (i32, i32) {
        (DEVICE_CPU, 0)
    }

    /// Address of the first element (to check that views share memory).
    #[getter]
    fn data_ptr(&self) -> usize {
        self.tensor.ptr as usize
    }

    #[getter]
    fn shape(&self) -> Vec<i64> {
        self.tensor.shape.clone()
    }
}
