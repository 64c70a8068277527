//! Live view of a camera ([`crate::distribute`]): Low-Latency HLS with blocking playlist
//! reload, fMP4 over a WebSocket for Media Source Extensions, the verdict overlays on a
//! WebSocket, and the player page.
//!
//! - `GET /api/v1/cameras/{id}/live/index.m3u8[?_HLS_msn=M[&_HLS_part=P]]`: the playlist (bearer
//!   token or `?access_token=`); the URIs in it carry a signature for the camera, so a player
//!   fetches parts and segments without the token. Plain HLS players read the same playlist.
//! - `GET /api/v1/cameras/{id}/live/{init-G.mp4|seg-M.m4s|part-M-I.m4s}?expires_ms=&sig=`: a
//!   part not made yet (the preload hint) is waited for.
//! - `GET /api/v1/cameras/{id}/live.ws` (WebSocket): a JSON text message
//!   `{"type":"init","mime":…,"codec":…,"width":…,"height":…,"generation":…,"start_pts_90k":…}`,
//!   the init segment (binary), then every part (binary `moof` + `mdat`), from the current
//!   group of pictures on. A new stream (a publisher reconnects) sends a new `init` first.
//! - `GET /api/v1/cameras/{id}/overlays` (WebSocket): the camera's verdicts as JSON text,
//!   `{"type":"verdict","pts_90k":…,"verdict":…,"detections":[…],…}`; `pts_90k` is the picture's
//!   presentation time on the same clock as the video's (`start_pts_90k` above, the parts' own).
//! - `GET /api/v1/cameras/{id}/live/history.m3u8?seconds=N`: the recent history, the
//!   recorder's segments of the last `N` seconds as an HLS VOD playlist (signed URIs).
//! - `GET /player`: a page that plays a camera (WebRTC, then LL-HLS, then the WebSocket, then
//!   the browser's own HLS player), draws the overlays on the picture they belong to, and
//!   rewinds into the recent history.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use ifc::live::{LiveInit, LivePart, LiveResource, Lookup};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use super::recordings::{check_signature, SignedQuery};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::db::now_ms;
use crate::distribute::{LiveChannel, ViewerSlot};
use crate::events::TOPIC_VERDICTS;
use crate::shutdown::Shutdown;

const PLAYLIST: &str = "application/vnd.apple.mpegurl";
/// How long a new viewer waits for the camera's first pictures (a pull camera connecting, a
/// publisher starting) before a 503.
const START_WAIT: Duration = Duration::from_secs(10);
/// Signed URIs expire on these boundaries plus the link lifetime, so a playlist's URIs stay
/// the same from one reload to the next (players match the preload hint to the next playlist).
const EXPIRY_STEP_MS: i64 = 600_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LivePlaylistQuery {
    /// Blocking reload: answer once the playlist holds segment `_HLS_msn` (RFC 8216bis 6.2.5.2).
    #[serde(rename = "_HLS_msn")]
    #[param(rename = "_HLS_msn")]
    pub hls_msn: Option<u64>,
    /// With `_HLS_msn`: once it holds this part of that segment.
    #[serde(rename = "_HLS_part")]
    #[param(rename = "_HLS_part")]
    pub hls_part: Option<u32>,
    /// Delta updates are not offered (no `CAN-SKIP-UNTIL`); accepted and ignored.
    #[serde(rename = "_HLS_skip")]
    #[param(rename = "_HLS_skip")]
    #[allow(dead_code)]
    pub hls_skip: Option<String>,
    /// The token, for players that cannot set headers (read by the `Principal` extractor).
    #[allow(dead_code)]
    pub access_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveSocketQuery {
    /// The token, for browsers that cannot set headers on a WebSocket (read by the
    /// `Principal` extractor; this type documents it).
    #[allow(dead_code)]
    pub access_token: Option<String>,
}

fn live_link_message(camera_id: &str, expires_ms: i64) -> String {
    format!("live\n{camera_id}\n{expires_ms}")
}

/// A channel for a viewer allowed to watch `id`, started if needed.
async fn open_channel(state: &AppState, principal: &Principal, id: &str) -> ApiResult<Arc<LiveChannel>> {
    principal.require(Role::Viewer)?;
    let camera = state.db.camera(id).await?;
    state.live.open(&camera).await
}

/// Three target durations: how long a blocking request may wait (RFC 8216bis 6.2.5.2).
fn blocking_wait(state: &AppState) -> Duration {
    Duration::from_millis(3 * u64::from(state.live.config().segment_target_ms)).max(START_WAIT)
}

fn no_video(id: &str, state: &AppState) -> ApiError {
    let status = state.media.camera_status(id);
    ApiError::Unavailable(format!("camera {id}: no video yet (source {})", status.state))
}

/// Whether a playlist request comes from a player that may not read parts: anything but a
/// page's script (`Sec-Fetch-Dest: empty`: hls.js and the like), so a media element's own HLS
/// player, ffmpeg, VLC, a television.
fn plain_hls_client(headers: &HeaderMap) -> bool {
    headers.get("sec-fetch-dest").is_none_or(|dest| dest != "empty")
}

/// Waits, on a camera nobody was watching, until the playlist can start a player: one whole
/// segment (no player starts from a playlist of parts alone), three target durations of them
/// for a plain HLS player (RFC 8216 6.3.3: it starts three target durations from the end;
/// Chromium's own player fails with DEMUXER_ERROR_COULD_NOT_PARSE when it has less ahead of
/// it). A camera being watched has them already.
async fn wait_for_a_start(state: &AppState, channel: &LiveChannel, id: &str, plain: bool) -> ApiResult<()> {
    let segment_90k = u64::from(state.live.config().segment_target_ms) * 90;
    let wanted_90k = if plain { 3 * segment_90k } else { 1 };
    let deadline = Instant::now() + blocking_wait(state);
    if channel.wait_for(deadline, |w| (w.complete_duration_90k() >= wanted_90k).then_some(())).await.is_some() {
        return Ok(());
    }
    // Past the wait, whatever whole segments there are (a stream with a long key-frame interval).
    match channel.window().complete_duration_90k() {
        0 => Err(ApiError::Unavailable(format!("camera {id}: no whole segment yet (no key frame?)"))),
        _ => Ok(()),
    }
}

#[utoipa::path(get, path = "/api/v1/cameras/{id}/live/index.m3u8", tag = "live", security(("bearer" = [])),
    params(("id" = String, Path), LivePlaylistQuery),
    responses((status = 200, description = "The LL-HLS media playlist", content_type = "application/vnd.apple.mpegurl", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "No video from the camera yet, no whole segment yet, or the blocking reload timed out")))]
