//! [`ApiError`] → gRPC status: the same typed errors as REST, as gRPC codes.

use tonic::{Code, Status};

use crate::api::error::ApiError;

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Self {
        let code = match &e {
            ApiError::Unauthorized(_) => Code::Unauthenticated,
            ApiError::Forbidden(_) => Code::PermissionDenied,
            ApiError::NotFound(_) => Code::NotFound,
            // REST's 409: a duplicate, or a resource in use (a camera being inspected).
            ApiError::Conflict(_) => Code::AlreadyExists,
            ApiError::Invalid { .. } | ApiError::BadRequest(_) => Code::InvalidArgument,
            ApiError::TooLarge(_) | ApiError::TooMany(_) => Code::ResourceExhausted,
            ApiError::Unavailable(_) => Code::Unavailable,
            ApiError::Internal(_) => Code::Internal,
        };
        // The field errors (node, field, message) go in the message, like REST's `details`.
        let message = match &e {
            ApiError::Invalid { details, .. } if details.len() > 1 => {
                let all: Vec<String> = details.iter().map(|d| format!("{}: {}", d.field, d.message)).collect();
                format!("{e} [{}]", all.join("; "))
            }
            _ => e.to_string(),
        };
        Status::new(code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_map_to_the_documented_codes() {
        let cases = [
            (ApiError::Unauthorized("x".into()), Code::Unauthenticated),
            (ApiError::Forbidden("x".into()), Code::PermissionDenied),
            (ApiError::NotFound("x".into()), Code::NotFound),
            (ApiError::Conflict("x".into()), Code::AlreadyExists),
            (ApiError::invalid("limit", "must be 1–1000"), Code::InvalidArgument),
            (ApiError::TooLarge("x".into()), Code::ResourceExhausted),
            (ApiError::TooMany("x".into()), Code::ResourceExhausted),
            (ApiError::Unavailable("x".into()), Code::Unavailable),
            (ApiError::Internal("x".into()), Code::Internal),
        ];
        for (error, code) in cases {
            assert_eq!(Status::from(error).code(), code);
        }
        assert_eq!(Status::from(ApiError::invalid("limit", "must be 1–1000")).message(), "limit: must be 1–1000");
    }
}
