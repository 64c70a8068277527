//! [`MediaHub`]: each camera's one live feed ([`ifc::live::Fanout`]), shared by everything that
//! consumes it (inspections, the recorder, later the distributor) and filled by whatever
//! ingests it: a [`SourcePump`] for pull and file cameras (started by the first consumer's
//! [`SourceLease`], stopped when the last lease goes), a publisher session for pushed cameras.
//! A camera's media enters the process once; consumers share its `Bytes`.
//!
//! The hub also holds each camera's source status (what the API shows) and reports every change
//! as a `camera-status` event ([`status_events`]). An `error` stays until the camera is started
//! again: the ingest that an error stopped ends (and goes idle) moments later, and the operator
//! must still see why.
//!
//! ```text
//! pull / file camera ─SourcePump─▶ Fanout ─▶ inspection (StreamSource::Feed), recorder, …
//! pushed camera ─publisher session─┘
//! status changes ─▶ MediaHub::report_status ─▶ status map (API) + `camera-status` outbox row
//! ```

mod sources;
pub mod status_events;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard, PoisonError};

use ifc::inspect::SourceStatus;
use ifc::live::Fanout;
use tokio::sync::mpsc;

pub use sources::{pull_source, SourceLease};
use sources::Pumped;

use crate::api::views::SourceStatusView;
use crate::db::now_ms;

/// Items kept per feed for consumers that fall behind: at 30 fps, about 17 s of pictures
/// (plus the odd configuration). A consumer further behind is broken and resumes at a key frame.
pub const FEED_CAPACITY_ITEMS: usize = 512;

/// A camera's status change, on its way to the event writer.
pub type StatusChange = (String, SourceStatus);

/// See the module docs. Keyed by camera id.
#[derive(Debug)]
pub struct MediaHub {
    feeds: Mutex<HashMap<String, Fanout>>,
    pumps: Mutex<HashMap<String, Pumped>>,
    statuses: Mutex<HashMap<String, SourceStatusView>>,
    status_tx: mpsc::UnboundedSender<StatusChange>,
    next_stream_id: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MediaHub {
    /// A hub, and the receiver of its status changes (for [`status_events::run`]).
    pub fn new() -> (Self, mpsc::UnboundedReceiver<StatusChange>) {
        let (status_tx, status_rx) = mpsc::unbounded_channel();
        let hub = Self {
            feeds: Mutex::default(),
            pumps: Mutex::default(),
            statuses: Mutex::default(),
            status_tx,
            next_stream_id: AtomicU64::new(1),
        };
        (hub, status_rx)
    }

    /// The feed of `camera_id`, created on first use.
    pub fn feed(&self, camera_id: &str) -> Fanout {
        lock(&self.feeds).entry(camera_id.to_owned()).or_insert_with(|| Fanout::new(FEED_CAPACITY_ITEMS)).clone()
    }

    /// Closes and forgets the feed of a deleted camera: its consumers end.
    pub fn remove(&self, camera_id: &str) {
        if let Some(feed) = lock(&self.feeds).remove(camera_id) {
            feed.close();
        }
        lock(&self.statuses).remove(camera_id);
    }

    /// Where the camera's source stands (`idle` when nothing ingests it).
    pub fn camera_status(&self, camera_id: &str) -> SourceStatusView {
        lock(&self.statuses).get(camera_id).cloned().unwrap_or_else(SourceStatusView::idle)
    }

    /// Records a status change of the camera's source and sends it as an event. The end of an
    /// ingest an error stopped is neither: the error stays what the API and the events say.
    pub fn report_status(&self, camera_id: &str, status: SourceStatus) {
        {
            let mut statuses = lock(&self.statuses);
            if matches!(status, SourceStatus::Ended) && statuses.get(camera_id).is_some_and(is_error) {
                return;
            }
            statuses.insert(camera_id.to_owned(), status_view(&status));
        }
        // The receiver lives as long as the server; after it, nobody needs the event.
        let _ = self.status_tx.send((camera_id.to_owned(), status));
    }

    /// Back to `idle`: nothing ingests the camera any more (an error stays, see the module docs).
    fn forget_status(&self, camera_id: &str) {
        let mut statuses = lock(&self.statuses);
        if !statuses.get(camera_id).is_some_and(is_error) {
            statuses.remove(camera_id);
        }
    }
}

fn is_error(view: &SourceStatusView) -> bool {
    view.state == "error"
}

pub(crate) fn status_view(s: &SourceStatus) -> SourceStatusView {
    let now = now_ms();
    let (state, next_retry_at_ms, reason) = match s {
        SourceStatus::Connecting => ("connecting", None, None),
        SourceStatus::Live => ("live", None, None),
        SourceStatus::Backoff { retry_in_ms, reason } => {
            ("backoff", Some(now.saturating_add(i64::try_from(*retry_in_ms).unwrap_or(i64::MAX))), Some(reason.clone()))
        }
        SourceStatus::Error { reason } => ("error", None, Some(reason.clone())),
        SourceStatus::Stalled { reason } => ("stalled", None, Some(reason.clone())),
        _ => ("ended", None, None),
    };
    SourceStatusView { state: state.into(), next_retry_at_ms, reason, since_ms: now }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_outlives_the_ingest_it_stopped_until_the_camera_starts_again() {
        let (hub, mut events) = MediaHub::new();
        hub.report_status("cam", SourceStatus::Live);
        hub.report_status("cam", SourceStatus::Error { reason: "16880x16880 pictures".into() });
        // The pump the error stopped says it ended, then goes idle.
        hub.report_status("cam", SourceStatus::Ended);
        hub.forget_status("cam");
        let status = hub.camera_status("cam");
        assert_eq!((status.state.as_str(), status.reason.as_deref()), ("error", Some("16880x16880 pictures")));
        hub.report_status("cam", SourceStatus::Connecting);
        assert_eq!(hub.camera_status("cam").state, "connecting");
        let sent: Vec<String> = std::iter::from_fn(|| events.try_recv().ok()).map(|(_, s)| status_view(&s).state).collect();
        assert_eq!(sent, ["live", "error", "connecting"], "no `ended` event after the error");
        hub.forget_status("cam");
        assert_eq!(hub.camera_status("cam").state, "idle");
    }
}