pub async fn playlist(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<LivePlaylistQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let channel = open_channel(&state, &principal, &id).await?;
    if q.hls_part.is_some() && q.hls_msn.is_none() {
        return Err(ApiError::BadRequest("_HLS_part needs _HLS_msn".into()));
    }
    let start_deadline = Instant::now() + START_WAIT;
    channel.wait_for(start_deadline, |w| w.last_msn()).await.ok_or_else(|| no_video(&id, &state))?;
    if q.hls_msn.is_none() {
        wait_for_a_start(&state, &channel, &id, plain_hls_client(&headers)).await?;
    }
    if let Some(msn) = q.hls_msn {
        let last = channel.window().last_msn().unwrap_or(0);
        if msn > last.saturating_add(2) {
            // RFC 8216bis 6.2.5.2: more than two segments ahead is a 400.
            return Err(ApiError::BadRequest(format!("_HLS_msn: segment {msn} is too far ahead (the last is {last})")));
        }
        let deadline = Instant::now() + blocking_wait(&state);
        channel
            .wait_for(deadline, |w| w.contains(msn, q.hls_part).then_some(()))
            .await
            .ok_or_else(|| ApiError::Unavailable(format!("segment {msn} did not come in time")))?;
    }
    let ttl_ms = i64::try_from(state.config.recording.link_ttl_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let expires_ms = (now_ms().saturating_add(ttl_ms) / EXPIRY_STEP_MS + 1).saturating_mul(EXPIRY_STEP_MS);
    let sig = state.jwt.sign_link(&live_link_message(&id, expires_ms));
    let text = channel.window().playlist(&format!("?expires_ms={expires_ms}&sig={sig}")).ok_or_else(|| no_video(&id, &state))?;
    Ok(playlist_response(text))
}

/// A playlist body, never cached (it changes with every segment or reload).
fn playlist_response(text: String) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static(PLAYLIST)), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))], text)
        .into_response()
}

/// How far back the recent history goes by default.
const DEFAULT_HISTORY_S: u32 = 300;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveHistoryQuery {
    /// How far back from now, seconds (1 to 86400; 300 when absent).
    pub seconds: Option<u32>,
    /// The token, for players that cannot set headers (read by the `Principal` extractor).
    #[allow(dead_code)]
    pub access_token: Option<String>,
}

