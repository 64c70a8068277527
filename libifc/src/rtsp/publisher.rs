//! [`Publisher`]: a blocking RTSP publisher (RFC 2326 §10.3 ANNOUNCE, §10.4 SETUP with
//! `mode=record`, §10.11 RECORD) that pushes one H.264/H.265 stream over RTP interleaved on the
//! RTSP connection, as `ffmpeg -f rtsp` and GStreamer's `rtspclientsink` do. It is what
//! `ifc publish` (the load generator) sends with, and what a device agent publishes through.
//!
//! Packets in are the decoder's (`EncodedPacket`: length-prefixed NAL units, 90 kHz
//! presentation times); [`crate::rtp::Packetizer`] cuts them into RTP packets. Keep-alives go
//! out every half session timeout, and what the server sends meanwhile (RTCP, requests) is
//! read and answered then, so its socket buffer never fills.

use std::time::{Duration, Instant};

use super::client::RtspOptions;
use super::connection::{is_timeout, random_u64, Connection};
use super::error::RtspError;
use super::headers::{interleaved_channels, parse_session, TransportProblem, DEFAULT_SESSION_TIMEOUT};
use super::message::{Method, Request};
use super::reader::ReadItem;
use super::sdp_writer::announce_sdp;
use super::url::RtspUrl;
use crate::codec::nal::LengthPrefixedNals;
use crate::codec::DecoderConfig;
use crate::decode::EncodedPacket;
use crate::rtp::Packetizer;

/// The payload type announced (dynamic).
const PAYLOAD_TYPE: u8 = 96;
/// The stream's control URL, relative to the publish URL.
const STREAM_CONTROL: &str = "streamid=0";
/// RTP payload limit: an Ethernet MTU less IP, UDP and RTP headers, so that a server
/// relaying the packets over UDP need not fragment them.
const MAX_PAYLOAD_BYTES: usize = 1400;
const MIN_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
/// RTCP sender reports: one before the first packet (receivers such as ffmpeg time the stream
/// from it) and then every few seconds (RFC 3550 §6.2 allows 5 s at these rates).
const SENDER_REPORT_INTERVAL: Duration = Duration::from_secs(2);
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET_S: u64 = 2_208_988_800;

/// Counts of what a publisher sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishStats {
    pub access_units: u64,
    pub rtp_packets: u64,
    /// RTP bytes (headers included), without the interleaved framing.
    pub rtp_bytes: u64,
}

/// See the module docs. Dropping it sends TEARDOWN, best-effort.
pub struct Publisher {
    conn: Connection,
    rtp_channel: u8,
    rtcp_channel: u8,
    ssrc: u32,
    next_sender_report: Option<Instant>,
    packetizer: Packetizer,
    nal_length_size: usize,
    /// Added to every presentation time: RTP timestamps start at a random point (RFC 3550 §5.1).
    timestamp_offset: u32,
    packets: Vec<bytes::Bytes>,
    keepalive_interval: Duration,
    next_keepalive: Instant,
    aggregate: String,
    stats: PublishStats,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("url", &self.conn.shown).field("stats", &self.stats).finish()
    }
}

impl Publisher {
    /// Connects to `url` (credentials in it answer a 401: Digest preferred), announces a stream
    /// described by `config`, sets it up over TCP interleaved and starts recording.
    pub fn announce(url: &str, config: &DecoderConfig, options: RtspOptions) -> Result<Self, RtspError> {
        let url = RtspUrl::parse(url)?;
        let span = tracing::debug_span!("rtsp_publish", url = %url);
        let _enter = span.enter();
        let mut conn = Connection::connect(url, options, span.clone())?;
        let uri = conn.url.request_uri();
        let options_response = conn.request(Request::new(Method::Options, uri.clone()))?;
        if let Err(err) = conn.check_status(Method::Options, &options_response) {
            tracing::debug!(%err, "OPTIONS failed; continuing");
        }
        let sdp = announce_sdp(config, PAYLOAD_TYPE, STREAM_CONTROL);
        let announce = conn.request(Request::new(Method::Announce, uri.clone()).body("application/sdp", sdp))?;
        conn.check_status(Method::Announce, &announce)?;

        let control = format!("{}/{STREAM_CONTROL}", uri.trim_end_matches('/'));
        let setup = Request::new(Method::Setup, control)
            .header("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record");
        let response = conn.request(setup)?;
        conn.check_status(Method::Setup, &response)?;
        let protocol = |conn: &Connection, source| RtspError::Protocol { url: conn.shown.clone(), source };
        let Some(session_header) = response.headers.get("Session") else {
            let source = crate::error::ParseError::missing("rtsp.setup", "Session header in the SETUP response");
            return Err(protocol(&conn, source));
        };
        let (session_id, timeout) = parse_session(session_header).map_err(|e| protocol(&conn, e))?;
        let transport = response.headers.get("Transport").unwrap_or_default();
        let (rtp_channel, rtcp_channel) = match interleaved_channels(transport, (0, 1)) {
            Ok(channels) => channels,
            Err(TransportProblem::NotTcp(spec)) => {
                let what = format!("the server chose transport {spec} instead of RTP over the RTSP connection");
                return Err(RtspError::Unsupported { url: conn.shown.clone(), what });
            }
            Err(TransportProblem::Invalid(source)) => return Err(protocol(&conn, source)),
        };
        conn.session_id = Some(session_id);
        conn.teardown_uri = Some(uri.clone());
        let record = conn.request(Request::new(Method::Record, uri.clone()).header("Range", "npt=0.000-"))?;
        conn.check_status(Method::Record, &record)?;
        let keepalive_interval = (timeout.unwrap_or(DEFAULT_SESSION_TIMEOUT) / 2).max(MIN_KEEPALIVE_INTERVAL);
        // Spreads SSRCs and starting points across publishers (RFC 3550 §8).
        let seed = random_u64() as u32;
        tracing::debug!(rtp_channel, "recording");
        Ok(Self {
            conn,
            rtp_channel,
            rtcp_channel,
            ssrc: seed,
            next_sender_report: None,
            packetizer: Packetizer::new(config.codec, PAYLOAD_TYPE, seed, (seed >> 16) as u16, MAX_PAYLOAD_BYTES),
            nal_length_size: usize::from(config.nal_length_size),
            timestamp_offset: seed.rotate_left(13),
            packets: Vec::new(),
            keepalive_interval,
            next_keepalive: Instant::now() + keepalive_interval,
            aggregate: uri,
            stats: PublishStats::default(),
        })
    }

