//! One WHIP session's task: the one async adapter around str0m's sans-IO [`Rtc`] (feed it
//! datagrams, commands and the time; drain its transmits and events; sleep until its next
//! timeout), and the camera's feed publisher the frames go to.
//!
//! ```text
//! UDP socket ─datagram─▶ Rtc::handle_input ─▶ Event::MediaData (one access unit, Annex B)
//!   ─▶ live::AnnexBToItems ─LiveItem─▶ FanoutPublisher::send ─▶ recorder, inspections, …
//! Rtc::poll_output ─Transmit─▶ UDP socket (STUN, DTLS, RTCP: receiver reports, NACK, PLI)
//! commands (PATCH candidates, DELETE) ─▶ Rtc
//! ```
//!
//! A key frame is asked for (PLI) when media starts, after every gap, and whenever the feed
//! wants one (a consumer joined mid-session or fell behind), at most once per [`PLI_INTERVAL`]: nothing decodes before the next key frame, and WebRTC senders send one
//! only when asked (or every few minutes).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ifc::codec::Codec;
use ifc::inspect::SourceStatus;
use ifc::live::{AnnexBToItems, FanoutPublisher};
use str0m::format::Codec as RtcCodec;
use str0m::media::{KeyframeRequestKind, MediaData, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{SessionEntry, WhipSessions};
use crate::media::MediaHub;
use crate::shutdown::Shutdown;

/// Key-frame requests are not repeated faster than this (an encoder needs time to answer).
const PLI_INTERVAL: Duration = Duration::from_millis(1000);

/// What the HTTP side tells a running session.
#[derive(Debug)]
pub enum Command {
    /// Trickled remote candidates (PATCH).
    Candidates(Vec<Candidate>),
    /// DELETE: end the session.
    Stop,
}

/// Everything a session task owns.
pub struct SessionTask {
    pub rtc: Rtc,
    pub socket: UdpSocket,
    pub publisher: FanoutPublisher,
    pub entry: Arc<SessionEntry>,
    pub sessions: Arc<WhipSessions>,
    pub media: Arc<MediaHub>,
    pub commands: mpsc::UnboundedReceiver<Command>,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    pub shutdown: Shutdown,
}

/// How a session ended, for the log and the camera's status.
enum Ending {
    Deleted,
    Shutdown,
    IceDisconnected,
    ConnectTimeout,
    Stalled(String),
    Failed(String),
}

struct Receiving {
    mid: Option<Mid>,
    items: Option<AnnexBToItems>,
    codec: Option<Codec>,
    pli_wanted: bool,
    last_pli: Option<Instant>,
    last_media: Option<Instant>,
    live: bool,
}

impl SessionTask {
    pub async fn run(mut self) {
        let started = Instant::now();
        let local = match self.socket.local_addr() {
            Ok(addr) => addr,
            Err(e) => return self.finish(Ending::Failed(format!("socket: {e}"))),
        };
        let mut rx = Receiving {
            mid: None,
            items: None,
            codec: None,
            pli_wanted: false,
            last_pli: None,
            last_media: None,
            live: false,
        };
        let mut buf = vec![0u8; 2048];
        let ending = loop {
            // Drain str0m's output up to its next timeout.
            let deadline = match self.drain(&mut rx).await {
                Ok(deadline) => deadline,
                Err(ending) => break ending,
            };
            if !self.rtc.is_alive() {
                break Ending::IceDisconnected;
            }
            // A consumer joined mid-session or fell behind: it waits for a key frame.
            if self.publisher.take_keyframe_request() {
                rx.pli_wanted = true;
            }
            let now = Instant::now();
            if !self.rtc.is_connected() && now.duration_since(started) >= self.connect_timeout {
                break Ending::ConnectTimeout;
            }
            if let Some(last) = rx.last_media {
                if now.duration_since(last) >= self.idle_timeout {
                    break Ending::Stalled(format!(
                        "no media from the WHIP client for {} ms",
                        self.idle_timeout.as_millis()
                    ));
                }
            }
            // Wake for the timers above too, not only str0m's.
            let wake = deadline.min(now + Duration::from_millis(250));
            let input_at;
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => {
                    input_at = Instant::now();
                    match received {
                        Ok((n, source)) => {
                            // Anything that is not STUN, DTLS, RTP or RTCP is dropped here.
                            let Ok(receive) = Receive::new(Protocol::Udp, source, local, &buf[..n]) else { continue };
                            if let Err(e) = self.rtc.handle_input(Input::Receive(input_at, receive)) {
                                break Ending::Failed(e.to_string());
                            }
                        }
                        // ICMP errors of earlier sends (a port gone): not this session's end.
                        Err(e) => tracing::debug!(error = %e, "whip: receive"),
                    }
                }
                command = self.commands.recv() => match command {
                    Some(Command::Candidates(candidates)) => {
                        for candidate in candidates {
                            self.rtc.add_remote_candidate(candidate);
                        }
                    }
                    Some(Command::Stop) | None => break Ending::Deleted,
                },
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                    if let Err(e) = self.rtc.handle_input(Input::Timeout(Instant::now())) {
                        break Ending::Failed(e.to_string());
                    }
                }
                () = self.shutdown.wait() => break Ending::Shutdown,
            }
        };
        if let Some(items) = &mut rx.items {
            // Units already depacketized but not yet pulled.
            while let Some(item) = items.pull() {
                self.publisher.send(item);
            }
        }
        self.rtc.disconnect();
        // The DTLS close alert and the last RTCP, best effort.
        let _ = self.drain(&mut rx).await;
        self.finish(ending);
    }

    /// Sends what str0m wants sent and handles its events; returns when it next needs the time.
    async fn drain(&mut self, rx: &mut Receiving) -> Result<Instant, Ending> {
        loop {
            self.request_keyframe(rx);
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => return Ok(at),
                Ok(Output::Transmit(t)) => send(&self.socket, &t.contents, t.destination).await,
                Ok(Output::Event(event)) => self.on_event(event, rx)?,
                Err(e) => return Err(Ending::Failed(e.to_string())),
            }
        }
    }

    fn on_event(&mut self, event: Event, rx: &mut Receiving) -> Result<(), Ending> {
        match event {
            Event::MediaAdded(added) if added.kind == MediaKind::Video => {
                rx.mid = Some(added.mid);
                rx.pli_wanted = true;
            }
            Event::Connected => {
                tracing::info!(camera = %self.entry.camera_name, session = %self.entry.id, "whip: connected");
                self.entry.update_stats(|s| s.connected = true);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => return Err(Ending::IceDisconnected),
            Event::MediaData(data) => self.on_media(data, rx),
            Event::MediaIngressStats(stats) => self.entry.update_stats(|s| {
                s.rtp_packets = stats.packets;
                s.rtp_bytes = stats.bytes;
                s.nacks_sent = stats.nacks;
                s.plis_sent = stats.plis;
                s.firs_sent = stats.firs;
                s.loss_fraction = stats.loss;
            }),
            _ => {}
        }
        Ok(())
    }

    fn on_media(&mut self, data: MediaData, rx: &mut Receiving) {
        let codec = match data.params.spec().codec {
            RtcCodec::H264 => Codec::H264,
            RtcCodec::H265 => Codec::H265,
            other => {
                tracing::debug!(codec = ?other, "whip: media of another codec ignored");
                return;
            }
        };
        let now = Instant::now();
        rx.last_media = Some(now);
        if rx.codec != Some(codec) {
            // The first frames, or the sender switched codecs: a new live source.
            tracing::info!(camera = %self.entry.camera_name, session = %self.entry.id, ?codec, "whip: media");
            rx.codec = Some(codec);
            rx.items = Some(AnnexBToItems::new(codec, data.time.frequency().get()));
        }
        if !data.contiguous {
            rx.pli_wanted = true;
        }
        let Some(items) = rx.items.as_mut() else { return };
        // The frame's bytes are str0m's; `Bytes` shares them from here on.
        items.push(Bytes::from_owner(data.data), data.time.numer(), data.contiguous);
        let mut pictures = 0;
        while let Some(item) = items.pull() {
            if matches!(item, ifc::remux::LiveItem::Packet(_)) {
                pictures += 1;
            }
            self.publisher.send(item);
        }
        let stats = items.stats();
        self.entry.update_stats(|s| {
            s.codec = Some(codec);
            s.frames_received = stats.units;
            s.frames_published += pictures;
            s.discontinuities = stats.discontinuities;
            s.frames_dropped_after_loss = stats.source.dropped_after_loss;
            s.frames_dropped_before_key_frame = stats.source.dropped_before_random_access;
        });
        if pictures > 0 && !rx.live {
            rx.live = true;
            self.media.report_status(&self.entry.camera_id, SourceStatus::Live);
        }
    }

    /// PLI when wanted and not too soon after the last one; retried until the stream exists.
    fn request_keyframe(&mut self, rx: &mut Receiving) {
        if !rx.pli_wanted {
            return;
        }
        let now = Instant::now();
        if rx.last_pli.is_some_and(|at| now.duration_since(at) < PLI_INTERVAL) {
            return;
        }
        let Some(mid) = rx.mid else { return };
        let Some(mut writer) = self.rtc.writer(mid) else { return };
        // Fails until the client's stream (its SSRC) is known: tried again next time round.
        if writer.request_keyframe(None, KeyframeRequestKind::Pli).is_ok() {
            rx.pli_wanted = false;
            rx.last_pli = Some(now);
            self.entry.update_stats(|s| s.keyframe_requests += 1);
        }
    }

    fn finish(self, ending: Ending) {
        let stats = self.entry.stats();
        let camera = &self.entry.camera_name;
        let session = &self.entry.id;
        match &ending {
            Ending::Stalled(reason) => {
                tracing::warn!(%camera, %session, %reason, "whip: stalled; closing");
                self.media.report_status(&self.entry.camera_id, SourceStatus::Stalled { reason: reason.clone() });
            }
            Ending::Failed(reason) => {
                tracing::warn!(%camera, %session, %reason, "whip: session failed");
                self.media
                    .report_status(&self.entry.camera_id, SourceStatus::Error { reason: format!("WHIP: {reason}") });
            }
            Ending::ConnectTimeout => {
                tracing::info!(%camera, %session, "whip: ICE/DTLS did not complete; closing");
                self.media.report_status(&self.entry.camera_id, SourceStatus::Ended);
            }
            Ending::Deleted | Ending::Shutdown | Ending::IceDisconnected => {
                self.media.report_status(&self.entry.camera_id, SourceStatus::Ended);
            }
        }
        let why = match ending {
            Ending::Deleted => "DELETE",
            Ending::Shutdown => "shutdown",
            Ending::IceDisconnected => "ICE disconnected",
            Ending::ConnectTimeout => "connect timeout",
            Ending::Stalled(_) => "stalled",
            Ending::Failed(_) => "failed",
        };
        tracing::info!(%camera, %session, why, ?stats, "whip: session ended");
        self.sessions.remove(&self.entry.id);
        // Dropping the publisher tells the feed's subscribers the source ended.
        drop(self.publisher);
        self.entry.ended.send_replace(true);
    }
}

pub(crate) async fn send(socket: &UdpSocket, contents: &[u8], destination: SocketAddr) {
    if let Err(e) = socket.send_to(contents, destination).await {
        tracing::debug!(error = %e, %destination, "whip: send");
    }
}
