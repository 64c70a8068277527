//! The event feed behind both the WebSocket (`/api/v1/events`) and gRPC's `Events.Watch`:
//! the stored events after a resume point first (from the outbox), then live ones, with none
//! missing or repeated in between (ordered by `published_seq`, the order of publication, which
//! on PostgreSQL can differ from `seq`). One task per subscriber feeds a bounded
//! channel; the transport only forwards what comes out of it.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::events::EventEnvelope;

/// What a subscriber receives.
#[derive(Debug)]
pub(crate) enum FeedItem {
    Event(Arc<EventEnvelope>),
    /// The subscriber fell behind the live feed: it must resume from its last event id.
    Lagged,
    /// The metadata store failed while catching up: resume later.
    Unavailable,
}

/// A checked subscription, not yet started.
#[derive(Debug)]
pub(crate) struct Subscription {
    /// The resume point's `published_seq`; `None`: live events only.
    after_seq: Option<i64>,
    /// `None`: every topic.
    topics: Option<HashSet<String>>,
}

/// Checks the caller and the resume point (an unknown event id is NotFound, not a silent
/// start from now). Empty `topics` means all.
pub(crate) async fn subscription(
    state: &AppState,
    principal: &Principal,
    after_event_id: Option<&str>,
    topics: impl IntoIterator<Item = String>,
) -> ApiResult<Subscription> {
    principal.require(Role::Viewer)?;
    let after_seq = match after_event_id {
        Some(id) => match state.db.event_published_seq(id).await? {
            None => return Err(ApiError::NotFound(format!("event {id} not found"))),
            // Not published yet, so no subscriber has seen it: nothing to resume after.
            Some(None) => return Err(ApiError::NotFound(format!("event {id} is not published yet"))),
            Some(published) => published,
        },
        None => None,
    };
    let topics: HashSet<String> = topics.into_iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
    Ok(Subscription { after_seq, topics: (!topics.is_empty()).then_some(topics) })
}

/// Starts the subscription's task. The channel closes when the server shuts down; the task
/// ends when the receiver is dropped.
pub(crate) fn start(state: AppState, sub: Subscription) -> mpsc::Receiver<FeedItem> {
    // Small: a slow subscriber backs up into the broadcast feed, which tells it (Lagged).
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let shutdown = state.shutdown.clone();
        tokio::select! {
            () = run(state, sub, &tx) => {}
            () = tx.closed() => {}
            () = shutdown.wait() => {}
        }
    });
    rx
}

async fn run(state: AppState, sub: Subscription, tx: &mpsc::Sender<FeedItem>) {
    // Subscribe before catching up, so nothing published meanwhile is missed.
    let mut live = state.feed.subscribe();
    let wanted = |e: &EventEnvelope| sub.topics.as_ref().is_none_or(|t| t.contains(&e.topic));
    let mut last_sent = sub.after_seq;
    if let Some(mut seq) = sub.after_seq {
        // Catch up from the store, page by page, until it has nothing newer.
        loop {
            let Ok(rows) = state.db.published_events_after(seq, 500).await else {
                let _ = tx.send(FeedItem::Unavailable).await;
                return;
            };
            let Some(last) = rows.last().and_then(|r| r.published_seq) else { break };
            for row in &rows {
                let e = EventEnvelope::from_row(row);
                if wanted(&e) && tx.send(FeedItem::Event(Arc::new(e))).await.is_err() {
                    return;
                }
            }
            seq = last;
        }
        last_sent = Some(seq);
    }
    loop {
        match live.recv().await {
            Ok(e) => {
                if last_sent.is_some_and(|s| e.published_seq <= s) {
                    continue;
                }
                last_sent = Some(e.published_seq);
                if wanted(&e) && tx.send(FeedItem::Event(e)).await.is_err() {
                    return;
                }
            }
            Err(RecvError::Lagged(_)) => {
                let _ = tx.send(FeedItem::Lagged).await;
                return;
            }
            Err(RecvError::Closed) => return,
        }
    }
}
