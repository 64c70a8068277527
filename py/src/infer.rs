//! `ifc.Model` (the embedded ONNX runtime) and `ifc.TritonClient` (a Triton server): run a
//! model on a batch and get its outputs, the GIL released while it runs.

use std::sync::{Arc, Mutex};

use ifc::infer::{ElementType, InferBackend, ModelMetadata, TensorInfo};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::dlpack::{Elem, HostTensor};
use crate::errors::{error, IntoPyErr, Kind};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()?;
    m.add_class::<PyTritonClient>()?;
    Ok(())
}

fn numpy_dtype(dtype: ElementType) -> PyResult<&'static str> {
    Ok(match dtype {
        ElementType::F32 => "float32",
        ElementType::F16 => "float16",
        ElementType::U8 => "uint8",
        ElementType::I8 => "int8",
        ElementType::I32 => "int32",
        ElementType::I64 => "int64",
        ElementType::Bool => "bool",
        other => return Err(error(Kind::Inference, format!("input element type {other} is not supported"))),
    })
}

fn tensor_dict<'py>(py: Python<'py>, t: &TensorInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &t.name)?;
    d.set_item("dtype", t.dtype.to_string())?;
    d.set_item("shape", t.shape.clone())?;
    Ok(d)
}

fn metadata_dict(py: Python<'_>, m: &ModelMetadata) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("name", &m.name)?;
    d.set_item("inputs", m.inputs.iter().map(|t| tensor_dict(py, t)).collect::<PyResult<Vec<_>>>()?)?;
    d.set_item("outputs", m.outputs.iter().map(|t| tensor_dict(py, t)).collect::<PyResult<Vec<_>>>()?)?;
    Ok(d.into_any().unbind())
}

/// Either backend, shared by the two classes.
struct Backend {
    backend: Mutex<Box<dyn InferBackend>>,
    metadata: ModelMetadata,
}

impl Backend {
    fn new(backend: Box<dyn InferBackend>) -> Self {
        let metadata = backend.metadata().clone();
        Self { backend: Mutex::new(backend), metadata }
    }

    /// Copies `input` (numpy, first axis the batch) into the model's input buffer, runs it and
    /// returns each output as a float32 numpy array, by name.
    fn infer(&self, py: Python<'_>, input: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let info = self.metadata.inputs.first().ok_or_else(|| error(Kind::Inference, "the model has no input"))?;
        if self.metadata.inputs.len() != 1 {
            return Err(error(
                Kind::Inference,
                format!("{} inputs: only one-input models are supported", self.metadata.inputs.len()),
            ));
        }
        let np = py.import("numpy")?;
        let array = np.call_method1("ascontiguousarray", (input, numpy_dtype(info.dtype)?))?;
        let shape: Vec<usize> = array.getattr("shape")?.extract()?;
        let want: &[i64] = &info.shape;
        let shape_ok = shape.len() == want.len()
            && shape.iter().zip(want).skip(1).all(|(&got, &w)| w < 0 || got as i64 == w)
            && shape.first().is_some_and(|&b| b > 0);
        if !shape_ok {
            return Err(error(
                Kind::Argument,
                format!("input shape {shape:?} does not fit the model's input {:?} {want:?}", info.name),
            ));
        }
        let batch = shape[0];
        let bytes = array.call_method0("tobytes")?;
        let bytes = bytes.cast::<PyBytes>()?.as_bytes();
        let outputs = py
            .detach(|| -> Result<_, String> {
                let mut backend = self.backend.lock().map_err(|_| "the model failed in another thread".to_owned())?;
                let buffer = backend.input_buffer(0, batch).map_err(|e| e.to_string())?;
                if buffer.len() != bytes.len() {
                    return Err(format!("input of {} bytes, the model's buffer holds {}", bytes.len(), buffer.len()));
                }
                buffer.copy_from_slice(bytes);
                backend.run(batch).map_err(|e| e.to_string())
            })
            .or_raise(Kind::Inference)?;
        let result = PyDict::new(py);
        for output in outputs {
            let shape = output.shape.clone();
            let owner = Arc::new(output);
            let ptr = owner.data.as_ptr().cast::<u8>();
            let tensor = HostTensor::contiguous(owner.clone(), ptr, Elem::F32, &shape, false);
            result.set_item(owner.name.clone(), crate::numpy_from(py, tensor)?)?;
        }
        Ok(result.into_any().unbind())
    }
}

