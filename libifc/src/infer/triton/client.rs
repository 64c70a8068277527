//! The async gRPC client: deadlines, retries on UNAVAILABLE, the restricted-protocol header,
//! and Triton's errors mapped to [`InferError`].

use std::future::Future;
use std::time::Duration;

use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use super::datatype::element_type_from_triton;
use super::proto;
use super::proto::grpc_inference_service_client::GrpcInferenceServiceClient;
use super::retry::RetryPolicy;
use crate::infer::{InferError, ModelMetadata, TensorInfo};

/// Outputs of a 64-image batch of a detector fit easily; the default (4 MiB) does not.
const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// Triton's protocol groups that `--grpc-restricted-protocol` can restrict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    Health,
    Metadata,
    Inference,
    SharedMemory,
    ModelConfig,
}

/// The header a server started with `--grpc-restricted-protocol=<group>:<KEY>=<VALUE>` wants on
/// that group's RPCs: `triton-grpc-protocol-<KEY>: <VALUE>`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    key: AsciiMetadataKey,
    value: AsciiMetadataValue,
    protocols: Vec<Protocol>,
}

impl std::fmt::Debug for AccessToken {
    // The value is a credential: keep it out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("key", &self.key)
            .field("value", &"<redacted>")
            .field("protocols", &self.protocols)
            .finish()
    }
}

impl AccessToken {
    /// `key` and `value` as given to `--grpc-restricted-protocol`; the token is sent on the RPCs
    /// of `protocols`. Fails when they cannot form an HTTP/2 header.
    pub fn new(key: &str, value: &str, protocols: &[Protocol]) -> Result<Self, InferError> {
        let invalid = |what: &str| InferError::Protocol {
            endpoint: String::new(),
            reason: format!("access token {what} is not a valid gRPC header"),
        };
        let header = format!("triton-grpc-protocol-{}", key.to_ascii_lowercase());
        let key: AsciiMetadataKey = header.parse().map_err(|_| invalid("key"))?;
        let value: AsciiMetadataValue = value.parse().map_err(|_| invalid("value"))?;
        Ok(Self { key, value, protocols: protocols.to_vec() })
    }

    pub fn header_name(&self) -> &str {
        self.key.as_str()
    }
}

/// A connection to one Triton server.
#[derive(Debug, Clone)]
pub struct TritonClient {
    grpc: GrpcInferenceServiceClient<Channel>,
    endpoint: String,
    timeout: Duration,
    retry: RetryPolicy,
    token: Option<AccessToken>,
}

