//! [`Connection`]: the blocking I/O under [`super::Session`]: one `TcpStream`, the
//! [`MessageReader`] over it, request/response matching by `CSeq`, authentication retries,
//! and the best-effort TEARDOWN on drop.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::auth::{Authenticator, Challenge};
use super::client::RtspOptions;
use super::error::RtspError;
use super::message::{serialize_response, IncomingRequest, Method, Request, Response};
use super::reader::{MessageReader, ReadItem};
use super::url::{redact, RtspUrl};

/// The longest a TEARDOWN on drop may block writing.
const TEARDOWN_WRITE_TIMEOUT: Duration = Duration::from_millis(500);
/// Interleaved data accepted while waiting for a response (RTP may precede PLAY's response).
/// Each frame counts its 4-byte header too, so empty frames fill the bound as well.
const MAX_EARLY_BYTES: usize = 8 << 20;
/// Interleaved frames accepted while waiting for a response: each queued frame costs a
/// `Bytes` handle whatever its length.
const MAX_EARLY_FRAMES: usize = 16 * 1024;
const INTERLEAVED_HEADER_BYTES: usize = 4;
const READ_CHUNK_BYTES: usize = 64 * 1024;

pub(crate) struct Connection {
    pub(crate) url: RtspUrl,
    /// `url`, redacted: what errors and logs show.
    pub(crate) shown: String,
    pub(crate) options: RtspOptions,
    stream: TcpStream,
    pub(crate) reader: MessageReader,
    read_buf: Box<[u8]>,
    cseq: u32,
    auth: Option<Authenticator>,
    pub(crate) session_id: Option<String>,
    /// Where TEARDOWN goes (the aggregate control URL), once a session exists.
    pub(crate) teardown_uri: Option<String>,
    /// Interleaved frames that arrived while waiting for a response.
    pub(crate) early: VecDeque<(u8, Bytes)>,
    early_bytes: usize,
    /// When bytes last arrived.
    pub(crate) last_rx: Instant,
    pub(crate) span: tracing::Span,
}

