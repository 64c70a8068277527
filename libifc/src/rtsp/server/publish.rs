//! [`PublishSession`]: one publisher's RTSP session on one connection, as a state machine.
//!
//! ```text
//! Ready ─ANNOUNCE (SDP: one H.264/H.265 video)─▶ Announced ─SETUP (the video's control URL,
//!   TCP interleaved or UDP)─▶ SetUp ─RECORD─▶ Recording ─TEARDOWN─▶ Ready
//! ```
//!
//! OPTIONS is answered in any state without credentials (it names methods, nothing else);
//! every other request needs valid credentials for the camera its URI names. GET_PARAMETER and
//! SET_PARAMETER are keep-alives. A request in the wrong state is 455, a session id that is not
//! this session's 454, an unusable transport 461, a method this server does not implement 501
//! (405 for RTSP's playback methods, which a publish mount does not serve).
//!
//! The caller resolves the camera a URI names ([`camera_name_from_uri`] → its [`Mount`]) and,
//! for a UDP SETUP, binds the server's ports first ([`RequestContext`]); it acts on the
//! [`PublishEvent`] of each [`Reply`] (take the camera's feed on `Announced`, route RTP on
//! `Recording`, release on `TornDown`).

use std::time::{Duration, Instant};

use super::digest::{AuthRefusal, DigestAuthority, PublishSecret};
use super::response::ServerResponse;
use super::transport::{parse_publish_transport, PublishTransport};
use crate::rtsp::headers::parse_session as parse_session_header;
use crate::rtsp::{parse_session, IncomingRequest, VideoMedia};

/// What a publishing server is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishConfig {
    /// The Digest realm (part of HA1: changing it invalidates stored HA1 values).
    pub realm: String,
    /// How long a nonce is accepted after it was issued; older ones get `stale=true`.
    pub nonce_lifetime: Duration,
    /// Accept Basic (the password in clear on every request).
    pub allow_basic: bool,
    /// Announced in `Session: id;timeout=N` (§12.37): how long the server waits for traffic.
    pub session_timeout: Duration,
}

impl Default for PublishConfig {
    fn default() -> Self {
        Self {
            realm: "ifc".to_owned(),
            nonce_lifetime: Duration::from_secs(300),
            allow_basic: false,
            session_timeout: Duration::from_secs(60),
        }
    }
}

/// A publish target the caller found for a URI: the camera and what its publisher must prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The name in the URI (`rtsp://host/cameras/<name>`).
    pub name: String,
    /// The caller's id for the camera (opaque here).
    pub camera_id: String,
    pub user: String,
    pub secret: PublishSecret,
}

/// What the caller knows for one request.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    pub now: Instant,
    /// The mount of the camera the request's URI names, `None` when there is no such publish
    /// camera. Only consulted until ANNOUNCE succeeds; the session keeps that mount after.
    pub mount: Option<&'a Mount>,
    /// For a UDP SETUP: the (RTP, RTCP) ports the caller bound for this session, `None` when it
    /// could not bind them.
    pub udp_server_ports: Option<(u16, u16)>,
}

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishState {
    Ready,
    Announced,
    SetUp,
    Recording,
}

/// What changed with a request, for the caller to act on.
#[derive(Debug, Clone, PartialEq)]
pub enum PublishEvent {
    /// ANNOUNCE accepted (the reply is a 200). The caller claims the camera's feed now; when it
    /// cannot, it answers [`PublishSession::refuse`]'s response instead.
    Announced {
        camera_id: String,
        media: VideoMedia,
    },
    SetUp {
        transport: PublishTransport,
    },
    /// RTP may flow from now on.
    Recording,
    /// The publisher ended the session (TEARDOWN): release the feed.
    TornDown,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub response: ServerResponse,
    pub event: Option<PublishEvent>,
}

impl Reply {
    fn plain(response: ServerResponse) -> Self {
        Self { response, event: None }
    }
}

/// Methods this server implements (the `Public` header).
const PUBLIC: &str = "OPTIONS, ANNOUNCE, SETUP, RECORD, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

/// See the module docs.
#[derive(Debug)]
pub struct PublishSession {
    config: PublishConfig,
    authority: DigestAuthority,
    session_id: String,
    state: PublishState,
    /// From a successful ANNOUNCE until TEARDOWN.
    mount: Option<Mount>,
    media: Option<VideoMedia>,
    transport: Option<PublishTransport>,
}

impl PublishSession {
    /// `session_id`: unpredictable, printable, no `;` (the caller draws it); `nonce_key`: secret
    /// material for the Digest nonces.
    pub fn new(config: PublishConfig, session_id: String, nonce_key: &str) -> Self {
        let authority =
            DigestAuthority::new(config.realm.clone(), config.nonce_lifetime, config.allow_basic, nonce_key);
        Self { config, authority, session_id, state: PublishState::Ready, mount: None, media: None, transport: None }
    }

