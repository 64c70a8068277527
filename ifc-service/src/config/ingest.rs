//! `ingest`: streams that cameras push to the server: RTSP publish (ANNOUNCE/RECORD) and WHIP
//! (RFC 9725, WebRTC from browsers and apps). A camera of kind `push` publishes to
//! `rtsp://HOST:PORT/cameras/<camera name>` or `POST /api/v1/whip/cameras/<camera name>`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub rtsp: RtspIngestConfig,
    pub whip: WhipIngestConfig,
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

/// WHIP (RFC 9725): browsers and apps publish one video track over WebRTC. The HTTP side is
/// the API's listener (`POST /api/v1/whip/cameras/<name>`); media comes over UDP, one socket
/// per session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WhipIngestConfig {
    /// Whether the WHIP endpoints answer at all (off: 404).
    pub enabled: bool,
    /// The IP address each session's UDP socket binds (a free port per session).
    pub udp_bind: IpAddr,
    /// The address put in the answer's host candidate, when it differs from `udp_bind`
    /// (behind 1:1 NAT, or `udp_bind` is `0.0.0.0`). Default: `udp_bind`.
    pub public_ip: Option<IpAddr>,
    /// ICE servers announced to clients in `Link: <URL>; rel="ice-server"` headers of the POST
    /// answer (RFC 9725 §4.6), e.g. `stun:stun.example.net:3478`. Empty: no `Link` header.
    pub ice_servers: Vec<String>,
    /// Sessions at once (all cameras); more are answered 503.
    pub max_sessions: usize,
    /// A session whose ICE and DTLS do not complete in this long is closed, milliseconds.
    pub connect_timeout_ms: u64,
    /// A connected session that sends no video for this long is closed and its camera
    /// reported `stalled` (a `camera-status` event), milliseconds.
    pub idle_timeout_ms: u64,
    /// Largest SDP offer accepted, bytes.
    pub max_offer_bytes: usize,
}

impl Default for WhipIngestConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            udp_bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            public_ip: None,
            ice_servers: Vec::new(),
            max_sessions: 64,
            connect_timeout_ms: 15_000,
            idle_timeout_ms: 5_000,
            max_offer_bytes: 64 * 1024,
        }
    }
}
