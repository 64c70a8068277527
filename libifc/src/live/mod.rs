//! [`LiveVideo`]: one camera's video over RTSP, as decoder configurations and packets.
//!
//! ```text
//! rtsp::Session<Playing> ─RTP packet (Bytes)─▶ RtpToItems [rtp::RtpPacket ─▶ rtp::Depacketizer
//!   ─access unit─▶ remux::LiveSource] ─▶ LiveItem::{Config, Packet} ─▶ decode::Decoder
//! ```
//!
//! The RTSP session is the only I/O; [`RtpToItems`] (the depacketizer and the live source) is
//! sans-IO and is also what turns a publisher's pushed RTP into items (`ifc serve`'s RTSP
//! publish ingest), so pulled and pushed streams go through one implementation. Frames that a
//! transport depacketized itself (WebRTC's, WHIP ingest) enter the same [`LiveSource`] through
//! [`AnnexBToItems`]. Bad
//! packets and unusable parameter sets are counted and logged, and the stream goes on: only a
//! failed session (refused, unauthorized, timed out, closed mid-message) ends it with an error.

mod annex_b_to_items;
mod fanout;
mod ll_hls;
mod packager;
#[cfg(test)]
mod packager_tests;

pub use annex_b_to_items::{AnnexBStats, AnnexBToItems};
pub use fanout::{BreakReason, Fanout, FanoutBusy, FanoutPublisher, FanoutStats, FeedItem, Subscription};
pub use ll_hls::{LiveResource, LiveWindow, Lookup};
pub use packager::{LiveInit, LivePackager, LivePart, PackagerEvent, PackagerOptions, PackagerStats};

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::remux::{LiveItem, LiveSource, LiveSourceStats};
use crate::rtp::{Depacketizer, DepacketizerStats, RtpPacket};
use crate::rtsp::{Described, Playing, Polled, RtspError, RtspOptions, Session, VideoMedia};

/// Counts of what a live stream lost or skipped, from the packets up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// RTP packets that could not be parsed or depacketized.
    pub malformed_packets: u64,
    /// RTP packets of another payload type than the video's (ignored).
    pub foreign_packets: u64,
    /// Unusable parameter sets (the unit carrying them was dropped).
    pub config_errors: u64,
    pub depacketizer: DepacketizerStats,
    pub source: LiveSourceStats,
}

/// The sans-IO half of a live stream: RTP packets in (pushed by whoever has them: an RTSP
/// client session, a publisher's TCP connection or UDP socket), [`LiveItem`]s out.
///
/// ```text
/// RTP packet (Bytes) ─▶ rtp::RtpPacket ─▶ rtp::Depacketizer ─access unit─▶ remux::LiveSource
///   ─▶ LiveItem::{Config, Packet}
/// ```
///
/// Packets of another payload type (RTCP that strayed onto the channel, a second stream) are
/// counted and ignored; malformed packets and unusable parameter sets are counted and logged,
/// and the stream goes on at the next random-access point.
pub struct RtpToItems {
    payload_type: u8,
    depacketizer: Depacketizer,
    source: LiveSource,
    malformed_packets: u64,
    foreign_packets: u64,
    config_errors: u64,
}

impl std::fmt::Debug for RtpToItems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpToItems").field("payload_type", &self.payload_type).field("stats", &self.stats()).finish()
    }
}

impl RtpToItems {
    /// For the video a session description announced (codec, payload type, clock rate,
    /// out-of-band parameter sets).
    pub fn new(media: &VideoMedia) -> Self {
        Self {
            payload_type: media.payload_type,
            depacketizer: Depacketizer::new(media.codec),
            source: LiveSource::new(media.codec, media.clock_rate, &media.parameter_sets),
            malformed_packets: 0,
            foreign_packets: 0,
            config_errors: 0,
        }
    }

    /// One RTP packet, as received (a slice of the read buffer or a datagram; not copied).
    pub fn push(&mut self, data: Bytes) {
        match RtpPacket::parse(data) {
            Ok(packet) if packet.payload_type != self.payload_type => self.foreign_packets += 1,
            Ok(packet) => {
                if let Err(e) = self.depacketizer.push(packet) {
                    self.malformed_packets += 1;
                    tracing::debug!(error = %e, "live stream: packet dropped");
                }
            }
            Err(e) => {
                self.malformed_packets += 1;
                tracing::debug!(error = %e, "live stream: packet dropped");
            }
        }
    }

