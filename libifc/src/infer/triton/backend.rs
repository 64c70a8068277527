//! [`TritonBackend`]: the blocking [`InferBackend`] over a private tokio runtime.

use std::time::Duration;

use super::client::{AccessToken, TritonClient};
use super::proto;
use super::request::{decode_outputs, input_tensor, raw_contents, requested_output, ShmPlacement, TensorLayout};
use super::retry::RetryPolicy;
use super::shm::SharedMemoryRegion;
use crate::infer::{InferBackend, InferError, ModelMetadata, Output};
pub use crate::pipeline::SharedMemory;

// CUDA shared-memory mode: a child module, so it reaches the backend's private state.
#[cfg(feature = "cuda")]
#[path = "cuda_backend.rs"]
mod cuda_backend;

/// Tensors in the shared region start on cache-line boundaries.
const SHM_ALIGN_BYTES: usize = 64;

/// How to reach the model. Build with [`TritonOptions::new`], then set fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TritonOptions {
    /// `http://127.0.0.1:8001`.
    pub url: String,
    pub model_name: String,
    /// Empty: the server's choice by the model's version policy.
    pub model_version: String,
    /// Pass tensors through shared memory (server on this host): a POSIX region
    /// ([`SharedMemory::System`]) or a device buffer opened by CUDA IPC handle
    /// ([`SharedMemory::Cuda`], feature `cuda`; the GPU path writes the input there).
    pub shared_memory: SharedMemory,
    /// [`SharedMemory::Cuda`]: the device the region lives on.
    pub cuda_device: usize,
    /// [`SharedMemory::Cuda`]: slots of one batch each, so preprocessing fills one while
    /// requests read others (at least 1).
    pub cuda_slots: usize,
    /// Bounds the connect and every call.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub access_token: Option<AccessToken>,
}

impl TritonOptions {
    pub fn new(url: impl Into<String>, model_name: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            model_name: model_name.into(),
            model_version: String::new(),
            shared_memory: SharedMemory::Off,
            cuda_device: 0,
            cuda_slots: 2,
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            access_token: None,
        }
    }
}

/// Where the tensors live between `input_buffer` and `run`.
enum TensorIo {
    /// Inputs in plain buffers, sent as `raw_input_contents`.
    Raw { buffers: Vec<Vec<u8>> },
    /// Inputs (and outputs, when their size is known) in one registered region.
    Shm { region: SharedMemoryRegion, inputs: Vec<ShmPlacement>, outputs: Option<Vec<ShmPlacement>> },
    /// The one input in slots of a registered CUDA region; outputs come back in the response.
    #[cfg(feature = "cuda")]
    Cuda(cuda_backend::CudaIo),
}

/// A model served by Triton. See the module docs for the two modes.
pub struct TritonBackend {
    runtime: tokio::runtime::Runtime,
    client: TritonClient,
    options: TritonOptions,
    metadata: ModelMetadata,
    batched: bool,
    max_batch: usize,
    inputs: Vec<TensorLayout>,
    outputs: Vec<TensorLayout>,
    io: TensorIo,
    request_bytes_sent: u64,
}

impl std::fmt::Debug for TritonBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TritonBackend")
            .field("endpoint", &self.client.endpoint())
            .field("model", &self.metadata.name)
            .field("backend", &self.backend_name())
            .finish()
    }
}