/// `WouldBlock` (Unix) and `TimedOut` (Windows) both mean a socket timeout expired.
pub(crate) fn is_timeout(err: &io::Error) -> bool {
    matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

impl Connection {
    pub(crate) fn connect(url: RtspUrl, options: RtspOptions, span: tracing::Span) -> Result<Self, RtspError> {
        let shown = url.to_string();
        let connect_error = |source: io::Error| RtspError::Connect { url: shown.clone(), source };
        let addrs = (url.host(), url.port()).to_socket_addrs().map_err(connect_error)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name resolved to no address");
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, options.connect_timeout.max(Duration::from_millis(1))) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(err) => last = err,
            }
        }
        let Some(stream) = stream else {
            if is_timeout(&last) {
                let after_ms = options.connect_timeout.as_millis() as u64;
                return Err(RtspError::Timeout { url: shown, during: "connecting".into(), after_ms });
            }
            return Err(connect_error(last));
        };
        let io_error = |source| RtspError::Io { url: shown.clone(), during: "configuring the socket".into(), source };
        stream.set_nodelay(true).map_err(io_error)?;
        stream.set_write_timeout(Some(options.read_timeout.max(Duration::from_millis(1)))).map_err(io_error)?;
        tracing::debug!(peer = ?stream.peer_addr().ok(), "connected");
        Ok(Self {
            url,
            shown,
            options,
            stream,
            reader: MessageReader::new(),
            read_buf: vec![0; READ_CHUNK_BYTES].into_boxed_slice(),
            cseq: 0,
            auth: None,
            session_id: None,
            teardown_uri: None,
            early: VecDeque::new(),
            early_bytes: 0,
            last_rx: Instant::now(),
            span,
        })
    }

    pub(crate) fn timeout_error(&self, during: impl Into<String>, after: Duration) -> RtspError {
        RtspError::Timeout { url: self.shown.clone(), during: during.into(), after_ms: after.as_millis() as u64 }
    }

    fn io_error(&self, during: impl Into<String>, source: io::Error) -> RtspError {
        if is_timeout(&source) {
            return self.timeout_error(during, self.options.read_timeout);
        }
        RtspError::Io { url: self.shown.clone(), during: during.into(), source }
    }

    /// Sends a request with `Session` and `Authorization` added; returns its `CSeq`.
    pub(crate) fn send(&mut self, mut request: Request) -> Result<u32, RtspError> {
        self.cseq += 1;
        let method = request.method();
        if let Some(id) = &self.session_id {
            request = request.header("Session", id.clone());
        }
        if let Some(auth) = &mut self.auth {
            let value = auth.authorization(method.as_str(), request.uri(), &cnonce());
            request = request.header("Authorization", value);
        }
        let bytes = request
            .serialize(self.cseq, &self.options.user_agent)
            .map_err(|source| RtspError::Protocol { url: self.shown.clone(), source })?;
        // Never log the headers: Authorization holds the credentials (Basic: in plain text).
        tracing::debug!(cseq = self.cseq, %method, uri = %redact(request.uri()), "request");
        self.stream.write_all(&bytes).map_err(|e| self.io_error(format!("sending {method}"), e))?;
        Ok(self.cseq)
    }

    /// Writes one interleaved frame (RFC 2326 §10.12): `$`, channel, length, payload.
    pub(crate) fn write_interleaved(&mut self, channel: u8, payload: &[u8]) -> Result<(), RtspError> {
        let Ok(len) = u16::try_from(payload.len()) else {
            return Err(RtspError::Unsupported { url: self.shown.clone(), what: format!("an RTP packet of {} bytes", payload.len()) });
        };
        let [hi, lo] = len.to_be_bytes();
        let header = [b'$', channel, hi, lo];
        let mut parts = [io::IoSlice::new(&header), io::IoSlice::new(payload)];
        let mut parts: &mut [io::IoSlice<'_>] = &mut parts;
        while !parts.is_empty() {
            match self.stream.write_vectored(parts) {
                Ok(0) => return Err(self.closed_error("while sending RTP")),
                Ok(n) => io::IoSlice::advance_slices(&mut parts, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error("sending RTP", e)),
            }
        }
        Ok(())
    }

    /// Reads once from the socket into the reader, waiting at most `timeout`.
    /// `Ok(0)` at the end of the stream.
    pub(crate) fn fill(&mut self, timeout: Duration) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        loop {
            match self.stream.read(&mut self.read_buf) {
                Ok(n) => {
                    self.reader.push(&self.read_buf[..n]);
                    if n > 0 {
                        self.last_rx = Instant::now();
                    }
                    return Ok(n);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    pub(crate) fn pull(&mut self) -> Result<Option<ReadItem>, RtspError> {
        self.reader.pull().map_err(|source| RtspError::Protocol { url: self.shown.clone(), source })
    }

    /// The next item, reading as needed; `Ok(None)` when the server closed the connection
    /// between items. Past `deadline`, a timeout, however busy the connection is.
    fn next_item(&mut self, during: &str, deadline: Instant) -> Result<Option<ReadItem>, RtspError> {
        loop {
            if let Some(item) = self.pull()? {
                return Ok(Some(item));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(self.timeout_error(during, self.options.response_timeout));
            }
            let wait = self.options.read_timeout.min(deadline - now);
            match self.fill(wait) {
                Ok(0) if self.reader.buffered() == 0 => return Ok(None),
                Ok(0) => return Err(self.closed_error(format!("in the middle of a message {during}"))),
                Ok(_) => {}
                // The exchange's deadline, not the silence, ended this wait.
                Err(err) if is_timeout(&err) && wait < self.options.read_timeout => {}
                Err(err) => return Err(self.io_error(during, err)),
            }
        }
    }

    pub(crate) fn closed_error(&self, during: impl Into<String>) -> RtspError {
        RtspError::ConnectionClosed { url: self.shown.clone(), during: during.into() }
    }

    /// Answers a server's request (§10): 200 to OPTIONS and GET_PARAMETER (keep-alives some
    /// servers send), 501 to anything else.
    pub(crate) fn answer(&mut self, request: &IncomingRequest) -> Result<(), RtspError> {
        let (status, reason) = match request.method.as_str() {
            "OPTIONS" | "GET_PARAMETER" => (200, "OK"),
            _ => (501, "Not Implemented"),
        };
        tracing::debug!(method = %request.method, cseq = ?request.headers.cseq(), status, "answering the server's request");
        let bytes = serialize_response(status, reason, request.headers.cseq());
        self.stream.write_all(&bytes).map_err(|e| self.io_error("answering the server's request", e))
    }

    /// Reads until the response to `cseq`; keeps interleaved data for later, answers the
    /// server's requests, drops responses to other requests (late keep-alive answers).
    fn wait_response(&mut self, cseq: u32, method: Method) -> Result<Response, RtspError> {
        let during = format!("waiting for the {method} response");
        let deadline = Instant::now() + self.options.response_timeout;
        loop {
            match self.next_item(&during, deadline)? {
                None => return Err(self.closed_error(during)),
                Some(ReadItem::Response(response)) => match response.headers.cseq() {
                    Some(got) if got != cseq => tracing::debug!(cseq = got, "dropping a response to another request"),
                    _ => {
                        tracing::debug!(cseq, status = response.status, reason = %response.reason, "response");
                        return Ok(response);
                    }
                },
                Some(ReadItem::Request(request)) => self.answer(&request)?,
                Some(ReadItem::Interleaved { channel, payload }) => {
                    self.early_bytes += INTERLEAVED_HEADER_BYTES + payload.len();
                    if self.early_bytes > MAX_EARLY_BYTES || self.early.len() >= MAX_EARLY_FRAMES {
                        return Err(RtspError::Unsupported {
                            url: self.shown.clone(),
                            what: format!(
                                "over {MAX_EARLY_FRAMES} frames or {MAX_EARLY_BYTES} bytes of interleaved data {during}"
                            ),
                        });
                    }
                    self.early.push_back((channel, payload));
                }
            }
        }
    }

    /// Sends `request` and waits for its response. On 401, answers the challenge with the
    /// URL's credentials and retries once; a second 401 is [`RtspError::Unauthorized`].
    /// Other statuses are returned as they are.
    pub(crate) fn request(&mut self, request: Request) -> Result<Response, RtspError> {
        let method = request.method();
        let mut retried = false;
        loop {
            let cseq = self.send(request.clone())?;
            let response = self.wait_response(cseq, method)?;
            if response.status != 401 {
                return Ok(response);
            }
            let Some(credentials) = self.url.credentials() else {
                return Err(RtspError::unauthorized(&self.shown, method, "the URL holds no credentials"));
            };
            if retried {
                return Err(RtspError::unauthorized(&self.shown, method, "the server refused the credentials"));
            }
            let challenge = Challenge::choose(response.headers.get_all("WWW-Authenticate"))
                .map_err(|err| RtspError::unauthorized(&self.shown, method, err))?;
            tracing::debug!(
                digest = matches!(challenge, Challenge::Digest(_)),
                "answering the authentication challenge"
            );
            self.auth = Some(Authenticator::new(credentials.clone(), challenge));
            retried = true;
        }
    }

    /// Maps a non-success status to its error.
    pub(crate) fn check_status(&self, method: Method, response: &Response) -> Result<(), RtspError> {
        match response.status {
            200..=299 => Ok(()),
            404 => Err(RtspError::NotFound { url: self.shown.clone(), method }),
            code => Err(RtspError::Status { url: self.shown.clone(), method, code, reason: response.reason.clone() }),
        }
    }

    /// Sends TEARDOWN (no wait for the response) with a short write timeout, then closes.
    pub(crate) fn teardown(&mut self) -> Result<(), RtspError> {
        let result = match self.teardown_uri.take() {
            Some(uri) if self.session_id.is_some() => {
                let _ = self.stream.set_write_timeout(Some(TEARDOWN_WRITE_TIMEOUT));
                self.send(Request::new(Method::Teardown, uri)).map(drop)
            }
            _ => Ok(()),
        };
        self.session_id = None;
        let _ = self.stream.shutdown(Shutdown::Both);
        result
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let span = self.span.clone();
        let _enter = span.enter();
        if let Err(err) = self.teardown() {
            tracing::debug!(%err, "TEARDOWN on drop failed");
        }
    }
}

/// A client nonce for Digest (RFC 2617 §3.2.2): unique, not secret.
fn cnonce() -> String {
    format!("{:016x}", random_u64())
}

/// Unique per call and per process, not secret (nonces, SSRCs): std's `RandomState` is seeded
/// from the OS per process and differs per instance.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.finish()
}
