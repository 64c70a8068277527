//! The writer task of one inspection: stores each record (snapshot first, then the result row
//! and its `verdicts` event in one transaction). When the inspection's threads end by
//! themselves it tells the manager.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use ifc::verdict::Status;
use tokio::sync::mpsc;

use super::sink::RecordMsg;
use super::Item;
use crate::api::AppState;
use crate::db::{new_id, NewResult, OutboxEvent};
use crate::events::schema::{InspectionStatusPayload, Verdict, VerdictPayload};
use crate::events::{payload_text, TOPIC_INSPECTION_STATUS, TOPIC_VERDICTS};
use crate::objects::snapshot_key;

pub async fn run(
    state: AppState,
    inspection_id: String,
    camera_id: String,
    item: Arc<Mutex<Item>>,
    mut records: mpsc::Receiver<RecordMsg>,
) {
    while let Some(msg) = records.recv().await {
        store_record(&state, &inspection_id, &camera_id, &item, msg).await;
    }
    // The inference thread ended (it owns the sender): stopped by the manager, or by itself.
    let manager = Arc::clone(&state.manager);
    manager.ended(&state, &inspection_id).await;
}

async fn store_record(state: &AppState, inspection_id: &str, camera_id: &str, item: &Mutex<Item>, msg: RecordMsg) {
    let item = item.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let event_id = new_id();
    let record = &msg.record;
    let (verdict, verdict_kind) = match record.verdict.status {
        Status::Ok => ("ok", Verdict::Ok),
        Status::Ng => ("ng", Verdict::Ng),
    };
    let mut snapshot = None;
    if let Some(jpeg) = msg.jpeg {
        let key = snapshot_key(camera_id, &event_id);
        match state.objects.put(&key, Bytes::from(jpeg), "image/jpeg").await {
            Ok(()) => snapshot = Some(key),
            Err(e) => tracing::error!(camera = %camera_id, error = %e, "snapshot lost: the object store refused it"),
        }
    }
    // The same text `ifc run` writes to results.jsonl (f32 scores as f32, not widened to f64).
    let record_text = match record.to_json_line() {
        Ok(text) => text,
        Err(e) => {
            tracing::error!(camera = %camera_id, error = %e, "result lost: cannot serialise its record");
            return;
        }
    };
    let record_json: serde_json::Value = serde_json::from_str(&record_text).unwrap_or(serde_json::Value::Null);
    let result = NewResult {
        inspection_id: inspection_id.to_owned(),
        camera_id: camera_id.to_owned(),
        frame_index: i64::try_from(record.frame_index).unwrap_or(i64::MAX),
        pts_90k: record.pts_90k,
        wall_ms: msg.wall_ms,
        verdict: verdict.to_owned(),
        record: record_text,
        snapshot_key: snapshot.clone(),
        product: item.product.clone(),
        lot: item.lot.clone(),
        serial: item.serial.clone(),
    };
    let make_event = |result_id: i64| OutboxEvent {
        event_id: event_id.clone(),
        topic: TOPIC_VERDICTS.into(),
        key: camera_id.to_owned(),
        payload: payload_text(&VerdictPayload {
            result_id,
            inspection_id: inspection_id.to_owned(),
            camera_id: camera_id.to_owned(),
            frame_index: record.frame_index,
            pts_90k: record.pts_90k,
            wall_ms: msg.wall_ms,
            verdict: verdict_kind,
            record: record_json.clone(),
            snapshot_url: snapshot.as_ref().map(|_| format!("/api/v1/results/{result_id}/snapshot")),
            product: item.product.clone(),
            lot: item.lot.clone(),
            serial: item.serial.clone(),
        }),
    };
    // The database down: retry, holding this inspection's records (the channel fills, then
    // frames are dropped before inference and counted), rather than lose an accepted result.
    let mut delay = std::time::Duration::from_millis(100);
    loop {
        match state.db.insert_result(&result, &make_event).await {
            Ok(result_id) => {
                if verdict_kind == Verdict::Ng {
                    crate::recorder::protect_ng(state, camera_id, msg.wall_ms, result_id).await;
                }
                break;
            }
            Err(e) => {
                tracing::error!(camera = %camera_id, error = %e, retry_in_ms = delay.as_millis() as u64, "cannot store a result; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(5));
            }
        }
    }
    state.outbox_wake.notify_one();
}

pub async fn inspection_event(state: &AppState, inspection_id: &str, camera_id: &str, status: &str, error: Option<&str>) {
    let event = OutboxEvent {
        event_id: new_id(),
        topic: TOPIC_INSPECTION_STATUS.into(),
        key: camera_id.to_owned(),
        payload: payload_text(&InspectionStatusPayload {
            inspection_id: inspection_id.to_owned(),
            camera_id: camera_id.to_owned(),
            state: status.to_owned(),
            error: error.map(str::to_owned),
        }),
    };
    if let Err(e) = state.db.insert_event(&event).await {
        tracing::warn!(inspection = %inspection_id, error = %e, "inspection status event not stored");
    }
    state.outbox_wake.notify_one();
}