impl TritonBackend {
    /// Connects, checks the model is ready (else [`InferError::ModelNotReady`]), reads its
    /// metadata and config, and in shared-memory mode creates and registers the region.
    pub fn connect(options: TritonOptions) -> Result<Self, InferError> {
        // CUDA mode: the device first, so a machine without a GPU says so before any RPC.
        let device = cuda_device(&options)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
            InferError::Unavailable { endpoint: options.url.clone(), reason: format!("tokio runtime: {e}") }
        })?;
        let client = runtime.block_on(TritonClient::connect(
            &options.url,
            options.timeout,
            options.retry.clone(),
            options.access_token.clone(),
        ))?;
        let (model, version) = (options.model_name.as_str(), options.model_version.as_str());
        if !runtime.block_on(client.model_ready(model, version))? {
            return Err(InferError::ModelNotReady { endpoint: options.url.clone(), model: model.to_owned() });
        }
        let metadata = runtime.block_on(client.model_metadata(model, version))?;
        let config = runtime.block_on(client.model_config(model, version))?;
        // max_batch_size 0: no batch dimension; the shapes are the whole tensors.
        let batched = config.max_batch_size > 0;
        let max_batch = usize::try_from(config.max_batch_size).unwrap_or(0).max(1);
        let inputs: Vec<TensorLayout> = metadata.inputs.iter().map(|t| TensorLayout::new(t, batched)).collect();
        let outputs: Vec<TensorLayout> = metadata.outputs.iter().map(|t| TensorLayout::new(t, batched)).collect();
        if let Some(dynamic) = inputs.iter().find(|t| t.item_bytes.is_none()) {
            return Err(InferError::Input {
                model: model.to_owned(),
                input: dynamic.name.clone(),
                reason: format!("dynamic dimension in {:?}: ifc needs fixed image shapes", dynamic.item_shape),
            });
        }
        let io = match options.shared_memory {
            SharedMemory::System => {
                let io = create_shm(model, &inputs, &outputs, max_batch)?;
                if let TensorIo::Shm { region, .. } = &io {
                    register(&runtime, &client, region)?;
                }
                io
            }
            SharedMemory::Cuda => cuda_io(&runtime, &client, &options, &inputs, max_batch, device)?,
            SharedMemory::Off => TensorIo::Raw { buffers: vec![Vec::new(); inputs.len()] },
        };
        Ok(Self { runtime, client, options, metadata, batched, max_batch, inputs, outputs, io, request_bytes_sent: 0 })
    }

    /// The async client, for RPCs the backend does not wrap.
    pub fn client(&self) -> &TritonClient {
        &self.client
    }

    /// The request [`InferBackend::run`] sends for `batch` images. In shared-memory mode it
    /// carries no tensor bytes, only where they lie in the region.
    pub fn infer_request(&self, batch: usize) -> Result<proto::ModelInferRequest, InferError> {
        self.check_batch(batch)?;
        let (inputs, raw_input_contents, outputs) = match &self.io {
            TensorIo::Raw { buffers } => {
                let mut raw = Vec::with_capacity(buffers.len());
                for (layout, buffer) in self.inputs.iter().zip(buffers) {
                    let len = self.batch_bytes(layout, batch);
                    let bytes = buffer
                        .get(..len)
                        .ok_or_else(|| self.input_error(layout, "input_buffer not filled for this batch"))?;
                    raw.push(raw_contents(bytes));
                }
                let inputs = self.inputs.iter().map(|l| input_tensor(l, batch, self.batched, None)).collect();
                let outputs = self.outputs.iter().map(|l| requested_output(&l.name, None)).collect();
                (inputs, raw, outputs)
            }
            #[cfg(feature = "cuda")]
            TensorIo::Cuda(_) => {
                return Err(InferError::Run {
                    model: self.options.model_name.clone(),
                    reason: "CUDA shared memory: requests are built per slot (run_slot)".to_owned(),
                })
            }
            TensorIo::Shm { inputs: places, outputs: out_places, .. } => {
                let inputs = self
                    .inputs
                    .iter()
                    .zip(places)
                    .map(|(l, p)| {
                        let place = ShmPlacement { byte_size: self.batch_bytes(l, batch), ..p.clone() };
                        input_tensor(l, batch, self.batched, Some(&place))
                    })
                    .collect();
                let outputs = match out_places {
                    Some(places) => self
                        .outputs
                        .iter()
                        .zip(places)
                        .map(|(l, p)| {
                            let place = ShmPlacement { byte_size: self.batch_bytes(l, batch), ..p.clone() };
                            requested_output(&l.name, Some(&place))
                        })
                        .collect(),
                    None => self.outputs.iter().map(|l| requested_output(&l.name, None)).collect(),
                };
                (inputs, Vec::new(), outputs)
            }
        };
        Ok(proto::ModelInferRequest {
            model_name: self.options.model_name.clone(),
            model_version: self.options.model_version.clone(),
            inputs,
            outputs,
            raw_input_contents,
            ..Default::default()
        })
    }

    /// Names of the system shared-memory regions the server has registered (all clients').
    pub fn registered_system_shm(&self) -> Result<Vec<String>, InferError> {
        let status = self.runtime.block_on(self.client.system_shm_status(""))?;
        Ok(status.regions.into_keys().collect())
    }

    /// Server and model both ready; the error says which is not.
    pub fn health(&self) -> Result<(), InferError> {
        let endpoint = self.options.url.clone();
        if !self.runtime.block_on(self.client.server_ready())? {
            return Err(InferError::Unavailable { endpoint, reason: "server not ready".to_owned() });
        }
        if !self.runtime.block_on(self.client.model_ready(&self.options.model_name, &self.options.model_version))? {
            return Err(InferError::ModelNotReady { endpoint, model: self.options.model_name.clone() });
        }
        Ok(())
    }

    /// A fresh connection (after the server restarted), with the shared-memory region
    /// registered again: a restarted server has forgotten it.
    pub fn reconnect(&mut self) -> Result<(), InferError> {
        let o = &self.options;
        self.client =
            self.runtime.block_on(TritonClient::connect(&o.url, o.timeout, o.retry.clone(), o.access_token.clone()))?;
        if let TensorIo::Shm { region, .. } = &self.io {
            // A server that kept running still has it; registering twice is an error.
            let _ = self.runtime.block_on(self.client.unregister_system_shm(region.name()));
            register(&self.runtime, &self.client, region)?;
        }
        #[cfg(feature = "cuda")]
        if let TensorIo::Cuda(io) = &self.io {
            let _ = self.runtime.block_on(self.client.unregister_cuda_shm(io.region.name()));
            self.runtime.block_on(io.region.register(&self.client))?;
        }
        self.health()
    }

    /// Pipelined inference over one ModelStreamInfer stream: `requests[k][i]` holds input `i`
    /// of request `k` (`batch` images, laid out as [`InferBackend::input_buffer`]'s). The bytes
    /// travel in the messages even in shared-memory mode, since one region holds one batch.
    /// One result per request; the outer error is a broken stream.
    pub fn run_stream(
        &mut self,
        batch: usize,
        requests: &[Vec<Vec<u8>>],
    ) -> Result<Vec<Result<Vec<Output>, InferError>>, InferError> {
        self.check_batch(batch)?;
        let mut messages = Vec::with_capacity(requests.len());
        for (k, tensors) in requests.iter().enumerate() {
            if tensors.len() != self.inputs.len() {
                return Err(InferError::Run {
                    model: self.options.model_name.clone(),
                    reason: format!("stream request {k}: {} inputs, model has {}", tensors.len(), self.inputs.len()),
                });
            }
            for (layout, bytes) in self.inputs.iter().zip(tensors) {
                if bytes.len() != self.batch_bytes(layout, batch) {
                    return Err(self.input_error(layout, &format!("stream request {k}: {} bytes", bytes.len())));
                }
            }
            messages.push(proto::ModelInferRequest {
                model_name: self.options.model_name.clone(),
                model_version: self.options.model_version.clone(),
                id: k.to_string(),
                inputs: self.inputs.iter().map(|l| input_tensor(l, batch, self.batched, None)).collect(),
                outputs: self.outputs.iter().map(|l| requested_output(&l.name, None)).collect(),
                raw_input_contents: tensors.iter().map(|t| raw_contents(t)).collect(),
                ..Default::default()
            });
        }
        let responses = self.runtime.block_on(self.client.stream_infer(messages))?;
        let model = &self.options.model_name;
        Ok(responses.into_iter().map(|r| r.and_then(|r| decode_outputs(model, &r, |_, _| None))).collect())
    }

    fn check_batch(&self, batch: usize) -> Result<(), InferError> {
        if batch == 0 || batch > self.max_batch {
            return Err(InferError::BatchTooLarge {
                model: self.options.model_name.clone(),
                batch,
                max: self.max_batch,
            });
        }
        Ok(())
    }

    /// Bytes of `batch` items; checked against `max_batch` already, so no overflow: the region
    /// (or buffer) of `max_batch` items was allocated.
    fn batch_bytes(&self, layout: &TensorLayout, batch: usize) -> usize {
        layout.item_bytes.unwrap_or(0).saturating_mul(batch)
    }

    fn input_error(&self, layout: &TensorLayout, reason: &str) -> InferError {
        InferError::Input {
            model: self.options.model_name.clone(),
            input: layout.name.clone(),
            reason: reason.to_owned(),
        }
    }

    fn infer_once(&mut self, batch: usize) -> Result<Vec<Output>, InferError> {
        #[cfg(feature = "cuda")]
        if matches!(self.io, TensorIo::Cuda(_)) {
            return self.run_staged(batch);
        }
        let request = self.infer_request(batch)?;
        self.request_bytes_sent += u64::try_from(prost::Message::encoded_len(&request)).unwrap_or(u64::MAX);
        let response = self.runtime.block_on(self.client.infer(request))?;
        let model = &self.options.model_name;
        match &self.io {
            TensorIo::Raw { .. } => decode_outputs(model, &response, |_, _| None),
            #[cfg(feature = "cuda")]
            TensorIo::Cuda(_) => decode_outputs(model, &response, |_, _| None),
            TensorIo::Shm { region, outputs, .. } => {
                let places = outputs.as_deref().unwrap_or(&[]);
                decode_outputs(model, &response, |name, len| {
                    let place = places.iter().zip(&self.outputs).find(|(_, l)| l.name == name).map(|(p, _)| p)?;
                    // The placement's byte_size is the room for max_batch items.
                    (len <= place.byte_size).then_some(())?;
                    region.as_slice().get(place.offset..place.offset.checked_add(len)?)
                })
            }
        }
    }
}

