//! Triton Inference Server over gRPC: the KServe v2 inference protocol plus Triton's
//! shared-memory extension (`proto/grpc_service.proto`).
//!
//! Two modes, chosen by [`TritonOptions::shared_memory`]:
//! - `triton-grpc`: input bytes travel in `raw_input_contents`, outputs in
//!   `raw_output_contents`;
//! - `triton-grpc-shm`: ifc creates a POSIX shared-memory region, registers it once with the
//!   server, and preprocessing writes the batch straight into it; requests then carry only the
//!   region name, offset and byte size of each tensor, and outputs come back in the same region.
//!   The server must run on the same host (it maps the region by name).
//!
//! The library's parsers are sans-IO; this module is the I/O adapter: it owns a private tokio
//! runtime and offers the blocking [`crate::infer::InferBackend`] API over it.

mod backend;
mod client;
#[cfg(feature = "cuda")]
mod cuda_shm;
mod datatype;
mod request;
mod retry;
mod shm;
mod slots;

/// Messages and client stub generated from `proto/` by tonic-build.
#[allow(clippy::all, clippy::pedantic, unreachable_pub, missing_docs, rust_2018_idioms, unused_qualifications)]
pub mod proto {
    tonic::include_proto!("inference");
}

pub use backend::{TritonBackend, TritonOptions};
pub use client::{AccessToken, Protocol, TritonClient};
#[cfg(feature = "cuda")]
pub use cuda_shm::{CudaShmRegion, SlotInput};
pub use datatype::{element_type_from_triton, triton_datatype};
pub use retry::RetryPolicy;
pub use shm::SharedMemoryRegion;
pub use slots::{InFlightSlot, ReadySlot, Slot, SlotRing};
