//! API errors: one type for every handler, turned into a status and a JSON body
//! `{"error": {"code", "message", "details"}}`. The conversion logs nothing: a handler's
//! caller (the tracing layer) sees the status; server errors are logged once where they arise.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("authentication required: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Invalid { message: String, details: Vec<FieldError> },
    /// A request a protocol says to answer 400 (LL-HLS's `_HLS_msn` too far ahead).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TooLarge(String),
    /// A limit on concurrent use is reached (viewers of a camera, egress): 429.
    #[error("{0}")]
    TooMany(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

/// One problem with a request or document, with the place it is at.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The node's index and id, when the problem is inside a pipeline document's node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// The field's path (`postprocess.iou_threshold`, `url`); empty for the whole thing.
    pub field: String,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `unauthorized`, `forbidden`, `not_found`, `conflict`, `invalid`, `bad_request`, `too_large`, `too_many`, `unavailable`, `internal`.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Invalid {
            message: format!("{field}: {message}"),
            details: vec![FieldError { node_index: None, node_id: None, field: field.to_owned(), message }],
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::TooMany(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound { what } => Self::NotFound(format!("{what} not found")),
            DbError::Conflict { what } => Self::Conflict(format!("{what} already exists")),
            other => {
                tracing::error!(error = %other, "metadata store");
                Self::Unavailable("the metadata store failed; try again".into())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let details = match &self {
            Self::Invalid { details, .. } => details.clone(),
            _ => Vec::new(),
        };
        let mut response =
            (status, Json(ErrorBody { error: ErrorDetail { code: code.into(), message: self.to_string(), details } }))
                .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
