//! [`MessageReader`]: the bytes of an RTSP connection in, [`ReadItem`]s out. Sans-IO: push
//! whatever the socket gave (any split), pull items until `Ok(None)`.
//!
//! Over TCP, RTP and RTCP share the connection with RTSP messages as interleaved frames
//! (RFC 2326 §10.12): `$`, channel (u8), length (u16, big-endian), payload. The payloads come
//! out as slices of the reader's buffer (no copy). Messages are responses (§7) or requests
//! from the server (§6: OPTIONS, GET_PARAMETER, ANNOUNCE... flow that way too).
//!
//! Bytes that start neither an interleaved frame nor an RTSP/1.0 message are an error: the
//! stream has lost its framing. Errors are sticky (every later pull repeats them).

use bytes::{Buf, Bytes, BytesMut};

use super::message::{Headers, IncomingRequest, Response};
use crate::error::{ParseError, Result};

/// The largest header block (start line to empty line) accepted.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The largest message body (`Content-Length`) accepted; SDP is a few KiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the connection carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadItem {
    Response(Response),
    Request(IncomingRequest),
    /// An interleaved frame: RTP or RTCP on the channels SETUP chose.
    Interleaved {
        channel: u8,
        payload: Bytes,
    },
}

/// See the module docs.
#[derive(Debug)]
pub struct MessageReader {
    buf: BytesMut,
    /// Limits: [`MAX_HEADER_BYTES`] and [`MAX_BODY_BYTES`] unless [`MessageReader::with_limits`].
    max_header_bytes: usize,
    max_body_bytes: usize,
    /// Connection offset of `buf[0]`, for error messages.
    offset: u64,
    /// Where to resume looking for the end of a header block (bytes already scanned).
    scanned: usize,
    /// Bytes of the first line already checked (none of them a line feed), so a start line
    /// arriving a byte at a time is not scanned again from its start on every push.
    first_line_checked: usize,
    /// A header block already parsed whose body has not all arrived: parsed once, not again
    /// on every push of the body.
    pending: Option<PendingHead>,
    error: Option<ParseError>,
}

#[derive(Debug)]
struct PendingHead {
    start: StartLine,
    headers: Headers,
    head_len: usize,
    body_len: usize,
}

#[derive(Debug)]
enum StartLine {
    Response { status: u16, reason: String },
    Request { method: String, uri: String },
}

impl Default for MessageReader {
    fn default() -> Self {
        Self::with_limits(MAX_HEADER_BYTES, MAX_BODY_BYTES)
    }
}

impl MessageReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// A reader with other limits than the defaults (a server facing the Internet may want
    /// smaller ones). Each is clamped to the default: larger is never needed.
    pub fn with_limits(max_header_bytes: usize, max_body_bytes: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max_header_bytes: max_header_bytes.clamp(64, MAX_HEADER_BYTES),
            max_body_bytes: max_body_bytes.min(MAX_BODY_BYTES),
            offset: 0,
            scanned: 0,
            first_line_checked: 0,
            pending: None,
            error: None,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes pushed and not yet returned as items (a partial item at the end of a stream).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete item, `Ok(None)` when more bytes are needed.
    pub fn pull(&mut self) -> Result<Option<ReadItem>> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        self.parse().inspect_err(|err| self.error = Some(err.clone()))
    }

    fn advance(&mut self, n: usize) {
        self.buf.advance(n);
        self.offset += n as u64;
        self.scanned = 0;
        self.first_line_checked = 0;
    }

    fn take(&mut self, n: usize) -> Bytes {
        self.offset += n as u64;
        self.scanned = 0;
        self.first_line_checked = 0;
        self.buf.split_to(n).freeze()
    }

    fn parse(&mut self) -> Result<Option<ReadItem>> {
        if let Some(pending) = self.pending.take() {
            return Ok(self.finish(pending));
        }
        // Blank lines between messages are tolerated (robustness, as RFC 2616 §4.1).
        let blank = self.buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        if blank > 0 {
            self.advance(blank);
        }
        let Some(&first) = self.buf.first() else { return Ok(None) };
        if first == b'$' {
            let Some(header) = self.buf.get(..4) else { return Ok(None) };
            let (channel, len) = (header[1], usize::from(u16::from_be_bytes([header[2], header[3]])));
            if self.buf.len() < 4 + len {
                return Ok(None);
            }
            self.advance(4);
            return Ok(Some(ReadItem::Interleaved { channel, payload: self.take(len) }));
        }
        let Some(head_len) = self.find_head_end()? else { return Ok(None) };
        let (start, headers) = parse_head(&self.buf[..head_len], self.offset)?;
        let body_len = content_length(&headers, self.max_body_bytes).map_err(|e| e.at_offset(self.offset))?;
        Ok(self.finish(PendingHead { start, headers, head_len, body_len }))
    }

    /// The message once its body is all there; until then the parsed head waits in `pending`.
    fn finish(&mut self, head: PendingHead) -> Option<ReadItem> {
        if self.buf.len() < head.head_len + head.body_len {
            self.pending = Some(head);
            return None;
        }
        let PendingHead { start, headers, head_len, body_len } = head;
        self.advance(head_len);
        let body = self.take(body_len);
        Some(match start {
            StartLine::Response { status, reason } => ReadItem::Response(Response { status, reason, headers, body }),
            StartLine::Request { method, uri } => ReadItem::Request(IncomingRequest { method, uri, headers, body }),
        })
    }

    /// Length of the header block through its empty line, once it has arrived. Checks the
    /// start of a message early, so junk fails fast instead of filling 64 KiB first.
    fn find_head_end(&mut self) -> Result<Option<usize>> {
        let from = self.first_line_checked.min(self.buf.len());
        let first_line_end = self.buf[from..].iter().position(|&b| b == b'\n').map_or(self.buf.len(), |at| from + at);
        let unchecked = &self.buf[from..first_line_end];
        if !self.buf.first().is_some_and(u8::is_ascii_uppercase)
            || unchecked.iter().any(|&b| b.is_ascii_control() && b != b'\r' && b != b'\t')
        {
            let shown: Vec<String> = self.buf.iter().take(8).map(|b| format!("{b:02x}")).collect();
            return Err(ParseError::invalid(
                "rtsp.message",
                format!("expected '$' or an RTSP/1.0 message, found bytes {}", shown.join(" ")),
            )
            .at_offset(self.offset));
        }
        self.first_line_checked = first_line_end;
        // Resume a few bytes back: the terminator may straddle two pushes.
        let from = self.scanned.saturating_sub(3);
        let limit = self.buf.len().min(self.max_header_bytes);
        let mut i = from;
        while let Some(nl) = self.buf[i..limit].iter().position(|&b| b == b'\n') {
            let at = i + nl;
            // The empty line: "\n\n" or "\n\r\n".
            let end = match (self.buf.get(at + 1), self.buf.get(at + 2)) {
                (Some(b'\n'), _) => at + 2,
                (Some(b'\r'), Some(b'\n')) => at + 3,
                _ => {
                    i = at + 1;
                    continue;
                }
            };
            return if end <= self.max_header_bytes { Ok(Some(end)) } else { Err(self.too_big()) };
        }
        if self.buf.len() >= self.max_header_bytes {
            return Err(self.too_big());
        }
        self.scanned = self.buf.len();
        Ok(None)
    }

    fn too_big(&self) -> ParseError {
        ParseError::too_large("rtsp.message.headers", format!("header block over {} bytes", self.max_header_bytes))
            .at_offset(self.offset)
    }
}