/// An ONNX model run in process by the embedded runtime (Python: ``ifc.Model``).
#[pyclass(module = "ifc._ifc", name = "Model", frozen)]
pub struct PyModel {
    inner: Backend,
}

#[pymethods]
impl PyModel {
    /// Loads ``path`` (ONNX) for batches of up to ``max_batch`` images.
    ///
    /// >>> model = ifc.Model("models/defect-yolov8.onnx")
    /// >>> outputs = model.infer(tensor)   # {"output0": ndarray}
    #[new]
    #[pyo3(signature = (path, *, max_batch=1))]
    fn new(py: Python<'_>, path: std::path::PathBuf, max_batch: usize) -> PyResult<Self> {
        if max_batch == 0 {
            return Err(error(Kind::Argument, "max_batch must be at least 1"));
        }
        let backend = py
            .detach(|| ifc::infer::embedded::EmbeddedOnnx::load(&path, max_batch).map_err(|e| e.to_string()))
            .or_raise(Kind::Inference)?;
        Ok(Self { inner: Backend::new(Box::new(backend)) })
    }

    /// Inputs and outputs: ``{"name", "inputs": [{"name", "dtype", "shape"}], "outputs": [...]}``.
    #[getter]
    fn metadata(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        metadata_dict(py, &self.inner.metadata)
    }

    /// Runs the model on ``input`` (an array whose first axis is the batch, e.g. what
    /// ``ifc.preprocess`` returns) and returns its outputs as float32 arrays, by name.
    fn infer(&self, py: Python<'_>, input: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.inner.infer(py, input)
    }
}

/// A model on a Triton Inference Server, over gRPC (Python: ``ifc.TritonClient``).
#[pyclass(module = "ifc._ifc", name = "TritonClient", frozen)]
pub struct PyTritonClient {
    inner: Backend,
}

/// ``shared_memory=``: a flag (``True`` is system shared memory) or a mode name.
#[derive(FromPyObject)]
enum SharedMemoryArg {
    Flag(bool),
    Name(String),
}

impl SharedMemoryArg {
    fn mode(self) -> Result<ifc::pipeline::SharedMemory, String> {
        match self {
            Self::Flag(on) => Ok(ifc::pipeline::SharedMemory::from_flag(on)),
            Self::Name(name) => name.parse().map_err(|e| format!("shared_memory={e}")),
        }
    }
}

#[pymethods]
impl PyTritonClient {
    /// Connects to ``url`` (``host:port`` or ``http://host:port``) and reads ``model_name``'s
    /// metadata. ``shared_memory=True`` (or ``"system"``) passes tensors through system shared
    /// memory (server on this machine); ``"cuda"`` through a CUDA shared-memory region (needs a
    /// GPU and a build with the ``cuda`` feature).
    ///
    /// >>> client = ifc.TritonClient("127.0.0.1:8001", "defect")
    /// >>> outputs = client.infer(tensor)
    #[new]
    #[pyo3(signature = (url, model_name, *, model_version=None, timeout_ms=None, shared_memory=SharedMemoryArg::Flag(false)))]
    fn new(
        py: Python<'_>,
        url: String,
        model_name: String,
        model_version: Option<u32>,
        timeout_ms: Option<u64>,
        shared_memory: SharedMemoryArg,
    ) -> PyResult<Self> {
        let shared_memory = shared_memory.mode().or_raise(Kind::Argument)?;
        let backend = py
            .detach(|| {
                use ifc::infer::triton::{TritonBackend, TritonOptions};
                let endpoint = ifc::runner::endpoint_url(&url).map_err(|e| e.to_string())?;
                let mut options = TritonOptions::new(endpoint, model_name);
                options.model_version = model_version.map(|v| v.to_string()).unwrap_or_default();
                options.shared_memory = shared_memory;
                if let Some(ms) = timeout_ms {
                    options.timeout = std::time::Duration::from_millis(ms);
                }
                TritonBackend::connect(options).map_err(|e| e.to_string())
            })
            .or_raise(Kind::Inference)?;
        Ok(Self { inner: Backend::new(Box::new(backend)) })
    }

    #[getter]
    fn metadata(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        metadata_dict(py, &self.inner.metadata)
    }

    /// As ``Model.infer``.
    fn infer(&self, py: Python<'_>, input: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.inner.infer(py, input)
    }
}