impl InferBackend for TritonBackend {
    fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    fn max_batch(&self) -> usize {
        self.max_batch
    }

    fn input_buffer(&mut self, index: usize, batch: usize) -> Result<&mut [u8], InferError> {
        self.check_batch(batch)?;
        let model = self.options.model_name.clone();
        let layout = self.inputs.get(index).ok_or_else(|| InferError::Input {
            model: model.clone(),
            input: format!("#{index}"),
            reason: format!("the model has {} inputs", self.inputs.len()),
        })?;
        let len = layout.item_bytes.unwrap_or(0).saturating_mul(batch);
        match &mut self.io {
            TensorIo::Raw { buffers } => {
                let buffer = buffers.get_mut(index).ok_or_else(|| InferError::Input {
                    model,
                    input: layout.name.clone(),
                    reason: "no buffer".to_owned(),
                })?;
                buffer.resize(len, 0);
                Ok(buffer.as_mut_slice())
            }
            #[cfg(feature = "cuda")]
            TensorIo::Cuda(io) => {
                if index != 0 {
                    return Err(InferError::Input { model, input: layout.name.clone(), reason: "one input only".into() });
                }
                io.staging.resize(len, 0);
                Ok(io.staging.as_mut_slice())
            }
            TensorIo::Shm { region, inputs, .. } => {
                let offset = inputs.get(index).map_or(usize::MAX, |p| p.offset);
                let name = layout.name.clone();
                region.as_mut_slice().get_mut(offset..offset.saturating_add(len)).ok_or(InferError::Input {
                    model,
                    input: name,
                    reason: "outside the shared-memory region".to_owned(),
                })
            }
        }
    }

