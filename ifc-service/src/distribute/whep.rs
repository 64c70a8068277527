//! WHEP (RFC 9725's egress twin, draft-ietf-wish-whep): a browser watches a camera over WebRTC.
//! The HTTP resources are the API's (`api::whep`, thin); this module owns the sessions: the
//! str0m [`Rtc`] per viewer on its own UDP socket and the task that drives it, writing the
//! camera's pictures ([`WebRtcFrame`], made once per camera by the packager thread) as they
//! come. Nothing is decoded or re-encoded per viewer.
//!
//! ```text
//! POST /api/v1/whep/cameras/ID (offer, recvonly) ─▶ Rtc (host candidate) ─answer─▶ 201 Location
//! LiveChannel frames (broadcast) ─▶ session task: from the next key frame ─▶ Rtc writer ─▶ UDP
//! viewer's PLI / lost pictures ─▶ the feed wants a key frame (a WHIP publisher sends a PLI)
//! PATCH …/sessions/ID (trickle) ─▶ candidates; DELETE ─▶ the task ends
//! ```
//!
//! Streams with B-frames are refused at the POST: browsers drop B-frames over WebRTC.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ifc::codec::Codec;
use str0m::change::SdpOffer;
use str0m::format::Codec as RtcCodec;
use str0m::media::{MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, watch};

use super::{ViewerSlot, WebRtcFrame};
use crate::config::WhipIngestConfig;
use crate::ingest::whip::{answer_has_video, check_offer, install_crypto, new_rtc, send_datagram, Command, OfferError};
use crate::shutdown::Shutdown;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one viewer has been sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhepStats {
    pub connected: bool,
    pub frames_sent: u64,
    /// Pictures skipped waiting for a key frame (at the start, after falling behind).
    pub frames_skipped: u64,
    /// Key frames the viewer asked for (PLI/FIR).
    pub keyframe_requests: u64,
}

/// A running session, as the HTTP side sees it.
#[derive(Debug)]
pub struct WhepEntry {
    pub id: String,
    pub camera_id: String,
    pub etag: String,
    pub remote_ufrag: String,
    commands: mpsc::UnboundedSender<Command>,
    stats: Mutex<WhepStats>,
    ended: watch::Sender<bool>,
}

impl WhepEntry {
    pub fn stats(&self) -> WhepStats {
        lock(&self.stats).clone()
    }

    pub fn ended(&self) -> watch::Receiver<bool> {
        self.ended.subscribe()
    }

    /// Hands a command to the session task; false when it has ended.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }
}

/// Why a viewer could not be set up (the HTTP side maps each to its status).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WhepError {
    #[error("{0}")]
    Offer(#[from] OfferError),
    #[error("the offer cannot be negotiated: {0}")]
    Negotiation(String),
    #[error(
        "the camera's stream has B-frames (pictures sent out of display order), which browsers drop over WebRTC: \
         watch it over LL-HLS or the WebSocket, or set the camera's encoder to send no B-frames"
    )]
    BFrames,
    #[error("no UDP socket for the session: {0}")]
    Socket(std::io::Error),
}

/// All running viewers, by id.
#[derive(Debug, Default)]
pub struct WhepSessions {
    sessions: Mutex<HashMap<String, Arc<WhepEntry>>>,
}

/// What a viewer's session needs of the server.
pub struct Viewer {
    pub camera_id: String,
    pub frames: broadcast::Receiver<Arc<WebRtcFrame>>,
    pub slot: ViewerSlot,
    /// The camera's stream has B-frames.
    pub reorders: bool,
    /// The camera's feed: a viewer starting or falling behind asks it for a key frame (a WHIP
    /// publisher answers with a PLI to its client).
    pub feed: ifc::live::Fanout,
}

impl WhepSessions {
    pub fn get(&self, id: &str) -> Option<Arc<WhepEntry>> {
        lock(&self.sessions).get(id).cloned()
    }

