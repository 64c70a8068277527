//! Live view (`distribution`): each watched camera's feed packaged once, on its own thread, into
//! a [`LiveWindow`] of CMAF parts and segments that every viewer reads: LL-HLS requests and
//! WebSocket viewers alike. Nobody decodes, re-encodes or copies pictures per viewer (a
//! WebSocket message is the one copy, since a message needs one buffer).
//!
//! ```text
//! MediaHub feed ─Subscription─▶ packager thread (LivePackager ─▶ LiveWindow, version += 1)
//!                                     │ holds a SourceLease: a pull camera is ingested while watched
//!   HTTP: playlist (blocking reload), init/segment/part (waits for a hinted part) ◀─ watch
//!   WebSocket: init, the current group of pictures, then every new part            ◀─ watch
//! ```
//!
//! A camera is packaged from its first viewer until nobody has asked for it for
//! `distribution.idle_stop_s`. The packager never waits for a viewer: a viewer that falls out
//! of the window is dropped, the others go on.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ifc::codec::{Codec, DecoderConfig};
use ifc::live::{Fanout, FeedItem, LivePackager, LiveWindow, PackagerOptions, Subscription};
use ifc::remux::LiveItem;
use ifc::rtsp::Polled;
use tokio::sync::{broadcast, watch};

use crate::api::error::ApiError;
use crate::config::{CameraPolicy, DistributionConfig};
use crate::db::CameraRow;
use crate::media::{MediaHub, SourceLease};

pub mod whep;

/// How often the packager thread looks up from the feed (to stop when idle).
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Pictures queued for each WebRTC viewer: a viewer further behind skips to the next key frame.
const WEBRTC_QUEUE_FRAMES: usize = 128;

/// One picture for WebRTC viewers: Annex B, parameter sets in front of key frames, made once
/// per camera and shared (str0m takes an `Arc<[u8]>`).
#[derive(Debug)]
pub struct WebRtcFrame {
    pub codec: Codec,
    pub data: Arc<[u8]>,
    pub pts_90k: i64,
    pub is_key: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every camera being packaged, and the viewer counts.
#[derive(Debug)]
pub struct LiveChannels {
    hub: Arc<MediaHub>,
    policy: CameraPolicy,
    config: DistributionConfig,
    channels: Mutex<HashMap<String, Arc<LiveChannel>>>,
    viewers_total: AtomicUsize,
}

/// One camera's packaging: its window and a version that moves when the window changes.
#[derive(Debug)]
pub struct LiveChannel {
    window: Mutex<LiveWindow>,
    version: watch::Sender<u64>,
    /// Pictures for WebRTC viewers (made only while there are some).
    frames: broadcast::Sender<Arc<WebRtcFrame>>,
    viewers: AtomicUsize,
    last_use: Mutex<Instant>,
    stopped: AtomicBool,
}

/// A WebSocket viewer's place, given back on drop.
#[derive(Debug)]
pub struct ViewerSlot {
    channels: Arc<LiveChannels>,
    channel: Arc<LiveChannel>,
}

impl Drop for ViewerSlot {
    fn drop(&mut self) {
        self.channel.viewers.fetch_sub(1, Ordering::Relaxed);
        self.channels.viewers_total.fetch_sub(1, Ordering::Relaxed);
        self.channel.touch();
    }
}

impl LiveChannels {
    pub fn new(hub: Arc<MediaHub>, policy: CameraPolicy, config: DistributionConfig) -> Self {
        Self { hub, policy, config, channels: Mutex::default(), viewers_total: AtomicUsize::new(0) }
    }

    pub fn config(&self) -> &DistributionConfig {
        &self.config
    }