    fn run(&mut self, batch: usize) -> Result<Vec<Output>, InferError> {
        match self.infer_once(batch) {
            // A server restarted since we registered has forgotten the region: register again
            // and retry once.
            Err(InferError::Run { reason, .. }) if reason.contains("shared memory region") => {
                if let TensorIo::Shm { region, .. } = &self.io {
                    register(&self.runtime, &self.client, region)?;
                }
                #[cfg(feature = "cuda")]
                if let TensorIo::Cuda(io) = &self.io {
                    self.runtime.block_on(io.region.register(&self.client))?;
                }
                self.infer_once(batch)
            }
            other => other,
        }
    }

    fn backend_name(&self) -> &'static str {
        match self.io {
            TensorIo::Raw { .. } => "triton-grpc",
            TensorIo::Shm { .. } => "triton-grpc-shm",
            #[cfg(feature = "cuda")]
            TensorIo::Cuda(_) => "triton-grpc-cuda-shm",
        }
    }

    fn request_bytes_sent(&self) -> u64 {
        self.request_bytes_sent
    }
}

impl Drop for TritonBackend {
    fn drop(&mut self) {
        if let TensorIo::Shm { region, .. } = &self.io {
            // Best effort: a dead server has nothing to unregister; the region file goes anyway.
            let _ = self.runtime.block_on(self.client.unregister_system_shm(region.name()));
        }
        #[cfg(feature = "cuda")]
        if let TensorIo::Cuda(io) = &self.io {
            // Best effort, as above; the device buffer is freed when the region drops.
            let _ = self.runtime.block_on(self.client.unregister_cuda_shm(io.region.name()));
        }
    }
}