    pub fn len(&self) -> usize {
        lock(&self.sessions).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Negotiates `offer` and starts the viewer's task. The UDP socket follows WHIP's settings
    /// (`ingest.whip.udp_bind`, `public_ip`): one WebRTC address for the server.
    pub async fn start(
        self: &Arc<Self>,
        udp: &WhipIngestConfig,
        shutdown: &Shutdown,
        viewer: Viewer,
        offer: &[u8],
        connect_timeout: Duration,
    ) -> Result<(String, Arc<WhepEntry>), WhepError> {
        install_crypto();
        if viewer.reorders {
            return Err(WhepError::BFrames);
        }
        let (text, summary) = check_offer(offer)?;
        let sdp = SdpOffer::from_sdp_string(&text).map_err(|e| WhepError::Negotiation(e.to_string()))?;
        let socket = UdpSocket::bind(SocketAddr::new(udp.udp_bind, 0)).await.map_err(WhepError::Socket)?;
        let local = socket.local_addr().map_err(WhepError::Socket)?;
        let advertised = SocketAddr::new(udp.public_ip.unwrap_or(local.ip()), local.port());
        let mut rtc = new_rtc();
        let candidate = Candidate::host(advertised, "udp").map_err(|e| WhepError::Negotiation(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let answer = rtc.sdp_api().accept_offer(sdp).map_err(|e| WhepError::Negotiation(e.to_string()))?;
        let answer_sdp = answer.to_sdp_string();
        if !answer_has_video(&answer_sdp) {
            return Err(WhepError::Negotiation("no video codec in common (ifc sends H.264 and H.265)".into()));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let entry = Arc::new(WhepEntry {
            id: id.clone(),
            camera_id: viewer.camera_id.clone(),
            etag: format!("\"{}\"", uuid::Uuid::new_v4().simple()),
            remote_ufrag: summary.ice_ufrag,
            commands,
            stats: Mutex::default(),
            ended: watch::Sender::new(false),
        });
        tracing::info!(camera = %viewer.camera_id, session = %id, %advertised, "whep: viewer");
        lock(&self.sessions).insert(id, Arc::clone(&entry));
        let task = ViewerTask {
            rtc,
            socket,
            viewer,
            entry: Arc::clone(&entry),
            sessions: Arc::clone(self),
            commands: commands_rx,
            connect_timeout,
            shutdown: shutdown.clone(),
            mid: None,
            waiting_for_key: true,
        };
        tokio::spawn(task.run());
        Ok((answer_sdp, entry))
    }
}

struct ViewerTask {
    rtc: Rtc,
    socket: UdpSocket,
    viewer: Viewer,
    entry: Arc<WhepEntry>,
    sessions: Arc<WhepSessions>,
    commands: mpsc::UnboundedReceiver<Command>,
    connect_timeout: Duration,
    shutdown: Shutdown,
    mid: Option<Mid>,
    /// Pictures are skipped until a key frame (at the start, after falling behind).
    waiting_for_key: bool,
}

impl ViewerTask {
    async fn run(mut self) {
        let started = Instant::now();
        let why = match self.socket.local_addr() {
            Ok(local) => self.serve(local, started).await,
            Err(e) => format!("socket: {e}"),
        };
        self.rtc.disconnect();
        let _ = self.drain().await;
        tracing::info!(camera = %self.entry.camera_id, session = %self.entry.id, why, stats = ?self.entry.stats(), "whep: viewer left");
        lock(&self.sessions.sessions).remove(&self.entry.id);
        self.entry.ended.send_replace(true);
    }

    /// Drives the session until it ends; returns why.
    async fn serve(&mut self, local: SocketAddr, started: Instant) -> String {
        let mut buf = vec![0u8; 2048];
        // Ask the publisher (if it is a WHIP client) for a key frame now: the viewer starts there.
        self.viewer.feed.request_keyframe();
        loop {
            let deadline = match self.drain().await {
                Ok(deadline) => deadline,
                Err(why) => return why,
            };
            if !self.rtc.is_alive() {
                return "ICE disconnected".into();
            }
            let now = Instant::now();
            if !self.rtc.is_connected() && now.duration_since(started) >= self.connect_timeout {
                return "ICE/DTLS did not complete in time".into();
            }
            let wake = deadline.min(now + Duration::from_millis(250));
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((n, source)) => {
                        let Ok(receive) = Receive::new(Protocol::Udp, source, local, &buf[..n]) else { continue };
                        if let Err(e) = self.rtc.handle_input(Input::Receive(Instant::now(), receive)) {
                            return e.to_string();
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "whep: receive"),
                },
                frame = self.viewer.frames.recv() => match frame {
                    Ok(frame) => self.write(&frame),
                    Err(RecvError::Lagged(n)) => {
                        // Too slow for the camera: resume at the next key frame.
                        self.waiting_for_key = true;
                        self.entry.update(|s| s.frames_skipped += n);
                        self.viewer.feed.request_keyframe();
                    }
                    Err(RecvError::Closed) => return "the live view stopped".into(),
                },
                command = self.commands.recv() => match command {
                    Some(Command::Candidates(candidates)) => {
                        for candidate in candidates {
                            self.rtc.add_remote_candidate(candidate);
                        }
                    }
                    Some(Command::Stop) | None => return "DELETE".into(),
                },
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                    if let Err(e) = self.rtc.handle_input(Input::Timeout(Instant::now())) {
                        return e.to_string();
                    }
                }
                () = self.shutdown.wait() => return "shutdown".into(),
            }
        }
    }

    fn write(&mut self, frame: &WebRtcFrame) {
        let Some(mid) = self.mid.filter(|_| self.rtc.is_connected()) else { return };
        if self.waiting_for_key && !frame.is_key {
            self.entry.update(|s| s.frames_skipped += 1);
            return;
        }
        let wanted = match frame.codec {
            Codec::H264 => RtcCodec::H264,
            Codec::H265 => RtcCodec::H265,
        };
        let Some(writer) = self.rtc.writer(mid) else { return };
        let Some(pt) = writer.payload_params().find(|p| p.spec().codec == wanted).map(|p| p.pt()) else {
            return;
        };
        let rtp_time = MediaTime::from_90khz(u64::try_from(frame.pts_90k).unwrap_or(0));
        match writer.write(pt, Instant::now(), rtp_time, Arc::clone(&frame.data)) {
            Ok(()) => {
                self.waiting_for_key = false;
                self.entry.update(|s| s.frames_sent += 1);
            }
            Err(e) => tracing::debug!(error = %e, "whep: write"),
        }
    }

    /// Sends what str0m wants sent and handles its events; returns when it next needs the time.
    async fn drain(&mut self) -> Result<Instant, String> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => return Ok(at),
                Ok(Output::Transmit(t)) => send_datagram(&self.socket, &t.contents, t.destination).await,
                Ok(Output::Event(event)) => self.on_event(event)?,
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    fn on_event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::MediaAdded(added) if added.kind == MediaKind::Video => self.mid = Some(added.mid),
            Event::Connected => {
                tracing::info!(camera = %self.entry.camera_id, session = %self.entry.id, "whep: connected");
                self.entry.update(|s| s.connected = true);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => return Err("ICE disconnected".into()),
            Event::KeyframeRequest(_) => {
                self.entry.update(|s| s.keyframe_requests += 1);
                self.viewer.feed.request_keyframe();
            }
            _ => {}
        }
        Ok(())
    }
}

impl WhepEntry {
    fn update(&self, f: impl FnOnce(&mut WhepStats)) {
        f(&mut lock(&self.stats));
    }
}
