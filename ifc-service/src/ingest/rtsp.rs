//! The RTSP publish listener: one tokio task per connection driving libifc's sans-IO
//! [`PublishSession`] and [`RtpToItems`]; the camera's feed gets the items.
//!
//! A publisher pushes to `rtsp://HOST:PORT/cameras/<camera name>` (the camera of kind `push`
//! with that name), authenticating with Digest as the camera's `username`/`password`:
//!
//! ```text
//! ffmpeg -re -i clip.mp4 -c copy -f rtsp -rtsp_transport tcp rtsp://USER:PASS@HOST:8554/cameras/NAME
//! ```
//!
//! Limits: `max_sessions` connections at once (more: 503, closed); header and body sizes (the
//! reader refuses more: 400, closed); a connection that completes no request for
//! `read_timeout_ms` before RECORD is closed; a recording session without RTP for
//! `idle_timeout_ms` is closed and its camera reported `stalled`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use ifc::live::{FanoutPublisher, RtpToItems};
use ifc::rtsp::server::{
    camera_name_from_uri, parse_publish_transport, Mount, PublishConfig, PublishEvent, PublishSecret, PublishSession,
    PublishState, PublishTransport, RequestContext, ServerResponse,
};
use ifc::rtsp::{IncomingRequest, MessageReader, ReadItem};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use ifc::inspect::SourceStatus;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::udp::{bind_pair, UdpPair};
use crate::api::AppState;
use crate::config::RtspIngestConfig;
use crate::shutdown::Shutdown;

/// How long a response may take to write before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds the listener (when enabled) and spawns its accept loop; returns the bound address.
pub async fn start_rtsp(state: AppState, shutdown: Shutdown) -> anyhow::Result<Option<(SocketAddr, JoinHandle<()>)>> {
    let config = state.config.ingest.rtsp.clone();
    if !config.enabled {
        return Ok(None);
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen for RTSP publishers on {} (ingest.rtsp.listen)", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "rtsp ingest: listening for publishers");
    let task = tokio::spawn(accept_loop(listener, state, Arc::new(config), shutdown));
    Ok(Some((addr, task)))
}

async fn accept_loop(listener: TcpListener, state: AppState, config: Arc<RtspIngestConfig>, shutdown: Shutdown) {
    let sessions = Arc::new(Semaphore::new(config.max_sessions.max(1)));
    loop {
        let (mut stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(error = %e, "rtsp ingest: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.wait() => return,
        };
        let Ok(permit) = Arc::clone(&sessions).try_acquire_owned() else {
            tracing::warn!(%peer, max_sessions = config.max_sessions, "rtsp ingest: too many sessions; refused");
            tokio::spawn(async move {
                let refusal = ServerResponse::new(503, "Service Unavailable (too many sessions)", None).serialize();
                let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&refusal)).await;
            });
            continue;
        };
        let state = state.clone();
        let config = Arc::clone(&config);
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let local_ip = stream.local_addr().map_or(IpAddr::from([127, 0, 0, 1]), |a| a.ip());
            let connection = Connection::new(state, config, peer, local_ip);
            connection.run(stream, shutdown).await;
        });
    }
}

/// One publisher connection.
struct Connection {
    state: AppState,
    config: Arc<RtspIngestConfig>,
    peer: SocketAddr,
    local_ip: IpAddr,
    session: PublishSession,
    /// From an accepted ANNOUNCE until the session ends: the feed's publisher slot and the
    /// RTP → items path.
    publish: Option<Publish>,
    /// RTP's interleaved channel (TCP), once set up.
    rtp_channel: Option<u8>,
    udp: Option<Arc<UdpPair>>,
    last_request: Instant,
    last_media: Instant,
}

struct Publish {
    camera_id: String,
    camera_name: String,
    publisher: FanoutPublisher,
    items: RtpToItems,
    recording: bool,
    packets: u64,
}

/// What the connection does after a request.
#[derive(PartialEq, Eq)]
enum After {
    Continue,
    Close,
}

impl Connection {
    fn new(state: AppState, config: Arc<RtspIngestConfig>, peer: SocketAddr, local_ip: IpAddr) -> Self {
        let publish_config = PublishConfig {
            realm: config.realm.clone(),
            nonce_lifetime: Duration::from_secs(config.nonce_lifetime_s),
            allow_basic: config.allow_basic,
            session_timeout: Duration::from_millis(config.idle_timeout_ms.max(1000)),
        };
        let session_id = uuid::Uuid::new_v4().simple().to_string();
        let nonce_key = uuid::Uuid::new_v4().simple().to_string();
        let now = Instant::now();
        Self {
            session: PublishSession::new(publish_config, session_id, &nonce_key),
            state,
            config,
            peer,
            local_ip,
            publish: None,
            rtp_channel: None,
            udp: None,
            last_request: now,
            last_media: now,
        }
    }

