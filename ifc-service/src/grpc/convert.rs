//! Conversions shared by several services: roles, statuses, field errors, JSON text.

use super::pb;
use crate::api::error::{ApiError, FieldError};
use crate::api::views::SourceStatusView;
use crate::auth::Role;

pub(super) fn role(r: Role) -> i32 {
    (match r {
        Role::Viewer => pb::Role::Viewer,
        Role::Operator => pb::Role::Operator,
        Role::Admin => pb::Role::Admin,
    }) as i32
}

/// A role the caller must name: unspecified or unknown is an invalid argument.
pub(super) fn role_from(field: &str, value: i32) -> Result<Role, ApiError> {
    match pb::Role::try_from(value) {
        Ok(pb::Role::Viewer) => Ok(Role::Viewer),
        Ok(pb::Role::Operator) => Ok(Role::Operator),
        Ok(pb::Role::Admin) => Ok(Role::Admin),
        Ok(pb::Role::Unspecified) | Err(_) => {
            Err(ApiError::invalid(field, "must be ROLE_VIEWER, ROLE_OPERATOR or ROLE_ADMIN"))
        }
    }
}

pub(super) fn source_status(s: SourceStatusView) -> pb::SourceStatus {
    pb::SourceStatus { state: s.state, next_retry_at_ms: s.next_retry_at_ms, reason: s.reason, since_ms: s.since_ms }
}

pub(super) fn field_error(e: FieldError) -> pb::FieldError {
    pb::FieldError {
        node_index: e.node_index.map(|i| i as u64),
        node_id: e.node_id,
        field: e.field,
        message: e.message,
    }
}

/// JSON as text, the way the REST API writes it.
pub(super) fn json_text(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A `*_json` field read; not JSON is an invalid argument naming the field.
pub(super) fn parse_json(field: &str, text: &str) -> Result<serde_json::Value, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::invalid(field, format!("not JSON: {e}")))
}

/// A message field the request must carry.
pub(super) fn required<T>(field: &str, value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid(field, "is required"))
}