/// One region: each input, then each output, room for `max_batch` items, 64-byte aligned.
/// Outputs with a dynamic dimension cannot be placed; then all outputs come back as raw bytes.
fn create_shm(
    model: &str,
    inputs: &[TensorLayout],
    outputs: &[TensorLayout],
    max_batch: usize,
) -> Result<TensorIo, InferError> {
    let overflow = || InferError::Load { model: model.to_owned(), reason: "tensor sizes overflow".to_owned() };
    let mut end = 0usize;
    let mut place = |layout: &TensorLayout| -> Result<(usize, usize), InferError> {
        let size = layout.item_bytes.and_then(|b| b.checked_mul(max_batch)).ok_or_else(overflow)?;
        let offset = end.checked_next_multiple_of(SHM_ALIGN_BYTES).ok_or_else(overflow)?;
        end = offset.checked_add(size).ok_or_else(overflow)?;
        Ok((offset, size))
    };
    let input_places = inputs.iter().map(&mut place).collect::<Result<Vec<_>, _>>()?;
    let output_places = if outputs.iter().all(|o| o.item_bytes.is_some()) {
        Some(outputs.iter().map(&mut place).collect::<Result<Vec<_>, _>>()?)
    } else {
        None
    };
    let region = SharedMemoryRegion::create(end).map_err(|e| InferError::Load {
        model: model.to_owned(),
        reason: format!("creating the shared-memory region: {e}"),
    })?;
    let to_placement =
        |(offset, byte_size): (usize, usize)| ShmPlacement { region: region.name().to_owned(), offset, byte_size };
    let inputs = input_places.into_iter().map(to_placement).collect();
    let outputs = output_places.map(|p| p.into_iter().map(to_placement).collect());
    Ok(TensorIo::Shm { region, inputs, outputs })
}

fn register(
    runtime: &tokio::runtime::Runtime,
    client: &TritonClient,
    region: &SharedMemoryRegion,
) -> Result<(), InferError> {
    let byte_size = u64::try_from(region.byte_size()).unwrap_or(u64::MAX);
    runtime.block_on(client.register_system_shm(region.name(), &region.key(), byte_size))
}

#[cfg(feature = "cuda")]
type CudaDevice = Option<crate::gpu::Device>;
#[cfg(not(feature = "cuda"))]
type CudaDevice = Option<std::convert::Infallible>;

/// CUDA mode: the device, opened before any RPC (a typed error without a GPU, never a panic).
#[cfg(feature = "cuda")]
fn cuda_device(options: &TritonOptions) -> Result<CudaDevice, InferError> {
    if options.shared_memory != SharedMemory::Cuda {
        return Ok(None);
    }
    crate::gpu::Device::open(options.cuda_device).map(Some).map_err(|e| InferError::Unavailable {
        endpoint: options.url.clone(),
        reason: format!("CUDA shared memory needs CUDA device {}: {e}", options.cuda_device),
    })
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(options: &TritonOptions) -> Result<CudaDevice, InferError> {
    if options.shared_memory != SharedMemory::Cuda {
        return Ok(None);
    }
    Err(InferError::Unavailable {
        endpoint: options.url.clone(),
        reason: "CUDA shared memory: ifc was built without the `cuda` feature".to_owned(),
    })
}

#[cfg(feature = "cuda")]
fn cuda_io(
    runtime: &tokio::runtime::Runtime,
    client: &TritonClient,
    options: &TritonOptions,
    inputs: &[TensorLayout],
    max_batch: usize,
    device: CudaDevice,
) -> Result<TensorIo, InferError> {
    let model = options.model_name.as_str();
    let device = device.ok_or_else(|| InferError::Load { model: model.to_owned(), reason: "no CUDA device".into() })?;
    let io = cuda_backend::CudaIo::create(&device, model, inputs, max_batch, options.cuda_slots)?;
    runtime.block_on(io.region.register(client))?;
    Ok(TensorIo::Cuda(io))
}

#[cfg(not(feature = "cuda"))]
fn cuda_io(
    _runtime: &tokio::runtime::Runtime,
    _client: &TritonClient,
    options: &TritonOptions,
    _inputs: &[TensorLayout],
    _max_batch: usize,
    _device: CudaDevice,
) -> Result<TensorIo, InferError> {
    Err(InferError::Load {
        model: options.model_name.clone(),
        reason: "CUDA shared memory: ifc was built without the `cuda` feature".to_owned(),
    })
}
