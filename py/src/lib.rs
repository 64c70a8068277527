//! The `ifc` Python package's native half (`ifc._ifc`): libifc's decoding, preprocessing,
//! inference and pipelines, with the GIL released while they run. The Python half
//! (`python/ifc/`) adds the exception classes, `FrameBatch` and the docs.

mod cuda;
mod decoder;
mod dlpack;
mod errors;
mod frame;
mod index;
mod infer;
mod live;
mod metadata;
mod pipeline;
mod preprocess;
mod seek;

use pyo3::prelude::*;

/// `numpy.from_dlpack(tensor)`: a numpy array over the tensor's memory (no copy).
pub(crate) fn numpy_from(py: Python<'_>, tensor: dlpack::HostTensor) -> PyResult<Py<PyAny>> {
    let tensor = Py::new(py, dlpack::PyTensor { tensor })?;
    Ok(py.import("numpy")?.call_method1("from_dlpack", (tensor,))?.unbind())
}

#[pymodule]
fn _ifc(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<decoder::PyVideoDecoder>()?;
    m.add_class::<decoder::FrameIterator>()?;
    m.add_class::<live::LiveFrameIterator>()?;
    m.add_class::<frame::PyFrame>()?;
    m.add_class::<metadata::VideoMetadata>()?;
    m.add_class::<dlpack::PyTensor>()?;
    m.add_class::<cuda::PyCudaTensor>()?;
    m.add_class::<preprocess::PyGeometry>()?;
    m.add_function(wrap_pyfunction!(preprocess::preprocess, m)?)?;
    infer::register(m)?;
    pipeline::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
