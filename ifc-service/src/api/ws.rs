//! The WebSocket event feed: verdicts, camera and inspection status, alarms; JSON text frames
//! of [`EventEnvelope`]. `?after=<event id>` resumes: the events after it come first from the
//! outbox, then live ones, with none missing or repeated in between (ordered by `seq`).

use std::collections::HashSet;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use tokio::sync::broadcast::error::RecvError;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::ApiQuery;
use super::principal::authenticate;
use super::views::EventsQuery;
use super::AppState;
use crate::auth::Role;
use crate::events::EventEnvelope;

#[utoipa::path(get, path = "/api/v1/events", tag = "events", security(("bearer" = [])), params(EventsQuery),
    responses((status = 101, description = "WebSocket of EventEnvelope JSON messages"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    ApiQuery(q): ApiQuery<EventsQuery>,
    upgrade: Option<WebSocketUpgrade>,
) -> ApiResult<Response> {
    let token = bearer_header(&headers)
        .or(q.access_token.clone())
        .ok_or_else(|| ApiError::Unauthorized("no bearer token".into()))?;
    authenticate(&state, &token).await?.require(Role::Viewer)?;
    let upgrade = upgrade.ok_or_else(|| ApiError::invalid("upgrade", "this endpoint is a WebSocket"))?;
    let after_seq = match &q.after {
        Some(id) => state.db.event_seq(id).await?.ok_or_else(|| ApiError::NotFound(format!("event {id} not found")))?,
        None => i64::MAX,
    };
    let topics: Option<HashSet<String>> =
        q.topics.as_deref().map(|t| t.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect());
    Ok(upgrade.on_upgrade(move |socket| feed(state, socket, after_seq, topics)))
}

fn bearer_header(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

/// `after_seq == i64::MAX`: live events only.
async fn feed(state: AppState, mut socket: WebSocket, after_seq: i64, topics: Option<HashSet<String>>) {
    // Subscribe before catching up, so nothing published meanwhile is missed.
    let mut live = state.feed.subscribe();
    let mut last_sent = if after_seq == i64::MAX { None } else { Some(after_seq) };
    let wanted = |e: &EventEnvelope| topics.as_ref().is_none_or(|t| t.contains(&e.topic));
    if let Some(mut seq) = last_sent {
        // Catch up from the store, page by page, until it has nothing newer.
        loop {
            let Ok(rows) = state.db.published_events_after(seq, 500).await else { return };
            let Some(last) = rows.last().map(|r| r.seq) else { break };
            for row in &rows {
                let e = EventEnvelope::from_row(row);
                if wanted(&e) && send(&mut socket, &e).await.is_err() {
                    return;
                }
            }
            seq = last;
        }
        last_sent = Some(seq);
    }
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(e) => {
                    if last_sent.is_some_and(|s| e.seq <= s) {
                        continue;
                    }
                    last_sent = Some(e.seq);
                    if wanted(&e) && send(&mut socket, &e).await.is_err() {
                        return;
                    }
                }
                // Too slow for the live feed: close, and let the client resume from its last id.
                Err(RecvError::Lagged(_)) => {
                    let _ = socket.send(Message::Close(Some(axum::extract::ws::CloseFrame {
                        code: 1013,
                        reason: "too slow: resume with ?after=<last event id>".into(),
                    }))).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn send(socket: &mut WebSocket, e: &EventEnvelope) -> Result<(), axum::Error> {
    let text = serde_json::to_string(e).unwrap_or_default();
    socket.send(Message::Text(text)).await
}
