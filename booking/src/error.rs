//! The crate's one error type and its mapping to HTTP, in one place.
//!
//! Every error answers `{"error":{"code":…,"message":…}}`. Codes are stable
//! (clients switch on them); messages are for humans. Server-side failures
//! (5xx) are logged under a fresh error id and the body only names that id.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use queue::admission::TokenError;
use serde_json::json;

/// Seconds clients should wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u64 = 2;

/// Everything the booking service can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// The body is not JSON, or not the JSON we expect at all.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// A path or query id is not well formed.
    #[error("invalid {field}: {message}")]
    InvalidId {
        /// Which parameter.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// Well-formed input that makes no sense (422), naming the field.
    #[error("invalid {field}: {message}")]
    Validation {
        /// Which field, so clients can point at it.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// More seats than one admission may hold.
    #[error("at most {max} seats per admission")]
    TooManySeats {
        /// The configured limit.
        max: u32,
    },
    /// A hold needs an admission token and nothing was presented.
    #[error("an admission token is required (Authorization: Bearer …)")]
    AdmissionRequired,
    /// The admission token (or its session binding) was refused.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// Credentials (password, session token) are wrong or missing.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Authenticated, but this is someone else's hold or order.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such thing (or not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The admission token already placed a hold.
    #[error("this admission token was already used to place a hold")]
    TokenUsed,
    /// Some requested seats are held or sold by someone else.
    #[error("some seats are no longer available")]
    SeatsUnavailable {
        /// The seats that could not be taken (empty for general admission).
        seats: Vec<i64>,
    },
    /// The request conflicts with the current state (e.g. hold expired).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Why.
        message: String,
    },
    /// Too many requests; retry after the given seconds.
    #[error("too many requests")]
    RateLimited {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// A backend (database, payment provider) is unreachable; retry later.
    #[error("{what} is unavailable")]
    Unavailable {
        /// Which backend, for the message.
        what: &'static str,
        /// Details, logged only.
        detail: String,
    },
    /// A bug or an unexpected backend answer; details logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// The card was declined (Stripe `card_error`): the fan may try
    /// another card while the hold lasts.
    #[error("{message}")]
    PaymentDeclined {
        /// Stripe's `decline_code` (or its `code` when there is none).
        decline_code: Option<String>,
        /// Stripe's message, meant for the cardholder.
        message: String,
    },
    /// The payment provider refused the request as malformed or not allowed
    /// (Stripe `invalid_request_error`, `authentication_error`, …): a bug
    /// or a misconfiguration on our side, not the fan's.
    #[error("the payment provider refused the request ({kind}, code {code:?}, request {request_id:?}): {detail}")]
    PaymentProvider {
        /// Stripe's error `type`.
        kind: String,
        /// Stripe's error `code`, any value (also ones this build does not know).
        code: Option<String>,
        /// Stripe's `Request-Id`, for their support and logs.
        request_id: Option<String>,
        /// Stripe's message; logged only.
        detail: String,
    },
}

impl BookingError {
    /// Shorthand for [`BookingError::Validation`].
    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        Self::Validation {
            field,
            message: message.into(),
        }
    }

    /// Shorthand for [`BookingError::Internal`].
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    /// The HTTP status. This match is the table of status per error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_) | Self::InvalidId { .. } => StatusCode::BAD_REQUEST,
            Self::Validation { .. } | Self::TooManySeats { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::AdmissionRequired | Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Token(e) => match e {
                TokenError::WrongSession | TokenError::WrongEvent | TokenError::WrongAudience => {
                    StatusCode::FORBIDDEN
                }
                TokenError::Signing(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNAUTHORIZED,
            },
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::TokenUsed | Self::SeatsUnavailable { .. } | Self::Conflict { .. } => {
                StatusCode::CONFLICT
            }
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::PaymentDeclined { .. } => StatusCode::PAYMENT_REQUIRED,
            Self::PaymentProvider { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid_json",
            Self::InvalidId { .. } => "invalid_id",
            Self::Validation { .. } => "validation_failed",
            Self::TooManySeats { .. } => "too_many_seats",
            Self::AdmissionRequired => "admission_required",
            Self::Token(e) => e.code(),
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::TokenUsed => "token_used",
            Self::SeatsUnavailable { .. } => "seats_unavailable",
            Self::Conflict { code, .. } => code,
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } => "service_unavailable",
            Self::Internal(_) => "internal",
            Self::PaymentDeclined { .. } => "payment_declined",
            Self::PaymentProvider { .. } => "payment_provider_error",
        }
    }
}

impl From<sqlx::Error> for BookingError {
    /// Connection-level failures become 503 (retry), everything else 500.
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable {
                what: "database",
                detail: e.to_string(),
            },
            _ => Self::Internal(format!("database: {e}")),
        }
    }
}

impl IntoResponse for BookingError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        if status.is_server_error() {
            let id = uuid::Uuid::new_v4().simple().to_string();
            match &self {
                Self::Unavailable { what, detail } => {
                    tracing::warn!(error_id = %id, %what, %detail, "backend unavailable")
                }
                other => tracing::error!(error_id = %id, error = %other, "request failed"),
            }
            let message = match &self {
                Self::Unavailable { .. } => format!("{self}; retry shortly (error id {id})"),
                Self::PaymentProvider { .. } => {
                    format!("the payment provider refused the request (error id {id})")
                }
                _ => format!("internal error (error id {id})"),
            };
            body = json!({"error": {"code": self.code(), "message": message, "error_id": id}});
        }
        if let Self::SeatsUnavailable { seats } = &self {
            body["error"]["seats"] = json!(seats);
        }
        if let Self::PaymentDeclined { decline_code, .. } = &self {
            body["error"]["decline_code"] = json!(decline_code);
        }
        if let Self::Validation { field, .. } = &self {
            body["error"]["field"] = json!(field);
        }
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match &self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::Unavailable { .. } => Some(RETRY_AFTER_SECONDS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = BookingError> = std::result::Result<T, E>;
