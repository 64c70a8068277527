//! CUDA frames in Python: `VideoDecoder(..., device="cuda")` decodes with NVDEC and its frames
//! stay on the GPU; `frame.__dlpack__(stream=…)` hands out an H×W×3 uint8 RGB CUDA tensor made
//! by libifc's preprocessing kernel from the mapped surface, and `ifc.preprocess` runs the
//! kernel into a device batch (`ifc.CudaTensor`). The consumer's stream is ordered after the
//! kernel with an event (no host wait), as the DLPack `stream=` protocol asks.
//!
//! Choosing the device probes first (`ifc::gpu_path`): without a driver, GPU, libnvcuvid or
//! NVRTC it is `ifc.DeviceUnavailableError` naming what is missing, never a panic.
#![allow(unsafe_code)] // the DLPack capsule of a libifc device tensor; the block says why.

use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use ifc::decode::Frame as DecodedFrame;
use ifc::dlpack::{consumer_stream, DLDataType, DLDevice, DLManagedTensor, DlpackTensor, DL_CUDA};
use ifc::gpu::{dlpack_batch, rgb_spec, Device, DeviceBuffer, GpuPreprocessor, PreprocessDone};
use ifc::gpu_path::{choose_path, probe, GpuPath};
use ifc::preprocess::{output_len_bytes, Geometry, PreprocessSpec};
use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::errors::{error, Kind};

const NAME_LEGACY: &CStr = c"dltensor";

/// `device="cuda"` / `"cuda:N"`: the ordinal, after checking this machine can decode there.
pub fn cuda_ordinal(device: &str) -> PyResult<u32> {
    let ordinal = match device.strip_prefix("cuda:") {
        None => 0,
        Some(n) => n
            .parse::<u32>()
            .map_err(|_| error(Kind::Argument, format!("device={device:?}: expected \"cuda\" or \"cuda:N\"")))?,
    };
    let found = probe();
    let choice = choose_path(&found);
    if choice.path != GpuPath::NvdecCuda {
        return Err(error(
            Kind::DeviceUnavailable,
            format!("device={device:?}: no NVDEC + CUDA path on this machine: {}", choice.reason),
        ));
    }
    if ordinal as usize >= found.devices.len() {
        return Err(error(
            Kind::DeviceUnavailable,
            format!("device={device:?}: this machine has {} CUDA devices", found.devices.len()),
        ));
    }
    Ok(ordinal)
}

/// One [`Device`] per ordinal for the process (its primary context and stream).
fn device(ordinal: usize) -> Result<Device, String> {
    static DEVICES: OnceLock<Mutex<HashMap<usize, Device>>> = OnceLock::new();
    let mut devices = DEVICES.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(device) = devices.get(&ordinal) {
        return Ok(device.clone());
    }
    let opened = Device::open(ordinal).map_err(|e| e.to_string())?;
    devices.insert(ordinal, opened.clone());
    Ok(opened)
}

/// Kernels by (device, spec), compiled once.
fn with_preprocessor<T>(
    device: &Device,
    spec: &PreprocessSpec,
    run: impl FnOnce(&mut GpuPreprocessor) -> Result<T, String>,
) -> Result<T, String> {
    type Cache = Mutex<Vec<(usize, GpuPreprocessor)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
    let position = cache.iter().position(|(ordinal, p)| *ordinal == device.ordinal() && p.spec() == spec);
    let index = match position {
        Some(index) => index,
        None => {
            let made = GpuPreprocessor::new(device, spec.clone()).map_err(|e| e.to_string())?;
            // A handful of specs per process; the oldest goes first.
            if cache.len() >= 8 {
                cache.remove(0);
            }
            cache.push((device.ordinal(), made));
            cache.len() - 1
        }
    };
    run(&mut cache[index].1)
}

/// A batch on the device and the event after its kernels.
pub struct DeviceBatch {
    pub buffer: Arc<DeviceBuffer>,
    pub done: Arc<PreprocessDone>,
    pub spec: PreprocessSpec,
    pub batch: usize,
    /// The frames read by the kernels, kept until the tensor is released (the kernels may still
    /// run when the consumer gets it).
    pub frames: Vec<Arc<DecodedFrame>>,
}

