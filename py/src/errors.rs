//! Library errors as Python exceptions. The hierarchy is declared in Python
//! (`ifc/_errors.py`) so that classes can also derive from the built-in ones users catch
//! (`IndexError`, `ValueError`, `NotImplementedError`).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// Which `ifc` exception a failure becomes.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// The input cannot be read or is not a video ifc reads (`ifc.SourceError`).
    Source,
    /// Decoding failed (`ifc.DecodeError`).
    Decode,
    /// Preprocessing refused the frame or the settings (`ifc.PreprocessError`).
    Preprocess,
    /// Loading or running a model failed (`ifc.InferenceError`).
    Inference,
    /// The pipeline document is invalid or running it failed (`ifc.PipelineError`).
    Pipeline,
    /// A frame index or time outside the video (`ifc.FrameIndexError`, an `IndexError`).
    Index,
    /// A bad argument value (`ifc.ArgumentError`, a `ValueError`).
    Argument,
    /// Asked for something this build cannot do yet (`ifc.UnsupportedError`, a `NotImplementedError`).
    Unsupported,
    /// `device="cuda"` on a machine without the GPU path (`ifc.DeviceUnavailableError`, an
    /// `UnsupportedError`).
    DeviceUnavailable,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::Source => "SourceError",
            Kind::Decode => "DecodeError",
            Kind::Preprocess => "PreprocessError",
            Kind::Inference => "InferenceError",
            Kind::Pipeline => "PipelineError",
            Kind::Index => "FrameIndexError",
            Kind::Argument => "ArgumentError",
            Kind::Unsupported => "UnsupportedError",
            Kind::DeviceUnavailable => "DeviceUnavailableError",
        }
    }
}

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// An `ifc` exception of `kind` carrying `message`.
pub fn error(kind: Kind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| {
        let class = ERRORS_MODULE
            .get_or_try_init(py, || py.import("ifc._errors").map(Bound::unbind))
            .and_then(|m| m.bind(py).getattr(kind.class_name()))
            .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
        match class {
            Ok(class) => PyErr::from_type(class, message),
            // Only when ifc's Python half is missing (a broken install): keep the message.
            Err(e) => pyo3::exceptions::PyRuntimeError::new_err(format!("{message} (and ifc._errors: {e})")),
        }
    })
}

/// Shorthand for `map_err(|e| error(kind, e.to_string()))`.
pub trait IntoPyErr<T> {
    fn or_raise(self, kind: Kind) -> PyResult<T>;
    fn or_raise_with(self, kind: Kind, context: &str) -> PyResult<T>;
}

impl<T, E: std::fmt::Display> IntoPyErr<T> for Result<T, E> {
    fn or_raise(self, kind: Kind) -> PyResult<T> {
        self.map_err(|e| error(kind, e.to_string()))
    }

    fn or_raise_with(self, kind: Kind, context: &str) -> PyResult<T> {
        self.map_err(|e| error(kind, format!("{context}: {e}")))
    }
}
