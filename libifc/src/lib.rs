//! `libifc`: the media core of ImageFlowCanvas.
//!
//! Everything in this crate that reads bitstreams or containers is *sans-IO*: bytes and
//! timestamps go in, items come out; nothing there opens a socket, reads a clock or touches
//! a GPU. The I/O lives in the binaries (`bins/ifc`) and in a few adapters at the edges: the
//! RTSP session (`rtsp::Session`, one blocking TCP connection), the Triton client, the GPU.
//!
//! # Time model
//! Media time is counted in integer ticks of a stated timescale. Streams that ifc times itself
//! (raw Annex B input) use 90 kHz (`pts_90k`); samples read from MP4 keep their track's timescale
//! so that remuxing never rounds a timestamp.
//!
//! # Layout
//! - [`codec`]: NAL units (Annex B and length-prefixed), H.264 and H.265 parameter sets,
//!   access-unit assembly, random-access points, RFC 6381 codec strings.
//! - [`mp4`]: the MP4 demuxer (progressive and fragmented) and the fMP4/CMAF muxer.
//! - [`hls`]: the HLS media playlist writer.
//! - [`remux`]: raw Annex B or MP4 in, fMP4 segments and an HLS playlist out (the Recorder).
//! - [`rtp`]: RTP packets of one H.264/H.265 stream into access units (RFC 3550, 6184, 7798).
//! - [`probe`]: stream analysis (frame count, GOP structure) for `ifc probe`.
//! - [`decode`]: the `Decoder` trait and its backends (libavcodec on the CPU), frame sampling
//!   and QoS.
//! - [`gpu_path`]: which path (NVDEC + CUDA, CPU decode + CUDA preprocessing, CPU) this
//!   machine can take and why; probed at run time, logged once.
//! - [`preprocess`]: one-pass colour conversion, resize, letterbox and normalisation into a
//!   caller-provided model input buffer.
//! - [`infer`]: the `InferBackend` contract (model metadata, input buffers lent to
//!   preprocessing, outputs).
//! - [`postprocess`]: softmax/top-k, YOLOv5/YOLOv8 decoding, class-aware NMS, boxes mapped
//!   back to source pixels.
//! - [`verdict`]: declarative OK/NG rules per frame and their aggregate per time window.
//! - [`pipeline`]: the versioned pipeline document (nodes and typed edges) and its JSON Schema.
//! - [`rtsp`]: an RTSP 1.0 client pulling one H.264/H.265 stream from a camera (sans-IO
//!   parsers, one blocking adapter over `std::net::TcpStream`); RTP packets out.
//! - [`live`]: a camera's RTSP stream as decoder configurations and packets (session →
//!   depacketizer → `remux::LiveSource`).
//! - [`inspect`]: a recording or a camera inspected as an endless stream: decoding and
//!   inference on their own threads behind a bounded queue, drops before inference counted,
//!   cameras reconnected with backoff (`StreamInspection`, used by `ifc run` and `ifc serve`).
//!
//! Unsafe code is denied crate-wide; the parsers and muxers forbid it outright, and the few
//! modules that need it (SIMD kernels, FFI) allow it locally with a `// SAFETY:` line per block.
#![deny(unsafe_code)]

mod error;

pub mod annotate;
pub mod codec;
pub mod decode;
pub mod dlpack;
#[cfg(feature = "cuda")]
pub mod gpu;
pub mod gpu_path;
pub mod hls;
pub mod infer;
pub mod inspect;
pub mod live;
pub mod mp4;
pub mod pipeline;
pub mod postprocess;
pub mod preprocess;
pub mod probe;
pub mod record;
pub mod remux;
pub mod rtp;
pub mod rtsp;
pub mod runner;
#[cfg(test)]
mod test_rng;
#[cfg(test)]
mod test_tolerance;
pub mod verdict;

pub use error::{ParseError, ParseErrorKind};
