//! [`Session`]: a blocking RTSP client that pulls one H.264/H.265 stream over RTSP-interleaved
//! TCP (RFC 2326 §10.12). The states are types: [`Session::describe`] gives a
//! `Session<Described>` (the stream is known, nothing plays), [`Session::play`] a
//! `Session<Playing>` whose [`Session::next_packet`] yields RTP packets.
//!
//! ```no_run
//! # fn main() -> Result<(), ifc::rtsp::RtspError> {
//! use ifc::rtsp::{RtspOptions, Session};
//! let described = Session::describe("rtsp://user:pass@camera/stream1", RtspOptions::default())?;
//! println!("{:?} payload type {}", described.video().codec, described.video().payload_type);
//! let mut playing = described.play()?;
//! while let Some(rtp_packet) = playing.next_packet()? {
//!     // hand rtp_packet (one RTP packet, header included) to the depacketiser
//! #   let _ = rtp_packet;
//! }
//! # Ok(()) }
//! ```
//!
//! Every read waits at most [`RtspOptions::read_timeout`]: a camera that goes silent gives
//! [`RtspError::Timeout`], never a hang; each request's whole exchange is bounded by
//! [`RtspOptions::response_timeout`], so a server that keeps sending without ever completing
//! a response times out too. Keep-alives go out every half session timeout from
//! inside `next_packet`, so call it continuously (a consumer that stalls for longer than the
//! session timeout loses the session). Dropping a session sends TEARDOWN, best-effort.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::connection::{is_timeout, Connection};
use super::error::RtspError;
use super::headers::{public_lists, DEFAULT_SESSION_TIMEOUT};
use super::message::{Method, Request, DEFAULT_USER_AGENT};
use super::reader::ReadItem;
use super::sdp::{parse_session as parse_sdp, SessionDescription, VideoMedia};
use super::url::{redact, RtspUrl};

/// Keep-alives never go out more often than this, whatever the server's timeout says.
const MIN_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);

/// How to connect and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RtspOptions {
    /// Per address the host name resolves to. Default 5 s. (Name resolution itself is the
    /// system resolver's, not bounded by this.)
    pub connect_timeout: Duration,
    /// The longest silence tolerated from the server, during the handshake and while playing;
    /// also bounds each write. Default 10 s.
    pub read_timeout: Duration,
    /// The longest one request may wait for its complete response, however the server keeps
    /// the connection busy meanwhile (a response trickled byte by byte, a `Content-Length`
    /// larger than the body sent, interleaved data or answers to other requests instead).
    /// Default 10 s.
    pub response_timeout: Duration,
    /// The longest a playing stream may go without a complete picture: from PLAY to the first
    /// one, then between pictures, whatever else arrives. Enforced by [`crate::live::LiveVideo`],
    /// which sees pictures; the session itself only sees packets. Default 20 s (cameras send
    /// a key frame every few seconds; the first picture waits for one).
    pub picture_timeout: Duration,
    /// Default `ifc/<version>`.
    pub user_agent: String,
}

impl Default for RtspOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(10),
            picture_timeout: Duration::from_secs(20),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
        }
    }
}

impl RtspOptions {
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    #[must_use]
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    #[must_use]
    pub fn picture_timeout(mut self, timeout: Duration) -> Self {
        self.picture_timeout = timeout;
        self
    }

    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }
}

/// After DESCRIBE: the video stream is known.
#[derive(Debug)]
pub struct Described {
    description: SessionDescription,
    /// GET_PARAMETER when OPTIONS' `Public` lists it, else OPTIONS.
    keepalive_method: Method,
}

/// After PLAY: RTP flows.
#[derive(Debug)]
pub struct Playing {
    description: SessionDescription,
    rtp_channel: u8,
    rtcp_channel: u8,
    keepalive_method: Method,
    keepalive_interval: Duration,
    next_keepalive: Instant,
    ended: bool,
}

/// An RTSP session in state `S` ([`Described`] or [`Playing`]). See the module docs.
pub struct Session<S> {
    conn: Connection,
    state: S,
}

/// Shows the redacted URL and the state.
impl<S: std::fmt::Debug> std::fmt::Debug for Session<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("url", &self.conn.shown).field("state", &self.state).finish()
    }
}