    /// The camera's running channel, started if needed (holding the camera's ingest: blocking
    /// for a file camera's open, so it runs off the async workers).
    pub async fn open(&self, camera: &CameraRow) -> Result<Arc<LiveChannel>, ApiError> {
        if let Some(channel) = self.running(&camera.id) {
            channel.touch();
            return Ok(channel);
        }
        let (hub, policy, row) = (Arc::clone(&self.hub), self.policy.clone(), camera.clone());
        let lease = tokio::task::spawn_blocking(move || hub.acquire(&row, &policy))
            .await
            .map_err(|e| ApiError::Internal(format!("live: {e}")))?
            .map_err(|e| ApiError::Unavailable(format!("camera {}: cannot ingest it: {e}", camera.id)))?;
        let mut channels = lock(&self.channels);
        // Another request may have started it meanwhile; this lease then just goes.
        if let Some(channel) = channels.get(&camera.id).filter(|c| !c.is_stopped()) {
            return Ok(Arc::clone(channel));
        }
        let options = PackagerOptions { part_target_ms: self.config.part_target_ms, segment_target_ms: self.config.segment_target_ms };
        let channel = Arc::new(LiveChannel {
            window: Mutex::new(LiveWindow::new(self.config.window_segments, options.part_target_ms, options.segment_target_ms)),
            version: watch::Sender::new(0),
            frames: broadcast::Sender::new(WEBRTC_QUEUE_FRAMES),
            viewers: AtomicUsize::new(0),
            last_use: Mutex::new(Instant::now()),
            stopped: AtomicBool::new(false),
        });
        let feed = self.hub.feed(&camera.id);
        let subscription = feed.subscribe();
        let idle = Duration::from_secs(self.config.idle_stop_s);
        let for_thread = Arc::clone(&channel);
        let camera_id = camera.id.clone();
        std::thread::Builder::new()
            .name(format!("ifc-live-{}", camera.id.chars().take(6).collect::<String>()))
            .spawn(move || package(&camera_id, &for_thread, &feed, subscription, lease, options, idle))
            .map_err(|e| ApiError::Internal(format!("live: cannot start a thread: {e}")))?;
        channels.insert(camera.id.clone(), Arc::clone(&channel));
        Ok(channel)
    }

    /// The camera's channel if it is running (file requests never start one).
    pub fn running(&self, camera_id: &str) -> Option<Arc<LiveChannel>> {
        lock(&self.channels).get(camera_id).filter(|c| !c.is_stopped()).cloned()
    }

    /// A place for one more WebSocket or WebRTC viewer of `channel`, or why not (viewers per
    /// camera and in all, and the egress they would take together).
    pub fn admit(self: &Arc<Self>, channel: &Arc<LiveChannel>) -> Result<ViewerSlot, ApiError> {
        let limit_kbps = self.config.max_egress_kbps;
        if limit_kbps > 0 {
            let egress_kbps = self.egress_bps() / 1000;
            let more_kbps = channel.window().bitrate_bps() / 1000;
            if egress_kbps + more_kbps > limit_kbps {
                return Err(ApiError::TooMany(format!(
                    "viewers take {egress_kbps} kbit/s already; one more of this camera ({more_kbps} kbit/s) would pass distribution.max_egress_kbps ({limit_kbps})"
                )));
            }
        }
        if self.viewers_total.fetch_add(1, Ordering::Relaxed) >= self.config.max_viewers_total {
            self.viewers_total.fetch_sub(1, Ordering::Relaxed);
            return Err(ApiError::TooMany(format!("{} viewers already (distribution.max_viewers_total)", self.config.max_viewers_total)));
        }
        if channel.viewers.fetch_add(1, Ordering::Relaxed) >= self.config.max_viewers_per_camera {
            channel.viewers.fetch_sub(1, Ordering::Relaxed);
            self.viewers_total.fetch_sub(1, Ordering::Relaxed);
            return Err(ApiError::TooMany(format!(
                "{} viewers of this camera already (distribution.max_viewers_per_camera)",
                self.config.max_viewers_per_camera
            )));
        }
        Ok(ViewerSlot { channels: Arc::clone(self), channel: Arc::clone(channel) })
    }

    /// WebSocket and WebRTC viewers now, in all.
    pub fn viewers(&self) -> usize {
        self.viewers_total.load(Ordering::Relaxed)
    }

    /// What the viewers take now: each camera's bit rate times its viewers, bits per second.
    fn egress_bps(&self) -> u64 {
        let channels: Vec<Arc<LiveChannel>> = lock(&self.channels).values().cloned().collect();
        channels.iter().map(|c| c.viewers.load(Ordering::Relaxed) as u64 * c.window().bitrate_bps()).sum()
    }

