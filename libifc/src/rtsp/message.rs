//! RTSP 1.0 messages (RFC 2326 §6, §7): requests this client sends, responses and requests
//! it receives. Parsing lives in [`super::reader`].

use std::fmt;

use bytes::Bytes;

use crate::error::{ParseError, Result};

/// `User-Agent` unless the options say otherwise.
pub const DEFAULT_USER_AGENT: &str = concat!("ifc/", env!("CARGO_PKG_VERSION"));

/// The methods this client sends (RFC 2326 §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    Options,
    Describe,
    Setup,
    Play,
    Teardown,
    GetParameter,
    /// A publisher's: the description of what it will send (RFC 2326 §10.3).
    Announce,
    /// A publisher's: start sending (§10.11).
    Record,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Options => "OPTIONS",
            Method::Describe => "DESCRIBE",
            Method::Setup => "SETUP",
            Method::Play => "PLAY",
            Method::Teardown => "TEARDOWN",
            Method::GetParameter => "GET_PARAMETER",
            Method::Announce => "ANNOUNCE",
            Method::Record => "RECORD",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Header fields in arrival order; names compare ASCII case-insensitively (RFC 2326 §4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (`WWW-Authenticate` may come once per scheme).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `CSeq` (§12.17), when present and a number.
    pub fn cseq(&self) -> Option<u32> {
        self.get("CSeq").and_then(|v| v.trim().parse().ok())
    }

    pub(crate) fn push(&mut self, name: String, value: String) {
        self.0.push((name, value));
    }

    /// Appends a continuation line (RFC 822 folding) to the last value.
    pub(crate) fn continue_last(&mut self, more: &str) -> bool {
        match self.0.last_mut() {
            Some((_, value)) => {
                value.push(' ');
                value.push_str(more);
                true
            }
            None => false,
        }
    }
}

/// A response (§7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Bytes,
}

/// A request from the server (§10: OPTIONS, ANNOUNCE, GET_PARAMETER, SET_PARAMETER,
/// REDIRECT may flow server → client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingRequest {
    pub method: String,
    pub uri: String,
    pub headers: Headers,
    pub body: Bytes,
}

/// A request to send: method, Request-URI (no user information) and header fields.
/// `CSeq` and `User-Agent` are added when serialising. `Debug` redacts the URI and the
/// `Authorization` value.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    uri: String,
    headers: Vec<(&'static str, String)>,
    /// `Content-Type` and the body (ANNOUNCE's SDP).
    body: Option<(&'static str, Vec<u8>)>,
}

impl Request {
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        Self { method, uri: uri.into(), headers: Vec::new(), body: None }
    }

    /// A body of `content_type`, sent with its `Content-Length`.
    #[must_use]
    pub fn body(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some((content_type, body.into()));
        self
    }

    /// Adds a header field (`Session`, `Authorization`, `Transport`, `Accept`, `Range`...).
    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn method(&self) -> Method {
        self.method
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// `METHOD uri RTSP/1.0`, `CSeq`, `User-Agent`, the header fields, an empty line.
    ///
    /// Text that would break the framing (CR, LF, NUL anywhere; whitespace in the URI) is
    /// refused: it comes from the server (a session id, an SDP control URL) or the user.
    pub fn serialize(&self, cseq: u32, user_agent: &str) -> Result<Vec<u8>> {
        if self.uri.is_empty() || self.uri.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(ParseError::invalid("rtsp.request.uri", "empty, or holds whitespace or control characters"));
        }
        let breaks_framing = |text: &str| text.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0));
        if breaks_framing(user_agent) || self.headers.iter().any(|(_, value)| breaks_framing(value)) {
            return Err(ParseError::invalid("rtsp.request.headers", "a value holds CR, LF or NUL"));
        }
        let mut out = format!("{} {} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {user_agent}\r\n", self.method, self.uri);
        for (name, value) in &self.headers {
            out += &format!("{name}: {value}\r\n");
        }
        if let Some((content_type, body)) = &self.body {
            out += &format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", body.len());
        }
        out += "\r\n";
        let mut bytes = out.into_bytes();
        if let Some((_, body)) = &self.body {
            bytes.extend_from_slice(body);
        }
        Ok(bytes)
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (*n, if n.eq_ignore_ascii_case("Authorization") { "***" } else { v.as_str() }))
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("uri", &super::url::redact(&self.uri))
            .field("headers", &headers)
            .finish()
    }
}

/// A response to a server's request (§7.1): `status` and `CSeq` only.
pub(crate) fn serialize_response(status: u16, reason: &str, cseq: Option<u32>) -> Vec<u8> {
    let mut out = format!("RTSP/1.0 {status} {reason}\r\n");
    if let Some(cseq) = cseq {
        out += &format!("CSeq: {cseq}\r\n");
    }
    out += "\r\n";
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_request_serialises_in_order() {
        let req = Request::new(Method::Setup, "rtsp://cam:554/live/stream=0")
            .header("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
            .header("Session", "abc");
        let text = String::from_utf8(req.serialize(3, DEFAULT_USER_AGENT).unwrap()).unwrap();
        assert_eq!(
            text,
            format!(
                "SETUP rtsp://cam:554/live/stream=0 RTSP/1.0\r\nCSeq: 3\r\nUser-Agent: ifc/{}\r\n\
                 Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: abc\r\n\r\n",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn values_that_would_inject_a_header_are_refused() {
        let req = Request::new(Method::Play, "rtsp://cam/").header("Session", "abc\r\nEvil: 1");
        assert!(req.serialize(1, "ua").is_err());
        assert!(Request::new(Method::Play, "rtsp://cam/ x").serialize(1, "ua").is_err());
        assert!(Request::new(Method::Play, "").serialize(1, "ua").is_err());
        assert!(Request::new(Method::Play, "rtsp://cam/").serialize(1, "ua\n").is_err());
        assert!(Request::new(Method::Play, "rtsp://cam/").header("Range", "npt=0.000-").serialize(1, "ua").is_ok());
    }

    #[test]
    fn header_names_compare_case_insensitively() {
        let mut headers = Headers::default();
        headers.push("cseq".into(), " 7".into());
        headers.push("WWW-Authenticate".into(), "Basic".into());
        headers.push("www-authenticate".into(), "Digest".into());
        assert_eq!(headers.cseq(), Some(7));
        assert_eq!(headers.get_all("Www-Authenticate").collect::<Vec<_>>(), ["Basic", "Digest"]);
        assert_eq!(headers.get("Session"), None);
    }

    #[test]
    fn debug_hides_the_authorization_value_and_query_secrets() {
        let req = Request::new(Method::Describe, "rtsp://cam/live?token=s3cr3t")
            .header("Authorization", "Basic YWRtaW46czNjcjN0");
        let shown = format!("{req:?}");
        assert!(!shown.contains("s3cr3t") && !shown.contains("YWRtaW46czNjcjN0"), "{shown}");
        assert!(shown.contains("Authorization"));
    }

    #[test]
    fn answer_to_a_server_request() {
        assert_eq!(
            serialize_response(501, "Not Implemented", Some(9)),
            b"RTSP/1.0 501 Not Implemented\r\nCSeq: 9\r\n\r\n"
        );
    }
}