    pub fn state(&self) -> PublishState {
        self.state
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The announced video (after ANNOUNCE).
    pub fn media(&self) -> Option<&VideoMedia> {
        self.media.as_ref()
    }

    pub fn transport(&self) -> Option<PublishTransport> {
        self.transport
    }

    /// The announced camera's mount (after ANNOUNCE).
    pub fn mount(&self) -> Option<&Mount> {
        self.mount.as_ref()
    }

    /// The nonces: tests replay captured exchanges with the nonce they used.
    pub fn authority_mut(&mut self) -> &mut DigestAuthority {
        &mut self.authority
    }

    /// Back to `Ready`, forgetting the announced stream.
    pub fn reset(&mut self) {
        self.state = PublishState::Ready;
        self.mount = None;
        self.media = None;
        self.transport = None;
    }

    /// Resets and returns a refusal to send instead of the reply the caller cannot honour
    /// (e.g. the camera already has a publisher).
    pub fn refuse(&mut self, cseq: Option<u32>, status: u16, reason: &str) -> ServerResponse {
        self.reset();
        ServerResponse::new(status, reason, cseq)
    }

    /// Answers one request. Never panics; every refusal is a response.
    pub fn handle(&mut self, request: &IncomingRequest, ctx: &RequestContext<'_>) -> Reply {
        let Some(cseq) = request.headers.cseq() else {
            return Reply::plain(ServerResponse::new(400, "Bad Request (no CSeq)", None));
        };
        let cseq = Some(cseq);
        let method = request.method.as_str();
        match method {
            "OPTIONS" => return Reply::plain(ServerResponse::ok(cseq).header("Public", PUBLIC)),
            "ANNOUNCE" | "SETUP" | "RECORD" | "TEARDOWN" | "GET_PARAMETER" | "SET_PARAMETER" => {}
            "DESCRIBE" | "PLAY" | "PAUSE" | "REDIRECT" => {
                return Reply::plain(
                    ServerResponse::new(405, "Method Not Allowed (this server only takes published streams)", cseq)
                        .header("Allow", PUBLIC),
                )
            }
            _ => return Reply::plain(ServerResponse::new(501, "Not Implemented", cseq).header("Public", PUBLIC)),
        }
        // The camera the request is for, and what its publisher must prove.
        let mount = match &self.mount {
            Some(mount) => {
                let named = camera_name_from_uri(&request.uri);
                if request.uri != "*" && named != Some(mount.name.as_str()) {
                    return Reply::plain(ServerResponse::new(
                        404,
                        "Not Found (the URI names another camera than this session's)",
                        cseq,
                    ));
                }
                mount.clone()
            }
            None => match ctx.mount {
                Some(mount) => mount.clone(),
                None => return Reply::plain(ServerResponse::new(404, "Not Found (no push camera at this path)", cseq)),
            },
        };
        if let Err(refusal) = self.authority.verify(
            request.headers.get("Authorization"),
            method,
            &request.uri,
            &mount.user,
            &mount.secret,
            ctx.now,
        ) {
            let stale = refusal == AuthRefusal::StaleNonce;
            tracing::debug!(camera = %mount.name, %refusal, "rtsp publish: credentials refused");
            let mut response = ServerResponse::new(401, "Unauthorized", cseq);
            for challenge in self.authority.challenges(ctx.now, stale) {
                response = response.header("WWW-Authenticate", challenge);
            }
            return Reply::plain(response);
        }
        if let Some(refused) = self.check_session_header(request, cseq) {
            return Reply::plain(refused);
        }
        match method {
            "ANNOUNCE" => self.announce(request, mount, cseq),
            "SETUP" => self.setup(request, ctx, cseq),
            "RECORD" => self.record(cseq),
            "TEARDOWN" => self.teardown(cseq),
            // GET_PARAMETER / SET_PARAMETER: keep-alives; no parameters are exposed or settable.
            _ if method == "SET_PARAMETER" && !request.body.is_empty() => {
                Reply::plain(ServerResponse::new(451, "Parameter Not Understood", cseq))
            }
            _ => Reply::plain(self.with_session(ServerResponse::ok(cseq))),
        }
    }

    /// §12.37: a request naming a session must name this one. Requests that need a session
    /// (RECORD, TEARDOWN) are checked by state instead, so a missing header there is 454 too.
    fn check_session_header(&self, request: &IncomingRequest, cseq: Option<u32>) -> Option<ServerResponse> {
        let not_found = || Some(ServerResponse::new(454, "Session Not Found", cseq));
        let has_session = matches!(self.state, PublishState::SetUp | PublishState::Recording);
        match request.headers.get("Session") {
            Some(value) => match parse_session_header(value) {
                Ok((id, _)) if has_session && id == self.session_id => None,
                _ => not_found(),
            },
            None if has_session && matches!(request.method.as_str(), "RECORD" | "TEARDOWN") => not_found(),
            None => None,
        }
    }

    fn with_session(&self, response: ServerResponse) -> ServerResponse {
        if matches!(self.state, PublishState::SetUp | PublishState::Recording) {
            response.header("Session", format!("{};timeout={}", self.session_id, self.config.session_timeout.as_secs()))
        } else {
            response
        }
    }

    fn announce(&mut self, request: &IncomingRequest, mount: Mount, cseq: Option<u32>) -> Reply {
        if self.state != PublishState::Ready {
            return Reply::plain(ServerResponse::new(455, "Method Not Valid in This State (already announced)", cseq));
        }
        if let Some(kind) = request.headers.get("Content-Type") {
            if !kind.trim().to_ascii_lowercase().starts_with("application/sdp") {
                return Reply::plain(ServerResponse::new(
                    415,
                    "Unsupported Media Type (ANNOUNCE needs application/sdp)",
                    cseq,
                ));
            }
        }
        // One camera, one video: a second video track would be silently dropped otherwise.
        let text = String::from_utf8_lossy(&request.body);
        let video_tracks = text.lines().filter(|l| l.trim_start().to_ascii_lowercase().starts_with("m=video")).count();
        if video_tracks > 1 {
            let reason = format!("Unsupported Media Type ({video_tracks} video tracks; publish exactly one)");
            return Reply::plain(ServerResponse::new(415, reason, cseq));
        }
        let base = request.headers.get("Content-Base").map_or(request.uri.as_str(), str::trim);
        let description = match parse_session(&request.body, base) {
            Ok(description) => description,
            Err(error) => {
                let why: String = error.to_string().chars().take(160).collect();
                return Reply::plain(ServerResponse::new(415, format!("Unsupported Media Type ({why})"), cseq));
            }
        };
        let media = description.video;
        let camera_id = mount.camera_id.clone();
        self.state = PublishState::Announced;
        self.mount = Some(mount);
        self.media = Some(media.clone());
        Reply { response: ServerResponse::ok(cseq), event: Some(PublishEvent::Announced { camera_id, media }) }
    }

    fn setup(&mut self, request: &IncomingRequest, ctx: &RequestContext<'_>, cseq: Option<u32>) -> Reply {
        let Some(media) = &self.media else {
            return Reply::plain(ServerResponse::new(455, "Method Not Valid in This State (ANNOUNCE first)", cseq));
        };
        if self.state != PublishState::Announced {
            return Reply::plain(ServerResponse::new(455, "Method Not Valid in This State (already set up)", cseq));
        }
        if request.uri.trim_end_matches('/') != media.control.trim_end_matches('/') {
            // An audio or data track: only the video is taken (publish with `-an`).
            return Reply::plain(ServerResponse::new(
                404,
                "Not Found (only the announced video track can be set up)",
                cseq,
            ));
        }
        let transport = match parse_publish_transport(request.headers.get("Transport").unwrap_or_default()) {
            Ok(transport) => transport,
            Err(refusal) => {
                let reason = format!("Unsupported Transport ({refusal})");
                return Reply::plain(ServerResponse::new(461, reason, cseq));
            }
        };
        let server_ports = match transport {
            PublishTransport::Udp { .. } => match ctx.udp_server_ports {
                Some(ports) => Some(ports),
                None => {
                    return Reply::plain(ServerResponse::new(
                        461,
                        "Unsupported Transport (no UDP ports for this session; use TCP)",
                        cseq,
                    ))
                }
            },
            PublishTransport::Interleaved { .. } => None,
        };
        self.state = PublishState::SetUp;
        self.transport = Some(transport);
        let response = self.with_session(ServerResponse::ok(cseq).header("Transport", transport.answer(server_ports)));
        Reply { response, event: Some(PublishEvent::SetUp { transport }) }
    }

    fn record(&mut self, cseq: Option<u32>) -> Reply {
        if self.state != PublishState::SetUp {
            return Reply::plain(ServerResponse::new(455, "Method Not Valid in This State (SETUP first)", cseq));
        }
        self.state = PublishState::Recording;
        Reply { response: self.with_session(ServerResponse::ok(cseq)), event: Some(PublishEvent::Recording) }
    }

    fn teardown(&mut self, cseq: Option<u32>) -> Reply {
        if self.state == PublishState::Ready {
            return Reply::plain(ServerResponse::new(
                455,
                "Method Not Valid in This State (nothing to tear down)",
                cseq,
            ));
        }
        let response = self.with_session(ServerResponse::ok(cseq));
        self.reset();
        Reply { response, event: Some(PublishEvent::TornDown) }
    }
}

/// The camera name of a publish URI: `rtsp://host[:port]/cameras/<name>[/<track>][?query]` (or
/// the same path without scheme and authority). `None` for any other path.
pub fn camera_name_from_uri(uri: &str) -> Option<&str> {
    let path = match uri.find("://") {
        Some(scheme_end) => {
            let after = &uri[scheme_end + 3..];
            &after[after.find('/')?..]
        }
        None => uri,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.trim_start_matches('/').split('/');
    match (segments.next(), segments.next()) {
        (Some("cameras"), Some(name)) if !name.is_empty() => Some(name),
        _ => None,
    }
}