    /// `ifc_live_*` lines for `/metrics` (Prometheus text 0.0.4).
    pub fn render_metrics(&self) -> String {
        let mut channels: Vec<(String, Arc<LiveChannel>)> =
            lock(&self.channels).iter().filter(|(_, c)| !c.is_stopped()).map(|(id, c)| (id.clone(), Arc::clone(c))).collect();
        channels.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::new();
        let _ = writeln!(out, "# HELP ifc_live_cameras Cameras being packaged for live view.\n# TYPE ifc_live_cameras gauge");
        let _ = writeln!(out, "ifc_live_cameras {}", channels.len());
        let _ = writeln!(out, "# HELP ifc_live_viewers WebSocket and WebRTC viewers.\n# TYPE ifc_live_viewers gauge");
        for (id, c) in &channels {
            let _ = writeln!(out, "ifc_live_viewers{{camera=\"{id}\"}} {}", c.viewers.load(Ordering::Relaxed));
        }
        let _ = writeln!(out, "# HELP ifc_live_bitrate_bps A live camera's bit rate over its window.\n# TYPE ifc_live_bitrate_bps gauge");
        for (id, c) in &channels {
            let _ = writeln!(out, "ifc_live_bitrate_bps{{camera=\"{id}\"}} {}", c.window().bitrate_bps());
        }
        let _ = writeln!(out, "# HELP ifc_live_egress_bps What the viewers take (bit rate × viewers, summed).\n# TYPE ifc_live_egress_bps gauge");
        let _ = writeln!(out, "ifc_live_egress_bps {}", self.egress_bps());
        out
    }
}

impl LiveChannel {
    /// Keeps the channel from stopping for idleness.
    pub fn touch(&self) {
        *lock(&self.last_use) = Instant::now();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    pub fn window(&self) -> MutexGuard<'_, LiveWindow> {
        lock(&self.window)
    }

    /// Waits until `check` finds what it wants in the window, or `deadline` passes (then the
    /// last answer, `None`).
    pub async fn wait_for<T>(&self, deadline: tokio::time::Instant, mut check: impl FnMut(&LiveWindow) -> Option<T>) -> Option<T> {
        let mut changes = self.version.subscribe();
        loop {
            if let Some(found) = check(&self.window()) {
                return Some(found);
            }
            if self.is_stopped() {
                return None;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return check(&self.window()),
            }
        }
    }

    /// A receiver that sees every change of the window from now on.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// The pictures from now on, for a WebRTC viewer.
    pub fn frames(&self) -> broadcast::Receiver<Arc<WebRtcFrame>> {
        self.frames.subscribe()
    }
}

/// The packager thread: feed → window, until the camera is deleted or nobody watches.
fn package(
    camera_id: &str,
    channel: &LiveChannel,
    feed: &Fanout,
    mut subscription: Subscription,
    lease: Option<SourceLease>,
    options: PackagerOptions,
    idle: Duration,
) {
    tracing::info!(camera = %camera_id, "live: packaging started");
    let mut packager = LivePackager::new(options);
    let mut config: Option<DecoderConfig> = None;
    loop {
        let unwatched = channel.viewers.load(Ordering::Relaxed) == 0 && lock(&channel.last_use).elapsed() > idle;
        if unwatched {
            break;
        }
        match subscription.poll(Instant::now() + POLL_INTERVAL) {
            Polled::Ready(item) => {
                if let FeedItem::Item(LiveItem::Config(c)) = &item {
                    config = Some(c.clone());
                }
                if let (FeedItem::Item(LiveItem::Packet(packet)), Some(config)) = (&item, &config) {
                    if channel.frames.receiver_count() > 0 {
                        send_webrtc_frame(channel, config, packet);
                    }
                }
                let events = packager.push(item);
                // A WebRTC publisher sends key frames only when asked: segments need them.
                if packager.wants_key_frame() {
                    feed.request_keyframe();
                }
                if !events.is_empty() {
                    let mut window = channel.window();
                    for event in events {
                        window.push(event);
                    }
                    drop(window);
                    channel.version.send_modify(|v| *v += 1);
                }
            }
            Polled::Pending => {}
            Polled::Ended => break,
        }
    }
    channel.stopped.store(true, Ordering::Relaxed);
    // Free the pictures now (viewers still holding the channel see an empty window), and wake
    // the waiters so they see the stop.
    *channel.window() = LiveWindow::new(0, options.part_target_ms, options.segment_target_ms);
    channel.version.send_modify(|v| *v += 1);
    drop(lease);
    let stats = packager.stats();
    tracing::info!(camera = %camera_id, parts = stats.parts, segments = stats.segments, refused = stats.packets_refused, "live: packaging stopped");
}

fn send_webrtc_frame(channel: &LiveChannel, config: &DecoderConfig, packet: &ifc::decode::EncodedPacket) {
    let Some(pts_90k) = packet.pts_90k else { return };
    // A picture whose units do not parse was refused upstream already; skip it quietly.
    let Ok(data) = config.annex_b_access_unit(&packet.data, packet.is_key) else { return };
    let frame = WebRtcFrame {
        codec: config.codec,
        data: Arc::from(data),
        pts_90k,
        is_key: packet.is_key,
    };
    // No receiver left: nothing to do.
    let _ = channel.frames.send(Arc::new(frame));
}