impl TritonClient {
    /// Connects to `url` (`http://127.0.0.1:8001`), `timeout` bounding the connect and each call;
    /// an unreachable server is retried by `retry`, then reported as [`InferError::Unavailable`].
    pub async fn connect(
        url: &str,
        timeout: Duration,
        retry: RetryPolicy,
        token: Option<AccessToken>,
    ) -> Result<Self, InferError> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| InferError::Protocol { endpoint: url.to_owned(), reason: format!("bad url: {e}") })?
            .connect_timeout(timeout)
            .timeout(timeout)
            .tcp_nodelay(true);
        let mut attempt = 1;
        let channel = loop {
            match endpoint.connect().await {
                Ok(channel) => break channel,
                Err(_) if attempt < retry.max_attempts => {
                    tokio::time::sleep(retry.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(InferError::Unavailable {
                        endpoint: url.to_owned(),
                        reason: format!("connect failed after {attempt} attempts: {}", error_chain(&e)),
                    })
                }
            }
        };
        let grpc = GrpcInferenceServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Self { grpc, endpoint: url.to_owned(), timeout, retry, token })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A request with the call's deadline (`grpc-timeout`) and, for restricted groups, the token.
    pub fn request<M>(&self, protocol: Protocol, message: M) -> tonic::Request<M> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.timeout);
        if let Some(token) = self.token.as_ref().filter(|t| t.protocols.contains(&protocol)) {
            request.metadata_mut().insert(token.key.clone(), token.value.clone());
        }
        request
    }

    /// Runs `call` until it succeeds, fails with something other than UNAVAILABLE, or the retry
    /// policy's attempts are spent; waits the policy's backoff between attempts.
    async fn with_retry<T, F, Fut>(&self, model: &str, mut call: F) -> Result<T, InferError>
    where
        F: FnMut(GrpcInferenceServiceClient<Channel>) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let mut attempt = 1;
        loop {
            match call(self.grpc.clone()).await {
                Ok(value) => return Ok(value),
                Err(status) => {
                    let error = self.status_error(model, &status);
                    let retryable = matches!(error, InferError::Unavailable { .. }) && is_unreachable(&status);
                    if !retryable || attempt >= self.retry.max_attempts {
                        return Err(error);
                    }
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Triton's status → [`InferError`]. Triton answers a missing or unloaded model with
    /// UNAVAILABLE or NOT_FOUND and a message naming it; that must not be retried.
    pub fn status_error(&self, model: &str, status: &Status) -> InferError {
        let message = status.message();
        if is_model_missing(message) {
            return InferError::ModelNotReady { endpoint: self.endpoint.clone(), model: model.to_owned() };
        }
        if message.contains("restricted") {
            return InferError::Protocol { endpoint: self.endpoint.clone(), reason: message.to_owned() };
        }
        if is_unreachable(status) {
            return InferError::Unavailable {
                endpoint: self.endpoint.clone(),
                reason: format!("{:?}: {message}", status.code()),
            };
        }
        match status.code() {
            Code::DeadlineExceeded | Code::Cancelled => InferError::Unavailable {
                endpoint: self.endpoint.clone(),
                reason: format!("{:?}: {message}", status.code()),
            },
            _ => InferError::Run { model: model.to_owned(), reason: format!("{:?}: {message}", status.code()) },
        }
    }

    pub async fn server_live(&self) -> Result<bool, InferError> {
        self.with_retry("", |mut c| {
            let request = self.request(Protocol::Health, proto::ServerLiveRequest {});
            async move { c.server_live(request).await }
        })
        .await
        .map(|r| r.into_inner().live)
    }

    pub async fn server_ready(&self) -> Result<bool, InferError> {
        self.with_retry("", |mut c| {
            let request = self.request(Protocol::Health, proto::ServerReadyRequest {});
            async move { c.server_ready(request).await }
        })
        .await
        .map(|r| r.into_inner().ready)
    }

    pub async fn model_ready(&self, model: &str, version: &str) -> Result<bool, InferError> {
        let message = proto::ModelReadyRequest { name: model.to_owned(), version: version.to_owned() };
        self.with_retry(model, |mut c| {
            let request = self.request(Protocol::Health, message.clone());
            async move { c.model_ready(request).await }
        })
        .await
        .map(|r| r.into_inner().ready)
    }

    /// The model's tensors, with Triton's datatype names mapped to [`crate::infer::ElementType`].
    pub async fn model_metadata(&self, model: &str, version: &str) -> Result<ModelMetadata, InferError> {
        let message = proto::ModelMetadataRequest { name: model.to_owned(), version: version.to_owned() };
        let response = self
            .with_retry(model, |mut c| {
                let request = self.request(Protocol::Metadata, message.clone());
                async move { c.model_metadata(request).await }
            })
            .await?
            .into_inner();
        let convert = |tensors: Vec<proto::model_metadata_response::TensorMetadata>, kind: &str| {
            tensors
                .into_iter()
                .map(|t| match element_type_from_triton(&t.datatype) {
                    Some(dtype) => Ok(TensorInfo { name: t.name, dtype, shape: t.shape }),
                    None => Err(InferError::Load {
                        model: model.to_owned(),
                        reason: format!("{kind} {:?}: datatype {} is not supported", t.name, t.datatype),
                    }),
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(ModelMetadata {
            name: response.name,
            inputs: convert(response.inputs, "input")?,
            outputs: convert(response.outputs, "output")?,
        })
    }

    pub async fn model_config(&self, model: &str, version: &str) -> Result<proto::ModelConfig, InferError> {
        let message = proto::ModelConfigRequest { name: model.to_owned(), version: version.to_owned() };
        let response = self
            .with_retry(model, |mut c| {
                let request = self.request(Protocol::ModelConfig, message.clone());
                async move { c.model_config(request).await }
            })
            .await?
            .into_inner();
        response.config.ok_or_else(|| InferError::Protocol {
            endpoint: self.endpoint.clone(),
            reason: format!("model {model}: ModelConfig response without a config"),
        })
    }

    pub async fn infer(&self, message: proto::ModelInferRequest) -> Result<proto::ModelInferResponse, InferError> {
        let model = message.model_name.clone();
        self.with_retry(&model, |mut c| {
            // Cheap: the tensor bytes are `Bytes`, shared, not copied.
            let request = self.request(Protocol::Inference, message.clone());
            async move { c.model_infer(request).await }
        })
        .await
        .map(tonic::Response::into_inner)
    }

    /// Sends `messages` on one ModelStreamInfer stream without waiting between them (pipelined)
    /// and collects one result per request, in order. A request the server rejects is reported in
    /// its slot (the stream's `error_message`); a broken stream fails the whole call.
    pub async fn stream_infer(
        &self,
        messages: Vec<proto::ModelInferRequest>,
    ) -> Result<Vec<Result<proto::ModelInferResponse, InferError>>, InferError> {
        let model = messages.first().map(|m| m.model_name.clone()).unwrap_or_default();
        let expected = messages.len();
        let responses = self
            .with_retry(&model, |mut c| {
                let request = self.request(Protocol::Inference, tokio_stream::iter(messages.clone()));
                async move {
                    let mut inbound = c.model_stream_infer(request).await?.into_inner();
                    let mut responses = Vec::with_capacity(expected);
                    while responses.len() < expected {
                        match inbound.message().await? {
                            Some(response) => responses.push(response),
                            None => break,
                        }
                    }
                    Ok(responses)
                }
            })
            .await?;
        if responses.len() != expected {
            return Err(InferError::Protocol {
                endpoint: self.endpoint.clone(),
                reason: format!("ModelStreamInfer: {} responses to {expected} requests", responses.len()),
            });
        }
        Ok(responses
            .into_iter()
            .map(|r| match (r.error_message.is_empty(), r.infer_response) {
                (true, Some(response)) => Ok(response),
                (true, None) => Err(InferError::Protocol {
                    endpoint: self.endpoint.clone(),
                    reason: "ModelStreamInfer: response without result or error".to_owned(),
                }),
                (false, _) if is_model_missing(&r.error_message) => {
                    Err(InferError::ModelNotReady { endpoint: self.endpoint.clone(), model: model.clone() })
                }
                (false, _) => Err(InferError::Run { model: model.clone(), reason: r.error_message }),
            })
            .collect())
    }

    /// Registers the whole of a system shared-memory object `key` under `name`.
    pub async fn register_system_shm(&self, name: &str, key: &str, byte_size: u64) -> Result<(), InferError> {
        let message = proto::SystemSharedMemoryRegisterRequest {
            name: name.to_owned(),
            key: key.to_owned(),
            offset: 0,
            byte_size,
        };
        self.with_retry("", |mut c| {
            let request = self.request(Protocol::SharedMemory, message.clone());
            async move { c.system_shared_memory_register(request).await }
        })
        .await
        .map(drop)
    }

    pub async fn unregister_system_shm(&self, name: &str) -> Result<(), InferError> {
        let message = proto::SystemSharedMemoryUnregisterRequest { name: name.to_owned() };
        self.with_retry("", |mut c| {
            let request = self.request(Protocol::SharedMemory, message.clone());
            async move { c.system_shared_memory_unregister(request).await }
        })
        .await
        .map(drop)
    }

    pub async fn system_shm_status(&self, name: &str) -> Result<proto::SystemSharedMemoryStatusResponse, InferError> {
        let message = proto::SystemSharedMemoryStatusRequest { name: name.to_owned() };
        self.with_retry("", |mut c| {
            let request = self.request(Protocol::SharedMemory, message.clone());
            async move { c.system_shared_memory_status(request).await }
        })
        .await
        .map(tonic::Response::into_inner)
    }

    pub async fn cuda_shm_status(&self, name: &str) -> Result<proto::CudaSharedMemoryStatusResponse, InferError> {
        let message = proto::CudaSharedMemoryStatusRequest { name: name.to_owned() };
        self.with_retry("", |mut c| {
            let request = self.request(Protocol::SharedMemory, message.clone());
            async move { c.cuda_shared_memory_status(request).await }
        })
        .await
        .map(tonic::Response::into_inner)
    }

    /// Registers a CUDA IPC handle (`cudaIpcMemHandle_t` bytes) of `device_id`.
    pub async fn register_cuda_shm(
        &self,
        name: &str,
        raw_handle: bytes::Bytes,
        device_id: i64,
        byte_size: u64,
    ) -> Result<(), InferError> {
        let message =
            proto::CudaSharedMemoryRegisterRequest { name: name.to_owned(), raw_handle, device_id, byte_size };
        self.with_retry("", |mut c| {
            let request = self.request(Protocol::SharedMemory, message.clone());
            async move { c.cuda_shared_memory_register(request).await }
        })
        .await
        .map(drop)
    }

    pub async fn unregister_cuda_shm(&self, name: &str) -> Result<(), InferError> {
        let message = proto::CudaSharedMemoryUnregisterRequest { name: name.to_owned() };
        self.with_retry("", |mut c| {
            let request = self.request(Protocol::SharedMemory, message.clone());
            async move { c.cuda_shared_memory_unregister(request).await }
        })
        .await
        .map(drop)
    }
}

/// The server cannot be reached: UNAVAILABLE, or tonic's UNKNOWN "transport error" when the
/// connection broke mid-call (a killed server). Only these are retried.
fn is_unreachable(status: &Status) -> bool {
    match status.code() {
        Code::Unavailable => true,
        Code::Unknown => status.message().contains("transport error"),
        _ => false,
    }
}

/// Triton's wording for a model it does not have or has not loaded (server/src/grpc, core's
/// model repository manager).
fn is_model_missing(message: &str) -> bool {
    message.contains("unknown model") || message.contains("is not ready") || message.contains("no available versions")
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_header_is_triton_grpc_protocol_key_and_value_stays_out_of_debug() {
        let token = AccessToken::new("Admin", "s3cret", &[Protocol::SharedMemory]).expect("valid");
        assert_eq!(token.header_name(), "triton-grpc-protocol-admin");
        assert!(!format!("{token:?}").contains("s3cret"));
        assert!(AccessToken::new("a b", "v", &[]).is_err());
        assert!(AccessToken::new("k", "line\nbreak", &[]).is_err());
    }

    #[test]
    fn missing_model_messages_are_recognised() {
        assert!(is_model_missing("Request for unknown model: 'nope' is not found"));
        assert!(is_model_missing("Request for unknown model: 'm' has no available versions"));
        assert!(!is_model_missing("unexpected shape for input 'images'"));
    }

    #[test]
    fn only_unreachable_servers_are_retried() {
        assert!(is_unreachable(&Status::unavailable("connection refused")));
        assert!(is_unreachable(&Status::unknown("transport error")));
        assert!(!is_unreachable(&Status::unknown("model raised")));
        assert!(!is_unreachable(&Status::invalid_argument("bad shape")));
        assert!(!is_unreachable(&Status::deadline_exceeded("slow")));
    }
}