impl<S> Session<S> {
    /// The camera URL (redacted by `Display`).
    pub fn url(&self) -> &RtspUrl {
        &self.conn.url
    }

    /// Sends TEARDOWN (best-effort: no wait for the answer) and closes the connection.
    /// Dropping the session does the same and ignores errors.
    pub fn teardown(mut self) -> Result<(), RtspError> {
        let span = self.conn.span.clone();
        let _enter = span.enter();
        self.conn.teardown()
    }
}

impl Session<Described> {
    /// Connects, sends OPTIONS and DESCRIBE (answering a 401 with the URL's credentials:
    /// Digest preferred over Basic), and finds the first H.264/H.265 video stream.
    pub fn describe(url: &str, options: RtspOptions) -> Result<Self, RtspError> {
        let url = RtspUrl::parse(url)?;
        let span = tracing::debug_span!("rtsp", url = %url);
        let _enter = span.enter();
        let mut conn = Connection::connect(url, options, span.clone())?;
        let uri = conn.url.request_uri();

        let options_response = conn.request(Request::new(Method::Options, uri.clone()))?;
        // OPTIONS only informs (`Public`): some cameras answer it with an error and stream.
        if let Err(err) = conn.check_status(Method::Options, &options_response) {
            tracing::debug!(%err, "OPTIONS failed; continuing");
        }
        let public = options_response.headers.get("Public").unwrap_or_default();
        let keepalive_method =
            if public_lists(public, "GET_PARAMETER") { Method::GetParameter } else { Method::Options };

        let describe = conn.request(Request::new(Method::Describe, uri.clone()).header("Accept", "application/sdp"))?;
        conn.check_status(Method::Describe, &describe)?;
        let base = ["Content-Base", "Content-Location"]
            .iter()
            .filter_map(|name| describe.headers.get(name))
            .find(|value| value.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("rtsp://")))
            .map_or(uri, str::to_owned);
        let description =
            parse_sdp(&describe.body, &base).map_err(|source| RtspError::Sdp { url: conn.shown.clone(), source })?;
        let video = &description.video;
        tracing::debug!(
            codec = ?video.codec,
            payload_type = video.payload_type,
            control = %redact(&video.control),
            parameter_sets = video.parameter_sets.len(),
            ?keepalive_method,
            "described"
        );
        Ok(Session { conn, state: Described { description, keepalive_method } })
    }

    pub fn video(&self) -> &VideoMedia {
        &self.state.description.video
    }

    /// SETUP of the video stream (`RTP/AVP/TCP;unicast;interleaved=0-1`), then PLAY from the
    /// start (`Range: npt=0.000-`) on the aggregate control URL.
    pub fn play(self) -> Result<Session<Playing>, RtspError> {
        let Session { mut conn, state: Described { description, keepalive_method } } = self;
        let span = conn.span.clone();
        let _enter = span.enter();
        let ((rtp_channel, rtcp_channel), timeout) = conn.setup_interleaved(description.video.control.clone(), "")?;
        conn.teardown_uri = Some(description.aggregate_control.clone());
        let session_timeout = timeout.unwrap_or(DEFAULT_SESSION_TIMEOUT);

        let play = Request::new(Method::Play, description.aggregate_control.clone()).header("Range", "npt=0.000-");
        let response = conn.request(play)?;
        conn.check_status(Method::Play, &response)?;
        let keepalive_interval = (session_timeout / 2).max(MIN_KEEPALIVE_INTERVAL);
        tracing::debug!(rtp_channel, rtcp_channel, ?session_timeout, "playing");
        let state = Playing {
            description,
            rtp_channel,
            rtcp_channel,
            keepalive_method,
            keepalive_interval,
            next_keepalive: Instant::now() + keepalive_interval,
            ended: false,
        };
        Ok(Session { conn, state })
    }
}

impl Session<Playing> {
    pub fn video(&self) -> &VideoMedia {
        &self.state.description.video
    }

    /// The next RTP packet (header included, as received), or `Ok(None)` once the server has
    /// closed the connection between packets. RTCP is read and dropped; the server's requests
    /// are answered; keep-alives go out when due.
    pub fn next_packet(&mut self) -> Result<Option<Bytes>, RtspError> {
        loop {
            match self.poll_packet(far_future())? {
                Polled::Ready(packet) => return Ok(Some(packet)),
                Polled::Ended => return Ok(None),
                Polled::Pending => {}
            }
        }
    }

