//! The JSON error shape every endpoint answers with, and how queue errors
//! map onto it. Other crates convert their own errors into [`ApiError`] so
//! the wire format lives in this one place.

use super::codes::ErrorCode;
use crate::error::QueueError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error as sent to clients: `{"error":{"code","message"}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status: the code's, except where the framework answered a
    /// status the table has no code of its own for.
    pub status: StatusCode,
    /// Stable, machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// Seconds for `Retry-After` (sent on 429 and 503).
    pub retry_after: Option<u64>,
    /// The input at fault, sent as `error.field` (validation errors).
    pub field: Option<&'static str>,
}

impl ApiError {
    /// A new error, answered with the code's status.
    pub fn of(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            code,
            message: message.into(),
            retry_after: None,
            field: None,
        }
    }

    /// Names the input at fault.
    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// Keeps a status the framework chose (see `ErrorCode::for_status`).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Adds `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 400 for a body that is not the JSON we expect.
    pub fn invalid_json(detail: impl std::fmt::Display) -> Self {
        Self::of(
            ErrorCode::InvalidJson,
            format!("request body is not valid JSON: {detail}"),
        )
    }

    /// 500 that hides details from the client and logs them under an id.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        tracing::error!(error_id = %id, error = %detail, "internal error");
        Self::of(ErrorCode::Internal, format!("internal error (id {id})"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        });
        if let Some(field) = self.field {
            body["error"]["field"] = field.into();
        }
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        use ErrorCode as C;
        match &e {
            QueueError::UnknownEvent(_) => Self::of(C::UnknownEvent, e.to_string()),
            QueueError::Invalid { field, .. } if *field == "event" || *field == "visitor_id" => {
                Self::of(C::InvalidId, e.to_string())
            }
            QueueError::Invalid { field, .. } => {
                Self::of(C::ValidationFailed, e.to_string()).field(field)
            }
            QueueError::NotJoinable(_) => Self::of(C::QueueClosed, e.to_string()),
            QueueError::SoldOut => Self::of(C::SoldOut, e.to_string()),
            QueueError::NotJoined => Self::of(C::NotJoined, e.to_string()),
            QueueError::Credential(c) => Self::of(c.error_code(), e.to_string()),
            QueueError::Unavailable(_) => Self::of(
                C::ServiceUnavailable,
                "the queue is reconnecting to its store; your place is kept, retry shortly",
            )
            .retry_after(2),
            QueueError::Token(_) | QueueError::Corrupt(_) => Self::internal(e),
        }
    }
}
