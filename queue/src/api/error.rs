//! The JSON error shape every endpoint answers with, and how queue errors
//! map onto it. Other crates convert their own errors into [`ApiError`] so
//! the wire format lives in this one place.

use crate::error::QueueError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

/// An error as sent to clients: `{"error":{"code","message"}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable, machine-readable code.
    pub code: Cow<'static, str>,
    /// Human-readable explanation.
    pub message: String,
    /// Seconds for `Retry-After` (sent on 429 and 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A new error.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// Adds `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 400 for a body that is not the JSON we expect.
    pub fn invalid_json(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("request body is not valid JSON: {detail}"),
        )
    }

    /// 500 that hides details from the client and logs them under an id.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        tracing::error!(error_id = %id, error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error (id {id})"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        });
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
        use StatusCode as S;
        match &e {
            QueueError::UnknownEvent(_) => Self::new(S::NOT_FOUND, "unknown_event", e.to_string()),
            QueueError::Invalid { field, .. } => {
                let status = if *field == "event" || *field == "visitor_id" {
                    S::BAD_REQUEST
                } else {
                    S::UNPROCESSABLE_ENTITY
                };
                Self::new(status, format!("invalid_{field}"), e.to_string())
            }
            QueueError::NotJoinable(_) => Self::new(S::CONFLICT, "queue_closed", e.to_string()),
            QueueError::NotJoined => Self::new(S::NOT_FOUND, "not_joined", e.to_string()),
            QueueError::Credential(c) => Self::new(S::UNAUTHORIZED, c.code(), e.to_string()),
            QueueError::Unavailable(_) => Self::new(
                S::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the queue is reconnecting to its store; your place is kept, retry shortly",
            )
            .retry_after(2),
            QueueError::Token(_) | QueueError::Corrupt(_) => Self::internal(e),
        }
    }
}
