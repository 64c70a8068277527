//! WHIP ingest (RFC 9725): a browser or app publishes one video track of a `push` camera over
//! WebRTC. The HTTP resources are the API's (`api::whip`, thin); this module owns the sessions:
//! offer checks, the str0m [`Rtc`] per session on its own UDP socket, and the task that drives
//! it ([`session`]) into the camera's feed, the same seam RTSP publish feeds.
//!
//! ```text
//! POST /api/v1/whip/cameras/NAME (offer) ─▶ check_offer ─▶ Rtc (host candidate: public_ip:port)
//!   ─answer─▶ 201 Location: /api/v1/whip/sessions/ID, ETag, Link: <stun:…>; rel="ice-server"
//!   camera's feed publisher taken (busy: 409) ─▶ session task (tokio) ─▶ Fanout ─▶ consumers
//! PATCH …/sessions/ID (trickle-ice-sdpfrag) ─▶ candidates ─▶ task    (ICE restart: 422)
//! DELETE …/sessions/ID ─▶ task ends: publisher dropped, camera `ended`
//! ```
//!
//! Statistics per session (RTP packets and bytes, frames, gaps, NACK/PLI sent, loss) are in
//! `/metrics` (`ifc_whip_*`) and in the session's end-of-session log line.

mod offer;
mod session;
pub mod trickle;

pub use offer::{check_offer, OfferError, OfferSummary};
pub use session::Command;
pub(crate) use session::send as send_datagram;

use std::collections::HashMap;
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ifc::codec::Codec;
use ifc::live::FanoutPublisher;
use str0m::change::SdpOffer;
use str0m::{Candidate, Rtc, RtcConfig};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use crate::config::WhipIngestConfig;
use crate::media::MediaHub;
use crate::shutdown::Shutdown;

/// What one session has received so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WhipStats {
    pub connected: bool,
    pub codec: Option<Codec>,
    pub rtp_packets: u64,
    pub rtp_bytes: u64,
    /// Access units str0m depacketized.
    pub frames_received: u64,
    /// Pictures that went into the camera's feed.
    pub frames_published: u64,
    /// Frames that followed a gap in the RTP sequence.
    pub discontinuities: u64,
    pub frames_dropped_after_loss: u64,
    pub frames_dropped_before_key_frame: u64,
    pub keyframe_requests: u64,
    pub nacks_sent: u64,
    pub plis_sent: u64,
    pub firs_sent: u64,
    /// Fraction lost in the last receiver report.
    pub loss_fraction: Option<f32>,
}

/// A running session, as the HTTP side sees it.
#[derive(Debug)]
pub struct SessionEntry {
    pub id: String,
    pub camera_id: String,
    pub camera_name: String,
    /// The ICE session's entity tag (RFC 9725 §4.3.1): trickle PATCHes may name it in `If-Match`.
    pub etag: String,
    /// The client's ICE username fragment from the offer: a fragment naming another one is an
    /// ICE restart.
    pub remote_ufrag: String,
    commands: mpsc::UnboundedSender<Command>,
    stats: Mutex<WhipStats>,
    /// Set when the session's task has ended (its publisher dropped).
    ended: watch::Sender<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SessionEntry {
    pub fn stats(&self) -> WhipStats {
        lock(&self.stats).clone()
    }

    fn update_stats(&self, f: impl FnOnce(&mut WhipStats)) {
        f(&mut lock(&self.stats));
    }

    /// Becomes true when the session has ended.
    pub fn ended(&self) -> watch::Receiver<bool> {
        self.ended.subscribe()
    }

    /// Hands a command to the session task; false when it has ended.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }
}

/// Why a session could not be set up (the HTTP side maps each to its status).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("{0}")]
    Offer(#[from] OfferError),
    #[error("the offer cannot be negotiated: {0}")]
    Negotiation(String),
    #[error("too many WHIP sessions (ingest.whip.max_sessions = {0})")]
    TooMany(usize),
    #[error("camera {0} already has a publisher")]
    Busy(String),
    #[error("no UDP socket for the session on {addr}: {source}")]
    Socket { addr: IpAddr, source: std::io::Error },
}

/// What [`WhipSessions::start`] needs to know of the camera.
#[derive(Debug, Clone)]
pub struct Publish {
    pub camera_id: String,
    pub camera_name: String,
}

/// The answer for the client and the session's identity.
#[derive(Debug)]
pub struct Started {
    pub answer_sdp: String,
    pub entry: Arc<SessionEntry>,
}

/// All running sessions, by id.
#[derive(Debug, Default)]
pub struct WhipSessions {
    sessions: Mutex<HashMap<String, Arc<SessionEntry>>>,
}

impl WhipSessions {
    pub fn get(&self, id: &str) -> Option<Arc<SessionEntry>> {
        lock(&self.sessions).get(id).cloned()
    }