/// Preprocesses device frames into one batch on their device (no host copy).
pub fn run_batch(spec: &PreprocessSpec, frames: &[Arc<DecodedFrame>]) -> Result<(DeviceBatch, Vec<Geometry>), String> {
    let ordinal = frames
        .first()
        .and_then(|f| f.gpu_view())
        .map(|v| v.device_ordinal)
        .ok_or_else(|| "no CUDA frame to preprocess".to_owned())?;
    let device = device(ordinal)?;
    let buffer = DeviceBuffer::alloc(&device, output_len_bytes(spec, frames.len())).map_err(|e| e.to_string())?;
    let (geometries, done) = with_preprocessor(&device, spec, |pre| {
        let mut geometries = Vec::with_capacity(frames.len());
        for (i, frame) in frames.iter().enumerate() {
            let (Some(decoded), Some(view)) = (frame.device(), frame.gpu_view()) else {
                return Err(format!("frame {i}: a CPU frame in a CUDA batch (decode all frames with device=\"cuda\")"));
            };
            if view.device_ordinal != ordinal {
                return Err(format!("frame {i}: on cuda:{}, the batch is on cuda:{ordinal}", view.device_ordinal));
            }
            device.wait_for_stream(decoded.stream()).map_err(|e| format!("frame {i}: {e}"))?;
            geometries.push(pre.run(&view, &buffer, i).map_err(|e| format!("frame {i}: {e}"))?);
        }
        Ok((geometries, pre.done().map_err(|e| e.to_string())?))
    })?;
    let batch = DeviceBatch {
        buffer: Arc::new(buffer),
        done: Arc::new(done),
        spec: spec.clone(),
        batch: frames.len(),
        frames: frames.to_vec(),
    };
    Ok((batch, geometries))
}

/// A frame's RGB image on its device (H×W×3 uint8), made once per frame.
pub fn rgb(frame: &Arc<DecodedFrame>) -> Result<DeviceBatch, String> {
    run_batch(&rgb_spec(frame.width(), frame.height()), std::slice::from_ref(frame)).map(|(batch, _)| batch)
}

impl Drop for DeviceBatch {
    /// The frames' surfaces must stay mapped until the kernels that read them have finished.
    fn drop(&mut self) {
        let _ = self.done.wait();
    }
}

impl DeviceBatch {
    fn device_pair(&self) -> (i32, i32) {
        (DL_CUDA, self.buffer.device_ordinal() as i32)
    }

    /// `__dlpack__` of the batch (`rgb`: drop the batch dimension, H×W×3).
    pub fn export(
        &self,
        py: Python<'_>,
        stream: Option<&Bound<'_, PyAny>>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
        drop_batch_dimension: bool,
    ) -> PyResult<Py<PyAny>> {
        let stream: Option<i64> = match stream.filter(|s| !s.is_none()) {
            Some(s) => Some(s.extract().map_err(|_| PyBufferError::new_err(format!("stream={s}: expected an int")))?),
            None => None,
        };
        let consumer = consumer_stream(stream).map_err(|e| PyBufferError::new_err(e.to_string()))?;
        if let Some(device) = dl_device.filter(|&d| d != self.device_pair()) {
            return Err(PyBufferError::new_err(format!(
                "dl_device={device:?}: this tensor is on {:?}; no cross-device copy is made",
                self.device_pair()
            )));
        }
        if copy == Some(true) {
            return Err(PyBufferError::new_err("copy=True: CUDA tensors are exported without a copy only"));
        }
        // SAFETY: the consumer gave this stream for this purpose (the DLPack protocol); a bad
        // handle is the driver's error, returned as a BufferError.
        unsafe { self.done.order_before(consumer) }.map_err(|e| PyBufferError::new_err(e.to_string()))?;
        let mut tensor = dlpack_batch(self.buffer.clone(), &self.spec, self.batch)
            .map_err(|e| PyBufferError::new_err(e.to_string()))?;
        if drop_batch_dimension {
            tensor = reshape_without_batch(self.buffer.clone(), &tensor, self.frames.clone())
                .map_err(|e| PyBufferError::new_err(e.to_string()))?;
        }
        capsule(py, tensor)
    }
}

