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
    let mut options = TritonOptions::new(endpoint_url(url)?, model_name.to_owned());
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

/// The server address as users write it (`host:port`, `grpc://host:port`, `http://host:port`)
/// as the URL the gRPC client takes (`http://host:port`: gRPC over plaintext HTTP/2). A scheme
/// the client does not speak (`https://`, `grpcs://`: this build has no TLS; anything else) is
/// refused with its reason instead of failing later as "h2 protocol error".
pub fn endpoint_url(url: &str) -> Result<String, InferError> {
    let refuse = |reason: String| InferError::Endpoint { endpoint: url.to_owned(), reason };
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("http".to_owned(), url),
    };
    match scheme.as_str() {
        "http" | "grpc" if !rest.is_empty() && !rest.starts_with('/') => Ok(format!("http://{rest}")),
        "http" | "grpc" => Err(refuse("no host".into())),
        "https" | "grpcs" => Err(refuse(format!("{scheme}:// (TLS): this build speaks plaintext gRPC only"))),
        _ => Err(refuse(format!("scheme {scheme}://; expected host:port, grpc://host:port or http://host:port"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_http_and_bare_host_port_all_become_the_http_url_the_client_takes() {
        for url in ["127.0.0.1:8001", "grpc://127.0.0.1:8001", "http://127.0.0.1:8001", "GRPC://127.0.0.1:8001"] {
            assert_eq!(endpoint_url(url).expect(url), "http://127.0.0.1:8001", "{url}");
        }
        assert_eq!(endpoint_url("triton:8001").expect("name"), "http://triton:8001");
    }

    #[test]
    fn tls_and_unknown_schemes_are_refused_with_the_reason() {
        for (url, says) in [
            ("https://triton:8001", "TLS"),
            ("grpcs://triton:8001", "TLS"),
            ("ftp://triton:8001", "scheme ftp://"),
            ("grpc://", "no host"),
        ] {
            let err = endpoint_url(url).expect_err(url);
            assert!(matches!(err, InferError::Endpoint { .. }), "{url}: {err}");
            assert!(err.to_string().contains(says), "{url}: {err}");
        }
    }
}