    /// Sends one access unit (the decoder's packet: length-prefixed NAL units; its
    /// presentation time becomes the RTP timestamp).
    pub fn send(&mut self, packet: &EncodedPacket) -> Result<(), RtspError> {
        let pts = packet.pts_90k.or(packet.dts_90k).unwrap_or(0);
        // RTP timestamps are the 90 kHz clock modulo 2^32 (RFC 3550 §5.1).
        let timestamp = (pts as u32).wrapping_add(self.timestamp_offset);
        let nals = LengthPrefixedNals::new(&packet.data, self.nal_length_size).filter_map(Result::ok);
        if self.next_sender_report.is_none_or(|at| Instant::now() >= at) {
            self.send_sender_report(timestamp)?;
        }
        self.packets.clear();
        self.packetizer.packetize(nals, timestamp, &mut self.packets);
        let packets = std::mem::take(&mut self.packets);
        for p in &packets {
            self.conn.write_interleaved(self.rtp_channel, p)?;
            self.stats.rtp_packets += 1;
            self.stats.rtp_bytes += p.len() as u64;
        }
        self.packets = packets;
        self.stats.access_units += 1;
        if Instant::now() >= self.next_keepalive {
            self.keep_alive()?;
        }
        Ok(())
    }

    /// An RTCP sender report (RFC 3550 §6.4.1) tying `timestamp` to the wall clock now.
    fn send_sender_report(&mut self, timestamp: u32) -> Result<(), RtspError> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let ntp_seconds = (now.as_secs() + NTP_UNIX_OFFSET_S) as u32;
        let ntp_fraction = ((u64::from(now.subsec_nanos()) << 32) / 1_000_000_000) as u32;
        let mut report = Vec::with_capacity(28);
        // V=2, no padding, no report blocks; PT 200 (SR); length 6 (32-bit words less one).
        report.extend_from_slice(&[0x80, 200, 0, 6]);
        for word in [self.ssrc, ntp_seconds, ntp_fraction, timestamp, self.stats.rtp_packets as u32] {
            report.extend_from_slice(&word.to_be_bytes());
        }
        // The sender's octet count is payload bytes; RTP headers are 12 bytes each here.
        let payload_bytes = self.stats.rtp_bytes.saturating_sub(12 * self.stats.rtp_packets);
        report.extend_from_slice(&(payload_bytes as u32).to_be_bytes());
        self.conn.write_interleaved(self.rtcp_channel, &report)?;
        self.next_sender_report = Some(Instant::now() + SENDER_REPORT_INTERVAL);
        Ok(())
    }

    pub fn stats(&self) -> PublishStats {
        self.stats
    }

    /// A keep-alive (OPTIONS, whose answer is read later), and whatever the server sent
    /// meanwhile read and answered.
    fn keep_alive(&mut self) -> Result<(), RtspError> {
        self.conn.send(Request::new(Method::Options, self.aggregate.clone()))?;
        self.next_keepalive = Instant::now() + self.keepalive_interval;
        loop {
            match self.conn.fill(Duration::from_millis(1)) {
                Ok(0) => return Err(self.conn.closed_error("while recording")),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => break,
                Err(source) => {
                    return Err(RtspError::Io { url: self.conn.shown.clone(), during: "reading while recording".into(), source })
                }
            }
            while let Some(item) = self.conn.pull()? {
                match item {
                    ReadItem::Request(request) => self.conn.answer(&request)?,
                    ReadItem::Response(response) if !(200..300).contains(&response.status) => {
                        tracing::warn!(status = response.status, reason = %response.reason, "keep-alive refused");
                    }
                    ReadItem::Response(_) | ReadItem::Interleaved { .. } => {}
                }
            }
        }
        Ok(())
    }

    /// Sends TEARDOWN and closes (dropping does the same, ignoring errors).
    pub fn teardown(mut self) -> Result<(), RtspError> {
        self.conn.teardown()
    }
}