/// The live view's recent history: the recorder's segments of the last `seconds` as an HLS
/// VOD playlist. It is a playlist of its own, not the live one's older end: the live
/// playlist's segments are the distributor's (cut on its own targets, numbered on), the
/// recorder's are others, and a live playlist must keep each segment's sequence number from
/// one reload to the next. A player plays the history, then goes back to the live playlist.
#[utoipa::path(get, path = "/api/v1/cameras/{id}/live/history.m3u8", tag = "live", security(("bearer" = [])),
    params(("id" = String, Path), LiveHistoryQuery),
    responses((status = 200, description = "HLS VOD playlist of the recorded segments; its URIs are signed links", content_type = "application/vnd.apple.mpegurl", body = String),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such camera, or nothing recorded in that time (is the camera recorded?)"),
        (status = 422, body = ErrorBody, description = "`seconds` is 0 or more than a day")))]
pub async fn history(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<LiveHistoryQuery>,
) -> ApiResult<Response> {
    let seconds = q.seconds.unwrap_or(DEFAULT_HISTORY_S);
    if seconds == 0 {
        return Err(ApiError::invalid("seconds", "must be at least 1"));
    }
    let to_ms = now_ms();
    let from_ms = to_ms - i64::from(seconds) * 1000;
    let (text, segments) = super::recordings::hls_playlist(&state, &principal, &id, from_ms, to_ms, "../../..").await?;
    if segments == 0 {
        return Err(ApiError::NotFound(format!("camera {id}: nothing recorded in the last {seconds} s")));
    }
    Ok(playlist_response(text))
}

#[utoipa::path(get, path = "/api/v1/cameras/{id}/live/{file}", tag = "live",
    params(("id" = String, Path), ("file" = String, Path, description = "`init-G.mp4`, `seg-M.m4s` or `part-M-I.m4s`, as the playlist names them"), SignedQuery),
    responses((status = 200, description = "The init segment, segment or part", content_type = "video/mp4", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "Not in the window (any more), or never made")))]
pub async fn file(
    State(state): State<AppState>,
    ApiPath((id, file)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<SignedQuery>,
) -> ApiResult<Response> {
    check_signature(&state, &live_link_message(&id, q.expires_ms), q.expires_ms, &q.sig)?;
    let resource = LiveResource::parse(&file).ok_or_else(|| ApiError::NotFound(format!("no live file {file:?}")))?;
    let channel = state.live.running(&id).ok_or_else(|| ApiError::NotFound(format!("camera {id} is not being watched")))?;
    channel.touch();
    let deadline = Instant::now() + blocking_wait(&state);
    let chunks = channel
        .wait_for(deadline, |w| match w.lookup(resource) {
            Lookup::Ready(chunks) => Some(Some(chunks)),
            Lookup::Gone => Some(None),
            Lookup::Pending => None,
        })
        .await
        .flatten()
        .ok_or_else(|| ApiError::NotFound(format!("{file}: not in the live window")))?;
    let length: usize = chunks.iter().map(Bytes::len).sum();
    let body = Body::from_stream(tokio_stream::iter(chunks.into_iter().map(Ok::<_, std::convert::Infallible>)));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("video/mp4")),
            (header::CONTENT_LENGTH, HeaderValue::from(length)),
            (header::CACHE_CONTROL, HeaderValue::from_static("max-age=60")),
        ],
        body,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/cameras/{id}/live.ws", tag = "live", security(("bearer" = [])), params(("id" = String, Path), LiveSocketQuery),
    responses((status = 101, description = "WebSocket: an `init` JSON text message and the init segment, then fMP4 parts (binary)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many viewers, or the egress limit"),
        (status = 503, body = ErrorBody, description = "The camera cannot be ingested")))]
pub async fn websocket(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    upgrade: Option<WebSocketUpgrade>,
) -> ApiResult<Response> {
    let upgrade = upgrade.ok_or_else(|| ApiError::invalid("upgrade", "this endpoint is a WebSocket"))?;
    let channel = open_channel(&state, &principal, &id).await?;
    let slot = state.live.admit(&channel)?;
    let send_timeout = Duration::from_millis(state.live.config().send_timeout_ms);
    let shutdown = state.shutdown.clone();
    Ok(upgrade.on_upgrade(move |socket| stream_parts(socket, slot, channel, send_timeout, shutdown)))
}

/// What a WebSocket viewer is sent next.
enum Next {
    Parts { init: Option<LiveInit>, parts: Vec<LivePart> },
    /// It fell out of the window.
    TooSlow,
}

