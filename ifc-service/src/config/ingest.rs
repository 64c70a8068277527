//! `ingest`: streams that cameras push to the server. Today RTSP publish (ANNOUNCE/RECORD);
//! a camera of kind `push` publishes to `rtsp://HOST:PORT/cameras/<camera name>`.

use std::net::SocketAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub rtsp: RtspIngestConfig,
}

/// The RTSP publish listener (`ffmpeg -f rtsp`, GStreamer's `rtspclientsink`, cameras that push).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RtspIngestConfig {
    /// Whether to listen at all.
    pub enabled: bool,
    /// Address of the RTSP listener (TCP; UDP ports for RTP are bound per session on the same
    /// IP address). Port 0 picks a free one (printed at start).
    pub listen: SocketAddr,
    /// The Digest realm publishers are challenged with.
    pub realm: String,
    /// Accept Basic authentication too (the password in clear on every request). Off: Digest only.
    pub allow_basic: bool,
    /// Connections served at once; more are answered 503 and closed.
    pub max_sessions: usize,
    /// Largest RTSP header block accepted, bytes (at most 65536).
    pub max_header_bytes: usize,
    /// Largest RTSP body (the ANNOUNCE's SDP) accepted, bytes (at most 1 MiB).
    pub max_body_bytes: usize,
    /// A connection that completes no request for this long before RECORD is closed
    /// (half-open and idle connections), milliseconds.
    pub read_timeout_ms: u64,
    /// A recording session that sends no RTP for this long is closed and its camera reported
    /// `stalled` (a `camera-status` event), milliseconds.
    pub idle_timeout_ms: u64,
    /// How long a Digest nonce is accepted after it was issued, seconds.
    pub nonce_lifetime_s: u64,
}

impl Default for RtspIngestConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8554)),
            realm: "ifc".into(),
            allow_basic: false,
            max_sessions: 64,
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            read_timeout_ms: 10_000,
            idle_timeout_ms: 5_000,
            nonce_lifetime_s: 300,
        }
    }
}
