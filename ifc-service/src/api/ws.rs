//! The WebSocket event feed: verdicts, camera and inspection status, alarms; JSON text frames
//! of [`EventEnvelope`]. `?after=<event id>` resumes: the events after it come first from the
//! outbox, then live ones, with none missing or repeated in between (ordered by `seq`; the
//! feed itself is [`super::feed`], shared with gRPC's `Events.Watch`).

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::ApiQuery;
use super::feed::{self, FeedItem};
use super::principal::{authenticate, parse_bearer};
use super::views::EventsQuery;
use super::AppState;
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
    let principal = authenticate(&state, &token).await?;
    let topics = q.topics.as_deref().unwrap_or_default().split(',').map(str::to_owned).collect::<Vec<_>>();
    let sub = feed::subscription(&state, &principal, q.after.as_deref(), topics).await?;
    let upgrade = upgrade.ok_or_else(|| ApiError::invalid("upgrade", "this endpoint is a WebSocket"))?;
    Ok(upgrade.on_upgrade(move |socket| forward(state, socket, sub)))
}

fn bearer_header(headers: &axum::http::HeaderMap) -> Option<String> {
    parse_bearer(headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?).map(str::to_owned)
}

async fn forward(state: AppState, mut socket: WebSocket, sub: feed::Subscription) {
    let mut items = feed::start(state, sub);
    loop {
        tokio::select! {
            item = items.recv() => match item {
                Some(FeedItem::Event(e)) => {
                    if send(&mut socket, &e).await.is_err() {
                        return;
                    }
                }
                // Too slow for the live feed: close, and let the client resume from its last id.
                Some(FeedItem::Lagged) => return close(socket, 1013, "too slow: resume with ?after=<last event id>").await,
                Some(FeedItem::Unavailable) => return close(socket, 1011, "the metadata store failed: resume later").await,
                None => return close(socket, 1001, "the server is shutting down").await,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn close(mut socket: WebSocket, code: u16, reason: &'static str) {
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

async fn send(socket: &mut WebSocket, e: &EventEnvelope) -> Result<(), axum::Error> {
    let text = serde_json::to_string(e).unwrap_or_default();
    socket.send(Message::Text(text)).await
}