/// The start line and header fields of a header block; `offset`: the block's in the connection.
fn parse_head(head: &[u8], offset: u64) -> Result<(StartLine, Headers)> {
    let mut lines = head.split(|&b| b == b'\n').scan(offset, |at, line| {
        let line_at = *at;
        *at += line.len() as u64 + 1;
        Some((line_at, String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line))))
    });
    let start = match lines.next() {
        Some((_, line)) => parse_start_line(&line).map_err(|e| e.at_offset(offset))?,
        None => return Err(ParseError::truncated("rtsp.message").at_offset(offset)),
    };
    let mut headers = Headers::default();
    for (at, line) in lines.filter(|(_, l)| !l.is_empty()) {
        if line.starts_with([' ', '\t']) {
            if !headers.continue_last(line.trim()) {
                return Err(
                    ParseError::invalid("rtsp.message.headers", "continuation line before any header").at_offset(at)
                );
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ParseError::invalid("rtsp.message.headers", "header line without ':'").at_offset(at));
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ParseError::invalid("rtsp.message.headers", "header name is not a token").at_offset(at));
        }
        headers.push(name.to_owned(), value.trim().to_owned());
    }
    Ok((start, headers))
}

fn parse_start_line(line: &str) -> Result<StartLine> {
    if let Some(rest) = line.strip_prefix("RTSP/") {
        let Some(rest) = rest.strip_prefix("1.0 ") else {
            return Err(ParseError::unsupported("rtsp.status_line", "version other than RTSP/1.0"));
        };
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        return match code.parse::<u16>() {
            Ok(status) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(StartLine::Response { status, reason: reason.trim().to_owned() })
            }
            _ => Err(ParseError::invalid("rtsp.status_line", "status code is not three digits")),
        };
    }
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(uri), Some("RTSP/1.0"), None)
            if !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-') =>
        {
            Ok(StartLine::Request { method: method.to_owned(), uri: uri.to_owned() })
        }
        _ => Err(ParseError::invalid("rtsp.message", "start line is neither a status line nor a request line")),
    }
}

/// §12.14: absent means no body.
fn content_length(headers: &Headers, max_body_bytes: usize) -> Result<usize> {
    let mut lengths = headers.get_all("Content-Length").map(str::trim);
    let Some(first) = lengths.next() else { return Ok(0) };
    if lengths.any(|other| other != first) {
        return Err(ParseError::invalid("rtsp.message.content_length", "conflicting Content-Length headers"));
    }
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::invalid("rtsp.message.content_length", "not a decimal number"));
    }
    match first.parse::<usize>() {
        Ok(len) if len <= max_body_bytes => Ok(len),
        _ => Err(ParseError::too_large(
            "rtsp.message.content_length",
            format!("{first} bytes (at most {max_body_bytes} accepted)"),
        )),
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