/// The same memory as `tensor` without its leading batch dimension of 1; keeps the frames.
fn reshape_without_batch(
    buffer: Arc<DeviceBuffer>,
    tensor: &DlpackTensor,
    frames: Vec<Arc<DecodedFrame>>,
) -> Result<DlpackTensor, ifc::dlpack::DlpackError> {
    let shape = tensor.shape().get(1..).unwrap_or_default().to_vec();
    let t = tensor.tensor();
    let (data, device, dtype): (*mut std::ffi::c_void, DLDevice, DLDataType) = (t.data, t.device, t.dtype);
    // SAFETY: the same allocation and extent as `tensor` (which checked it against the buffer),
    // one dimension of 1 fewer; the buffer's Arc travels in the new tensor's owner.
    unsafe { DlpackTensor::new(Box::new((buffer, frames)), data, 0, device, dtype, shape, None) }
}

/// A `"dltensor"` capsule of a libifc tensor: the consumer renames it and calls the deleter;
/// an unconsumed capsule calls it when collected.
fn capsule(py: Python<'_>, tensor: DlpackTensor) -> PyResult<Py<PyAny>> {
    let raw = tensor.into_raw();
    // SAFETY: `raw` is a live DLManagedTensor (libifc's repr(C) mirror of the header's); the
    // name is static, as the capsule API requires.
    let capsule = unsafe { ffi::PyCapsule_New(raw.cast(), NAME_LEGACY.as_ptr(), Some(capsule_destructor)) };
    if capsule.is_null() {
        // SAFETY: no capsule took it, so its deleter runs here, once.
        unsafe { delete(raw) };
        return Err(PyErr::fetch(py));
    }
    // SAFETY: PyCapsule_New returned a new (owned) reference.
    Ok(unsafe { Py::from_owned_ptr(py, capsule) })
}

/// # Safety
/// `managed` is a live tensor from `DlpackTensor::into_raw` whose deleter has not run.
unsafe fn delete(managed: *mut DLManagedTensor) {
    // SAFETY: the caller's contract; the deleter frees the tensor and its owner once.
    unsafe {
        if let Some(deleter) = (*managed).deleter {
            deleter(managed);
        }
    }
}

unsafe extern "C" fn capsule_destructor(capsule: *mut ffi::PyObject) {
    // SAFETY: called by CPython with the GIL on a live capsule; a consumed capsule was renamed
    // (`used_dltensor`) and fails IsValid, so its tensor is left to the consumer.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, NAME_LEGACY.as_ptr()) == 1 {
            let managed = ffi::PyCapsule_GetPointer(capsule, NAME_LEGACY.as_ptr());
            if !managed.is_null() {
                delete(managed.cast());
            }
        }
    }
}

/// A batch of model inputs on a CUDA device (Python: ``ifc.CudaTensor``):
/// ``torch.from_dlpack(t)`` takes it without a copy.
#[pyclass(module = "ifc._ifc", name = "CudaTensor", frozen)]
pub struct PyCudaTensor {
    pub batch: DeviceBatch,
}

#[pymethods]
impl PyCudaTensor {
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__(
        &self,
        py: Python<'_>,
        stream: Option<&Bound<'_, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Py<PyAny>> {
        let _ = max_version; // the unversioned capsule, which every consumer accepts
        self.batch.export(py, stream, dl_device, copy, false)
    }

    fn __dlpack_device__(&self) -> (i32, i32) {
        self.batch.device_pair()
    }

    #[getter]
    fn shape(&self) -> Vec<i64> {
        ifc::gpu::model_input_layout(&self.batch.spec, self.batch.batch).1
    }

    /// Device address of the first element.
    #[getter]
    fn data_ptr(&self) -> u64 {
        self.batch.buffer.device_ptr()
    }
}
