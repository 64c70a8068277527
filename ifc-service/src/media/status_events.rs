//! Every camera status change as a `camera-status` event, in the order reported.

use tokio::sync::mpsc;

use super::{status_view, StatusChange};
use crate::api::AppState;
use crate::db::{new_id, OutboxEvent};
use crate::events::schema::CameraStatusPayload;
use crate::events::{payload_text, TOPIC_CAMERA_STATUS};

/// Writes the hub's status changes to the outbox until the hub is gone.
pub async fn run(state: AppState, mut changes: mpsc::UnboundedReceiver<StatusChange>) {
    while let Some((camera_id, status)) = changes.recv().await {
        let view = status_view(&status);
        let event = OutboxEvent {
            event_id: new_id(),
            topic: TOPIC_CAMERA_STATUS.into(),
            key: camera_id.clone(),
            payload: payload_text(&CameraStatusPayload { camera_id: camera_id.clone(), status: view.into() }),
        };
        if let Err(e) = state.db.insert_event(&event).await {
            tracing::warn!(camera = %camera_id, error = %e, "camera status event not stored");
        }
        state.outbox_wake.notify_one();
    }
}
