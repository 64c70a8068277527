//! Inference: one [`InferBackend`] trait over the embedded ONNX runtime and Triton.
//!
//! The zero-copy contract: the backend owns the model's input buffer (the embedded runtime's
//! input tensor, or a Triton system-shared-memory region) and lends it out with
//! [`InferBackend::input_buffer`]; preprocessing writes each image of the batch straight into
//! it; [`InferBackend::run`] then infers on what is there and returns the outputs.

use std::fmt;

#[cfg(feature = "onnx")]
pub mod embedded;

use serde::Serialize;

/// The Triton Inference Server backend (gRPC, system shared memory).
#[cfg(feature = "triton")]
pub mod triton;

/// Element type of a model tensor (the names follow Triton's `TYPE_*` / ONNX types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ElementType {
    F32,
    F16,
    U8,
    I8,
    I32,
    I64,
    Bool,
}

impl ElementType {
    pub fn size_bytes(self) -> usize {
        match self {
            Self::F32 | Self::I32 => 4,
            Self::F16 => 2,
            Self::U8 | Self::I8 | Self::Bool => 1,
            Self::I64 => 8,
        }
    }
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::U8 => "u8",
            Self::I8 => "i8",
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::Bool => "bool",
        };
        f.write_str(s)
    }
}

/// One input or output of a model. `shape` uses -1 for a dynamic dimension (usually batch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: ElementType,
    pub shape: Vec<i64>,
}

/// What a model takes and gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelMetadata {
    pub name: String,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
}

/// One output of a run, converted to f32 (what postprocessing reads).
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Output {
    /// The borrowed view that [`crate::postprocess`] takes.
    pub fn as_tensor(&self) -> crate::postprocess::OutputTensor<'_> {
        crate::postprocess::OutputTensor::new(&self.name, &self.shape, &self.data)
    }
}

/// Why inference failed. Each message names the model and, where it applies, the tensor.
/// Clone and comparable: a run keeps the first ones in its stats and hands them to services.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InferError {
    #[error("model {model}: cannot load: {reason}")]
    Load { model: String, reason: String },
    #[error("model {model}: input {input:?}: {reason}")]
    Input { model: String, input: String, reason: String },
    #[error("model {model}: batch of {batch} exceeds the maximum {max}")]
    BatchTooLarge { model: String, batch: usize, max: usize },
    #[error("model {model}: run failed: {reason}")]
    Run { model: String, reason: String },
    /// The server cannot be reached or is not ready (retry later).
    #[error("{endpoint}: unavailable: {reason}")]
    Unavailable { endpoint: String, reason: String },
    #[error("{endpoint}: model {model} is not ready (missing, loading or failed to load)")]
    ModelNotReady { endpoint: String, model: String },
    #[error("{endpoint}: {reason}")]
    Protocol { endpoint: String, reason: String },
    /// The server address is not one the client can use (a scheme it does not speak).
    #[error("{endpoint}: not a usable Triton address: {reason}")]
    Endpoint { endpoint: String, reason: String },
}

/// A model that can run batches whose input buffers preprocessing filled in place.
pub trait InferBackend: Send {
    fn metadata(&self) -> &ModelMetadata;

    /// Largest batch [`Self::run`] accepts.
    fn max_batch(&self) -> usize;

    /// The buffer of input `index` for a batch of `batch` images, laid out as the model wants
    /// (`batch × shape[1..]`, native-endian elements of the input's dtype). Preprocessing writes
    /// image `i` at `i × image_len_bytes`. Valid until the next `run`.
    fn input_buffer(&mut self, index: usize, batch: usize) -> Result<&mut [u8], InferError>;

    /// Infers on the inputs as they are in the buffers.
    fn run(&mut self, batch: usize) -> Result<Vec<Output>, InferError>;

    /// Short name for logs: `embedded-onnx`, `triton-grpc`, `triton-grpc-shm`.
    fn backend_name(&self) -> &'static str;

    /// Bytes of inference requests sent to a server so far (encoded messages, before gRPC
    /// framing); 0 for a backend that runs in process. Tells what shared memory saves.
    fn request_bytes_sent(&self) -> u64 {
        0
    }
}
