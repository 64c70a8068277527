//! [`RtspError`]: what can go wrong pulling a stream. Every message starts with the camera's
//! URL, redacted (no user information, secret-looking query values masked).

use std::io;

use super::message::Method;
use super::sdp::SdpError;
use super::url::UrlError;
use crate::error::ParseError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtspError {
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The TCP connection could not be made (refused, unreachable, name not resolved).
    #[error("{url}: cannot connect: {source}")]
    Connect {
        url: String,
        #[source]
        source: io::Error,
    },
    /// Nothing arrived (or could be sent) for the configured timeout.
    #[error("{url}: timed out after {after_ms} ms {during}")]
    Timeout { url: String, during: String, after_ms: u64 },
    #[error("{url}: I/O error {during}: {source}")]
    Io {
        url: String,
        during: String,
        #[source]
        source: io::Error,
    },
    /// The server closed the connection where it should not have.
    #[error("{url}: the server closed the connection {during}")]
    ConnectionClosed { url: String, during: String },
    /// The server's bytes are not RTSP (junk, oversized headers or body, bad framing), or a
    /// request could not be written (a server-sent value that would break the framing).
    #[error("{url}: protocol error: {source}")]
    Protocol {
        url: String,
        #[source]
        source: ParseError,
    },
    /// 401 after sending credentials, or 401 with no usable credentials or scheme.
    #[error("{url}: {method} unauthorized (401): {reason}")]
    Unauthorized { url: String, method: Method, reason: String },
    /// 404 (the path is wrong).
    #[error("{url}: {method}: not found (404)")]
    NotFound { url: String, method: Method },
    /// Any other non-success status.
    #[error("{url}: {method} failed: {code} {reason}")]
    Status { url: String, method: Method, code: u16, reason: String },
    /// The description has no playable video, or is malformed.
    #[error("{url}: {source}")]
    Sdp {
        url: String,
        #[source]
        source: SdpError,
    },
    /// The server answered in a way this client does not handle (e.g. UDP transport).
    #[error("{url}: unsupported: {what}")]
    Unsupported { url: String, what: String },
}

impl RtspError {
    pub(crate) fn unauthorized(url: &str, method: Method, reason: impl ToString) -> Self {
        Self::Unauthorized { url: url.to_owned(), method, reason: reason.to_string() }
    }
}
