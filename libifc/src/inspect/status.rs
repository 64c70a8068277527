//! [`SourceStatus`]: where a stream's source stands, reported to the caller's callback on
//! every change (the service turns them into camera status events).

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceStatus {
    /// Opening the file, or connecting to the camera (RTSP handshake).
    Connecting,
    /// Packets are flowing.
    Live,
    /// The session failed or ended; the next attempt starts in `retry_in_ms`.
    Backoff { retry_in_ms: u64, reason: String },
    /// A pushed source sent nothing for too long and was closed; a new publisher may come.
    Stalled { reason: String },
    /// The source failed for good (the reconnect policy gave up, a decoder could not open, a
    /// sink failed); the inspection ends.
    Error { reason: String },
    /// The source ended: a file that does not loop reached its end, or the inspection was
    /// stopped.
    Ended,
}

impl std::fmt::Display for SourceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connecting => f.write_str("connecting"),
            Self::Live => f.write_str("live"),
            Self::Backoff { retry_in_ms, reason } => write!(f, "backoff (retry in {retry_in_ms} ms): {reason}"),
            Self::Stalled { reason } => write!(f, "stalled: {reason}"),
            Self::Error { reason } => write!(f, "error: {reason}"),
            Self::Ended => f.write_str("ended"),
        }
    }
}
