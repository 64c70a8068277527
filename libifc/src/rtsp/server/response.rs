//! [`ServerResponse`]: what the server answers (RFC 2326 §7). Serialised with the request's
//! `CSeq` (§12.17: a response without it cannot be matched by the client).

use bytes::Bytes;

use crate::rtsp::DEFAULT_USER_AGENT;

/// A response: status, reason phrase, header fields, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerResponse {
    pub status: u16,
    pub reason: String,
    /// The request's `CSeq`; `None` only for a request that had none (answered 400).
    pub cseq: Option<u32>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl ServerResponse {
    pub fn new(status: u16, reason: impl Into<String>, cseq: Option<u32>) -> Self {
        Self { status, reason: reason.into(), cseq, headers: Vec::new(), body: Bytes::new() }
    }

    pub fn ok(cseq: Option<u32>) -> Self {
        Self::new(200, "OK", cseq)
    }

    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Status line, `CSeq`, `Server`, the header fields, `Content-Length` when there is a body,
    /// the empty line, the body. Control characters in the reason or a value (CR and LF would
    /// break the framing, the others make clients refuse the line) become spaces: reasons and
    /// values may echo what a client sent, and a response must never let a client inject
    /// header lines.
    pub fn serialize(&self) -> Vec<u8> {
        let clean = |text: &str| -> String { text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect() };
        let status = self.status.clamp(100, 999);
        let mut out = format!("RTSP/1.0 {status} {}\r\n", clean(&self.reason));
        if let Some(cseq) = self.cseq {
            out += &format!("CSeq: {cseq}\r\n");
        }
        out += &format!("Server: {DEFAULT_USER_AGENT}\r\n");
        for (name, value) in &self.headers {
            out += &format!("{name}: {}\r\n", clean(value));
        }
        if !self.body.is_empty() {
            out += &format!("Content-Length: {}\r\n", self.body.len());
        }
        out += "\r\n";
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}