async fn stream_parts(
    mut socket: WebSocket,
    slot: ViewerSlot,
    channel: Arc<LiveChannel>,
    send_timeout: Duration,
    shutdown: Shutdown,
) {
    // Held until the viewer goes: it counts against the limits.
    let _slot = slot;
    let mut changes = channel.changes();
    let first = channel
        .wait_for(Instant::now() + START_WAIT, |w| {
            let parts = w.parts_from_last_key();
            let init = w.init(parts.first()?.generation)?.clone();
            Some((init, parts.into_iter().cloned().collect::<Vec<_>>()))
        })
        .await;
    let Some((init, parts)) = first else {
        return close(socket, 1011, "no video from the camera yet").await;
    };
    let mut generation = init.generation;
    let mut last = None;
    let mut next = Next::Parts { init: Some(init), parts };
    loop {
        match next {
            Next::TooSlow => return close(socket, 1013, "too slow: reconnect").await,
            Next::Parts { init, parts } => {
                if let Some(init) = init {
                    generation = init.generation;
                    let start = parts.first().map(|p| p.first_pts_90k);
                    if send(&mut socket, Message::Text(init_message(&init, start)), send_timeout).await.is_err()
                        || send(&mut socket, Message::Binary(init.init.to_vec()), send_timeout).await.is_err()
                    {
                        return;
                    }
                }
                for part in parts {
                    last = Some((part.msn, part.index));
                    if send(&mut socket, Message::Binary(part.to_vec()), send_timeout).await.is_err() {
                        return;
                    }
                }
            }
        }
        channel.touch();
        tokio::select! {
            changed = changes.changed() => if changed.is_err() || channel.is_stopped() {
                return close(socket, 1001, "the live view stopped").await;
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            () = shutdown.wait() => return close(socket, 1001, "the server is shutting down").await,
        }
        next = after(&channel, last, generation);
    }
}

/// The parts after `last` (and a new init first when they start a new stream).
fn after(channel: &LiveChannel, last: Option<(u64, u32)>, generation: u64) -> Next {
    let window = channel.window();
    let Some((msn, index)) = last else { return Next::Parts { init: None, parts: Vec::new() } };
    let Some(parts) = window.parts_after(msn, index) else { return Next::TooSlow };
    let mut init = None;
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        if part.generation != generation && init.is_none() {
            // A new stream: start it at its first independent part.
            if !part.independent {
                continue;
            }
            let Some(new) = window.init(part.generation) else { continue };
            init = Some(new.clone());
        }
        out.push(part.clone());
    }
    Next::Parts { init, parts: out }
}

fn init_message(init: &LiveInit, start_pts_90k: Option<i64>) -> String {
    serde_json::json!({
        "type": "init",
        "mime": format!("video/mp4; codecs=\"{}\"", init.codec),
        "codec": init.codec,
        "width": init.width,
        "height": init.height,
        "generation": init.generation,
        "reorders": init.reorders,
        "start_pts_90k": start_pts_90k,
    })
    .to_string()
}

async fn send(socket: &mut WebSocket, message: Message, timeout: Duration) -> Result<(), ()> {
    match tokio::time::timeout(timeout, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

async fn close(mut socket: WebSocket, code: u16, reason: &'static str) {
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

#[utoipa::path(get, path = "/api/v1/cameras/{id}/overlays", tag = "live", security(("bearer" = [])), params(("id" = String, Path), LiveSocketQuery),
    responses((status = 101, description = "WebSocket of the camera's verdicts (JSON text messages), stamped with the picture's pts"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn overlays(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    upgrade: Option<WebSocketUpgrade>,
) -> ApiResult<Response> {
    let upgrade = upgrade.ok_or_else(|| ApiError::invalid("upgrade", "this endpoint is a WebSocket"))?;
    principal.require(Role::Viewer)?;
    state.db.camera(&id).await?;
    let send_timeout = Duration::from_millis(state.live.config().send_timeout_ms);
    Ok(upgrade.on_upgrade(move |socket| stream_overlays(state, socket, id, send_timeout)))
}

async fn stream_overlays(state: AppState, mut socket: WebSocket, camera_id: String, send_timeout: Duration) {
    let mut events = state.feed.subscribe();
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(e) if e.topic == TOPIC_VERDICTS && e.key == camera_id => {
                    if send(&mut socket, Message::Text(overlay_message(&e.payload)), send_timeout).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // Overlays are only worth anything live: a viewer that fell behind skips ahead.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return close(socket, 1001, "the server is shutting down").await,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            () = state.shutdown.wait() => return close(socket, 1001, "the server is shutting down").await,
        }
    }
}

/// A verdict event's payload as an overlay: what a player draws, on which picture.
fn overlay_message(payload: &serde_json::Value) -> String {
    serde_json::json!({
        "type": "verdict",
        "pts_90k": payload.get("pts_90k"),
        "verdict": payload.get("verdict"),
        "inspection_id": payload.get("inspection_id"),
        "frame_index": payload.get("frame_index"),
        "result_id": payload.get("result_id"),
        "detections": payload.pointer("/record/detections"),
    })
    .to_string()
}

/// The player page (no token needed to load it; it asks for one).
pub async fn player() -> Html<&'static str> {
    Html(include_str!("player.html"))
}