    /// The stream ended: a last access unit without its marker bit still counts.
    pub fn end(&mut self) {
        self.depacketizer.flush();
    }

    /// The next configuration or packet, `None` until more packets arrive.
    pub fn pull(&mut self) -> Option<LiveItem> {
        loop {
            if let Some(item) = self.source.pull() {
                match item {
                    Ok(item) => return Some(item),
                    Err(e) => {
                        self.config_errors += 1;
                        tracing::warn!(error = %e, "live stream: unusable parameter sets; waiting for the next ones");
                        continue;
                    }
                }
            }
            let unit = self.depacketizer.pull()?;
            // A unit the depacketizer dropped whole (a picture missing its first slice) breaks
            // references as surely as a lost packet.
            let lost = if unit.follows_loss() { unit.loss_before.max(1) } else { 0 };
            self.source.push(unit.nals, unit.timestamp, lost);
        }
    }

    pub fn stats(&self) -> LiveStats {
        LiveStats {
            malformed_packets: self.malformed_packets,
            foreign_packets: self.foreign_packets,
            config_errors: self.config_errors,
            depacketizer: self.depacketizer.stats().clone(),
            source: self.source.stats().clone(),
        }
    }
}

/// See the module docs.
pub struct LiveVideo {
    session: Session<Playing>,
    media: VideoMedia,
    items: RtpToItems,
    ended: bool,
    /// [`RtspOptions::picture_timeout`], and when the last picture (or PLAY) was.
    picture_timeout: Duration,
    last_picture: Instant,
}

impl LiveVideo {
    /// Connects, describes, sets up and plays the first H.264/H.265 video of `url`.
    pub fn open(url: &str, options: RtspOptions) -> Result<Self, RtspError> {
        let picture_timeout = options.picture_timeout;
        let described = Session::<Described>::describe(url, options)?;
        let media = described.video().clone();
        let session = described.play()?;
        Ok(Self {
            items: RtpToItems::new(&media),
            session,
            media,
            ended: false,
            picture_timeout,
            last_picture: Instant::now(),
        })
    }

    /// What the session description says about the video.
    pub fn media(&self) -> &VideoMedia {
        &self.media
    }

    /// The next configuration or packet; `None` when the server ended the stream. A stream
    /// that goes [`RtspOptions::picture_timeout`] without a picture (however many packets it
    /// sends) is [`RtspError::Timeout`].
    pub fn next_item(&mut self) -> Result<Option<LiveItem>, RtspError> {
        loop {
            match self.poll_item(crate::rtsp::far_future())? {
                Polled::Ready(item) => return Ok(Some(item)),
                Polled::Ended => return Ok(None),
                Polled::Pending => {}
            }
        }
    }

    /// [`LiveVideo::next_item`], returning [`Polled::Pending`] once `until` passes first, so
    /// that a caller can check for signals between waits.
    pub fn poll_item(&mut self, until: Instant) -> Result<Polled<LiveItem>, RtspError> {
        loop {
            if let Some(item) = self.items.pull() {
                if matches!(item, LiveItem::Packet(_)) {
                    self.last_picture = Instant::now();
                }
                return Ok(Polled::Ready(item));
            }
            if self.ended {
                return Ok(Polled::Ended);
            }
            if self.last_picture.elapsed() >= self.picture_timeout {
                let during = format!("waiting for a picture ({:?})", self.stats().source);
                let after_ms = self.picture_timeout.as_millis() as u64;
                return Err(RtspError::Timeout { url: self.session.url().to_string(), during, after_ms });
            }
            let until = until.min(self.last_picture + self.picture_timeout);
            match self.session.poll_packet(until)? {
                Polled::Ready(data) => self.items.push(data),
                Polled::Pending => {
                    if Instant::now() >= self.last_picture + self.picture_timeout {
                        continue;
                    }
                    return Ok(Polled::Pending);
                }
                Polled::Ended => {
                    // The server ended the stream: a last unit without a marker bit still counts.
                    self.ended = true;
                    self.items.end();
                }
            }
        }
    }

    pub fn stats(&self) -> LiveStats {
        self.items.stats()
    }
}

#[cfg(test)]
mod rtp_to_items_tests;