    async fn run(mut self, mut stream: TcpStream, shutdown: Shutdown) {
        tracing::debug!(peer = %self.peer, "rtsp ingest: connection");
        let mut reader = MessageReader::with_limits(self.config.max_header_bytes, self.config.max_body_bytes);
        let mut buf = vec![0u8; 64 * 1024];
        let mut datagram = vec![0u8; 64 * 1024];
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        'connection: loop {
            let udp = self.udp.clone();
            tokio::select! {
                read = stream.read(&mut buf) => {
                    let n = match read {
                        Ok(0) | Err(_) => break 'connection,
                        Ok(n) => n,
                    };
                    reader.push(&buf[..n]);
                    loop {
                        match reader.pull() {
                            Ok(Some(ReadItem::Request(request))) => {
                                let (response, after) = self.handle(&request).await;
                                let written = tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&response.serialize())).await;
                                if !matches!(written, Ok(Ok(()))) || after == After::Close {
                                    break 'connection;
                                }
                            }
                            Ok(Some(ReadItem::Interleaved { channel, payload })) => {
                                if Some(channel) == self.rtp_channel {
                                    self.on_rtp(payload);
                                }
                                // Other channels (RTCP): not used.
                            }
                            // A client has no business sending responses; skipped.
                            Ok(Some(ReadItem::Response(_))) => {}
                            Ok(None) => break,
                            Err(e) => {
                                tracing::info!(peer = %self.peer, error = %e, "rtsp ingest: not RTSP; closing");
                                let refusal = ServerResponse::new(400, "Bad Request", None).serialize();
                                let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&refusal)).await;
                                break 'connection;
                            }
                        }
                    }
                }
                received = recv_rtp(udp.as_deref().map(|u| &u.rtp), &mut datagram) => {
                    // Only the publisher's own address may feed its session.
                    if let Ok((n, from)) = received {
                        if from.ip() == self.peer.ip() {
                            // The one copy of a datagram's bytes (the TCP path slices its buffer).
                            self.on_rtp(Bytes::copy_from_slice(&datagram[..n]));
                        }
                    }
                }
                _ = tick.tick() => {
                    if self.timed_out().await {
                        break 'connection;
                    }
                }
                () = shutdown.wait() => break 'connection,
            }
        }
        self.drain_udp();
        self.end_publish("connection closed");
        tracing::debug!(peer = %self.peer, "rtsp ingest: connection ended");
    }

    /// Closes half-open and idle connections; a recording session without media is a stalled
    /// camera.
    async fn timed_out(&mut self) -> bool {
        let recording = self.publish.as_ref().filter(|p| p.recording);
        if let Some(publish) = recording {
            let idle = Duration::from_millis(self.config.idle_timeout_ms);
            if self.last_media.elapsed() >= idle {
                let (camera_id, camera_name) = (publish.camera_id.clone(), publish.camera_name.clone());
                let reason = format!("no media from the publisher for {} ms", self.config.idle_timeout_ms);
                tracing::warn!(camera = %camera_name, peer = %self.peer, %reason, "rtsp ingest: stalled; closing");
                self.end_publish("stalled");
                self.state.media.report_status(&camera_id, SourceStatus::Stalled { reason });
                return true;
            }
            return false;
        }
        self.last_request.elapsed() >= Duration::from_millis(self.config.read_timeout_ms)
    }

    async fn handle(&mut self, request: &IncomingRequest) -> (ServerResponse, After) {
        self.last_request = Instant::now();
        let cseq = request.headers.cseq();
        // The camera the URI names, until ANNOUNCE has bound the session to one.
        let mount = if self.session.mount().is_none() && request.method != "OPTIONS" {
            self.mount_for(&request.uri).await
        } else {
            None
        };
        // A UDP SETUP needs its server ports before it can be answered.
        let mut udp_pending = None;
        if request.method == "SETUP" && self.session.state() == PublishState::Announced {
            let transport = parse_publish_transport(request.headers.get("Transport").unwrap_or_default());
            if matches!(transport, Ok(PublishTransport::Udp { .. })) {
                match bind_pair(self.local_ip).await {
                    Ok(pair) => udp_pending = Some(pair),
                    Err(e) => tracing::warn!(error = %e, "rtsp ingest: no UDP ports for a session"),
                }
            }
        }
        let ctx = RequestContext {
            now: Instant::now(),
            mount: mount.as_ref(),
            udp_server_ports: udp_pending.as_ref().map(|p| (p.rtp_port, p.rtcp_port)),
        };
        let reply = self.session.handle(request, &ctx);
        let mut response = reply.response;
        match reply.event {
            Some(PublishEvent::Announced { camera_id, media }) => {
                let camera_name = self.session.mount().map(|m| m.name.clone()).unwrap_or_default();
                match self.state.media.feed(&camera_id).publisher() {
                    Ok(publisher) => {
                        tracing::info!(camera = %camera_name, peer = %self.peer, codec = ?media.codec, "rtsp ingest: publisher announced");
                        self.publish = Some(Publish {
                            camera_id,
                            camera_name,
                            publisher,
                            items: RtpToItems::new(&media),
                            recording: false,
                            packets: 0,
                        });
                    }
                    Err(_busy) => {
                        tracing::info!(camera = %camera_name, peer = %self.peer, "rtsp ingest: camera already has a publisher; refused");
                        let reason =
                            format!("Method Not Valid in This State (camera {camera_name} already has a publisher)");
                        response = self.session.refuse(cseq, 455, &reason);
                    }
                }
            }
            Some(PublishEvent::SetUp { transport }) => match transport {
                PublishTransport::Interleaved { rtp_channel, .. } => self.rtp_channel = Some(rtp_channel),
                PublishTransport::Udp { .. } => self.udp = udp_pending.take().map(Arc::new),
            },
            Some(PublishEvent::Recording) => {
                self.last_media = Instant::now();
                if let Some(publish) = &mut self.publish {
                    publish.recording = true;
                    tracing::info!(camera = %publish.camera_name, peer = %self.peer, udp = self.udp.is_some(), "rtsp ingest: recording");
                }
            }
            Some(PublishEvent::TornDown) => {
                self.drain_udp();
                self.end_publish("TEARDOWN");
                // The answer goes out, then the connection closes (RFC 2326 §10.7: the session
                // is over; a publisher that wants another opens a new one).
                return (response, After::Close);
            }
            None => {}
        }
        (response, After::Continue)
    }

    /// The publish target `uri` names: a camera of kind `push` with credentials.
    async fn mount_for(&self, uri: &str) -> Option<Mount> {
        let name = camera_name_from_uri(uri)?;
        let row = match self.state.db.camera_by_name(name).await {
            Ok(row) => row,
            Err(crate::db::DbError::NotFound { .. }) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "rtsp ingest: camera lookup failed");
                return None;
            }
        };
        if row.kind != "push" {
            return None;
        }
        Some(Mount {
            name: row.name,
            camera_id: row.id,
            user: row.username?,
            secret: PublishSecret::Password(row.password?),
        })
    }

    fn on_rtp(&mut self, packet: Bytes) {
        let Some(publish) = self.publish.as_mut().filter(|p| p.recording) else { return };
        self.last_media = Instant::now();
        publish.packets += 1;
        publish.items.push(packet);
        while let Some(item) = publish.items.pull() {
            publish.publisher.send(item);
        }
    }

    /// Takes the datagrams already waiting on the RTP socket: a UDP publisher's last packets
    /// may still be queued when its TEARDOWN or close arrives on TCP.
    fn drain_udp(&mut self) {
        let Some(udp) = self.udp.clone() else { return };
        let mut datagram = vec![0u8; 64 * 1024];
        while let Ok((n, from)) = udp.rtp.try_recv_from(&mut datagram) {
            if from.ip() == self.peer.ip() {
                self.on_rtp(Bytes::copy_from_slice(&datagram[..n]));
            }
        }
    }

    /// Flushes what the session had (a last unit without its marker bit) and frees the feed.
    fn end_publish(&mut self, why: &str) {
        self.rtp_channel = None;
        self.udp = None;
        let Some(mut publish) = self.publish.take() else { return };
        publish.items.end();
        while let Some(item) = publish.items.pull() {
            publish.publisher.send(item);
        }
        let stats = publish.items.stats();
        tracing::info!(
            camera = %publish.camera_name,
            peer = %self.peer,
            why,
            packets = publish.packets,
            malformed = stats.malformed_packets,
            foreign = stats.foreign_packets,
            "rtsp ingest: publish ended"
        );
        self.session.reset();
        // Dropping the publisher tells the feed's subscribers the source ended.
        drop(publish);
    }
}

async fn recv_rtp(socket: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(socket) => socket.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

