//! Opens the backend an infer node names: the embedded ONNX runtime or a Triton server.

use crate::infer::{InferBackend, InferError};
use crate::pipeline::{InferNode, SharedMemory};

/// The backend `node` describes, connected or loaded (batch size 1). Paths in the node are
/// relative to the current directory.
pub fn open_backend(node: &InferNode) -> Result<Box<dyn InferBackend>, InferError> {
    match node {
        InferNode::Embedded { model, .. } => open_embedded(model),
        InferNode::Triton { url, model_name, model_version, timeout_ms, shared_memory, .. } => {
            open_triton(url, model_name, *model_version, *timeout_ms, shared_memory.unwrap_or_default())
        }
    }
}

#[cfg(feature = "onnx")]
fn open_embedded(model: &str) -> Result<Box<dyn InferBackend>, InferError> {
    Ok(Box::new(crate::infer::embedded::EmbeddedOnnx::load(std::path::Path::new(model), 1)?))
}

#[cfg(not(feature = "onnx"))]
fn open_embedded(model: &str) -> Result<Box<dyn InferBackend>, InferError> {
    Err(InferError::Load { model: model.to_owned(), reason: "built without the `onnx` feature".into() })
}

#[cfg(feature = "triton")]
fn open_triton(
    url: &str,
    model_name: &str,
    model_version: Option<u32>,
    timeout_ms: Option<u64>,
    shared_memory: SharedMemory,
) -> Result<Box<dyn InferBackend>, InferError> {
    use crate::infer::triton::{TritonBackend, TritonOptions};
    let mut options = TritonOptions::new(endpoint_url(url), model_name.to_owned());
    options.model_version = model_version.map(|v| v.to_string()).unwrap_or_default();
    options.shared_memory = shared_memory;
    if let Some(ms) = timeout_ms {
        options.timeout = std::time::Duration::from_millis(ms);
    }
    Ok(Box::new(TritonBackend::connect(options)?))
}

#[cfg(not(feature = "triton"))]
fn open_triton(
    url: &str,
    model_name: &str,
    _model_version: Option<u32>,
    _timeout_ms: Option<u64>,
    _shared_memory: SharedMemory,
) -> Result<Box<dyn InferBackend>, InferError> {
    Err(InferError::Unavailable {
        endpoint: url.to_owned(),
        reason: format!("model {model_name}: built without the `triton` feature"),
    })
}

/// `host:port` (as pipeline documents write it) as the URL the gRPC client takes.
pub fn endpoint_url(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    }
}