    /// [`Session::next_packet`], but returning [`Polled::Pending`] once `until` passes with no
    /// packet, so that a caller can look at other things (a signal, a deadline of its own)
    /// and call again. The read timeout still counts silence across calls.
    pub fn poll_packet(&mut self, until: Instant) -> Result<Polled<Bytes>, RtspError> {
        let span = self.conn.span.clone();
        let _enter = span.enter();
        while let Some((channel, payload)) = self.conn.early.pop_front() {
            if channel == self.state.rtp_channel {
                return Ok(Polled::Ready(payload));
            }
        }
        if self.state.ended {
            return Ok(Polled::Ended);
        }
        loop {
            if Instant::now() >= self.state.next_keepalive {
                self.send_keepalive()?;
            }
            match self.conn.pull()? {
                Some(ReadItem::Interleaved { channel, payload }) if channel == self.state.rtp_channel => {
                    tracing::trace!(len = payload.len(), seq = ?rtp_sequence_number(&payload), "rtp");
                    return Ok(Polled::Ready(payload));
                }
                Some(ReadItem::Interleaved { channel, payload }) => {
                    let rtcp = channel == self.state.rtcp_channel;
                    tracing::trace!(channel, rtcp, len = payload.len(), "interleaved data dropped");
                }
                Some(ReadItem::Response(response)) => {
                    if (200..300).contains(&response.status) {
                        tracing::debug!(cseq = ?response.headers.cseq(), status = response.status, "keep-alive answered");
                    } else {
                        tracing::warn!(cseq = ?response.headers.cseq(), status = response.status, reason = %response.reason, "keep-alive refused");
                    }
                }
                Some(ReadItem::Request(request)) => self.conn.answer(&request)?,
                None => {
                    if Instant::now() >= until {
                        return Ok(Polled::Pending);
                    }
                    if self.read_more(until)? {
                        continue;
                    }
                    if self.conn.reader.buffered() > 0 {
                        return Err(self.conn.closed_error("in the middle of a message while playing"));
                    }
                    tracing::debug!("the server closed the connection");
                    self.state.ended = true;
                    // Nobody is left to tear down.
                    self.conn.session_id = None;
                    return Ok(Polled::Ended);
                }
            }
        }
    }

    /// Reads until bytes arrive (`true`), the connection ends (`false`), a keep-alive falls
    /// due or `until` passes (`true`), or the read timeout passes in silence (error).
    fn read_more(&mut self, until: Instant) -> Result<bool, RtspError> {
        let now = Instant::now();
        let read_timeout = self.conn.options.read_timeout;
        let silent_until = self.conn.last_rx + read_timeout;
        if now >= silent_until {
            return Err(self.conn.timeout_error("waiting for RTP", read_timeout));
        }
        let wait = silent_until.min(self.state.next_keepalive).min(until).saturating_duration_since(now);
        match self.conn.fill(wait) {
            Ok(0) => Ok(false),
            Ok(_) => Ok(true),
            Err(err) if is_timeout(&err) => Ok(true),
            Err(source) => Err(RtspError::Io { url: self.conn.shown.clone(), during: "reading RTP".into(), source }),
        }
    }

    /// GET_PARAMETER when OPTIONS listed it, else OPTIONS; the answer is matched later.
    fn send_keepalive(&mut self) -> Result<(), RtspError> {
        let uri = self.state.description.aggregate_control.clone();
        self.conn.send(Request::new(self.state.keepalive_method, uri))?;
        self.state.next_keepalive = Instant::now() + self.state.keepalive_interval;
        Ok(())
    }
}

/// What a bounded wait gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled<T> {
    Ready(T),
    /// The server ended the stream.
    Ended,
    /// Nothing yet; call again.
    Pending,
}

/// A deadline that never comes in practice (`Instant` has no maximum).
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

fn rtp_sequence_number(packet: &[u8]) -> Option<u16> {
    packet.get(2..4).map(|b| u16::from_be_bytes([b[0], b[1]]))
}