    pub fn len(&self) -> usize {
        lock(&self.sessions).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn remove(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    /// Negotiates `offer`, takes the camera's feed publisher and starts the session's task.
    /// Nothing reaches the feed of a refused offer: the publisher is taken last.
    pub async fn start(
        self: &Arc<Self>,
        config: &WhipIngestConfig,
        media: &Arc<MediaHub>,
        shutdown: &Shutdown,
        camera: Publish,
        offer: &[u8],
    ) -> Result<Started, StartError> {
        install_crypto();
        if self.len() >= config.max_sessions.max(1) {
            return Err(StartError::TooMany(config.max_sessions));
        }
        let (text, summary) = check_offer(offer)?;
        let sdp = SdpOffer::from_sdp_string(&text).map_err(|e| StartError::Negotiation(e.to_string()))?;
        let socket = UdpSocket::bind(SocketAddr::new(config.udp_bind, 0))
            .await
            .map_err(|source| StartError::Socket { addr: config.udp_bind, source })?;
        let local = socket.local_addr().map_err(|source| StartError::Socket { addr: config.udp_bind, source })?;
        let advertised = SocketAddr::new(config.public_ip.unwrap_or(local.ip()), local.port());
        let mut rtc = new_rtc();
        let candidate = Candidate::host(advertised, "udp").map_err(|e| StartError::Negotiation(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let answer = rtc.sdp_api().accept_offer(sdp).map_err(|e| StartError::Negotiation(e.to_string()))?;
        let answer_sdp = answer.to_sdp_string();
        if !answer_has_video(&answer_sdp) {
            return Err(StartError::Negotiation("no video codec in common (ifc takes H.264 and H.265)".into()));
        }
        let publisher: FanoutPublisher =
            media.feed(&camera.camera_id).publisher().map_err(|_| StartError::Busy(camera.camera_name.clone()))?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let entry = Arc::new(SessionEntry {
            etag: format!("\"{}\"", uuid::Uuid::new_v4().simple()),
            id: id.clone(),
            camera_id: camera.camera_id,
            camera_name: camera.camera_name,
            remote_ufrag: summary.ice_ufrag,
            commands,
            stats: Mutex::default(),
            ended: watch::Sender::new(false),
        });
        tracing::info!(camera = %entry.camera_name, session = %id, %advertised, offers_h265 = summary.offers_h265, "whip: session");
        lock(&self.sessions).insert(id, Arc::clone(&entry));
        let task = session::SessionTask {
            rtc,
            socket,
            publisher,
            entry: Arc::clone(&entry),
            sessions: Arc::clone(self),
            media: Arc::clone(media),
            commands: commands_rx,
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            idle_timeout: Duration::from_millis(config.idle_timeout_ms),
            shutdown: shutdown.clone(),
        };
        tokio::spawn(task.run());
        Ok(Started { answer_sdp, entry })
    }

    /// `ifc_whip_*` lines for `/metrics` (Prometheus text 0.0.4).
    pub fn render_metrics(&self) -> String {
        let mut entries: Vec<_> = lock(&self.sessions).values().cloned().collect();
        entries.sort_by(|a, b| a.camera_name.cmp(&b.camera_name));
        let mut out = String::new();
        let _ = writeln!(out, "# HELP ifc_whip_sessions WHIP sessions running.\n# TYPE ifc_whip_sessions gauge");
        let _ = writeln!(out, "ifc_whip_sessions {}", entries.len());
        type Row = (&'static str, &'static str, fn(&WhipStats) -> u64);
        let rows: [Row; 9] = [
            ("ifc_whip_rtp_packets", "RTP packets received in the session.", |s| s.rtp_packets),
            ("ifc_whip_rtp_bytes", "RTP bytes received in the session.", |s| s.rtp_bytes),
            ("ifc_whip_frames_received", "Access units received (depacketized).", |s| s.frames_received),
            ("ifc_whip_frames_published", "Pictures published into the camera's feed.", |s| s.frames_published),
            ("ifc_whip_discontinuities", "Frames that followed a gap in the RTP sequence.", |s| s.discontinuities),
            ("ifc_whip_frames_dropped_after_loss", "Frames dropped waiting for a key frame after a gap.", |s| {
                s.frames_dropped_after_loss
            }),
            ("ifc_whip_keyframe_requests", "Key frames asked for (PLI) by ifc.", |s| s.keyframe_requests),
            ("ifc_whip_nacks_sent", "NACKs sent (retransmissions asked for).", |s| s.nacks_sent),
            ("ifc_whip_plis_sent", "PLIs sent, as str0m counts them.", |s| s.plis_sent),
        ];
        let stats: Vec<_> = entries.iter().map(|e| e.stats()).collect();
        for (name, help, get) in rows {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (entry, s) in entries.iter().zip(&stats) {
                let _ = writeln!(out, "{name}{{camera=\"{}\",session=\"{}\"}} {}", entry.camera_name, entry.id, get(s));
            }
        }
        out
    }
}

/// str0m set up for video only (H.264, H.265), statistics once a second: WHIP's ingest and
/// WHEP's viewers alike.
pub(crate) fn new_rtc() -> Rtc {
    RtcConfig::new()
        .clear_codecs()
        .enable_h264(true)
        .enable_h265(true)
        .set_stats_interval(Some(Duration::from_secs(1)))
        .build(Instant::now())
}

/// Whether the answer kept a video section open (port not 0).
pub(crate) fn answer_has_video(answer: &str) -> bool {
    answer.lines().any(|l| l.starts_with("m=video ") && !l.starts_with("m=video 0 "))
}

/// Installs str0m's crypto (the system OpenSSL) once per process, before the first session.
pub(crate) fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
}
