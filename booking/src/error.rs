//! The crate's one error type and its mapping to HTTP, in one place.
//!
//! Every error answers `{"error":{"code":…,"message":…}}`. Codes are stable
//! (clients switch on them); messages are for humans. Server-side failures
//! (5xx) are logged under a fresh error id and the body only names that id.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use queue::admission::TokenError;
use queue::api::{ApiError, ErrorCode};
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
    /// An emailed one-time link that is unknown, already used or expired.
    #[error("this link is unknown, already used or expired; register again for a new one")]
    UnknownLink,
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
        /// Its code in the error table.
        code: ErrorCode,
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
    /// The right password of an email its owner has not confirmed yet.
    #[error("{0}")]
    EmailUnverified(&'static str),
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

    /// The HTTP status: the code's, from the one table.
    pub fn status(&self) -> StatusCode {
        self.error_code().status()
    }

    /// The stable machine-readable code, as sent.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// Its code in the error table.
    pub fn error_code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            Self::InvalidJson(_) => C::InvalidJson,
            Self::InvalidId { .. } => C::InvalidId,
            Self::Validation { .. } => C::ValidationFailed,
            Self::TooManySeats { .. } => C::TooManySeats,
            Self::AdmissionRequired => C::AdmissionRequired,
            Self::Token(e) => e.error_code(),
            Self::Unauthorized(_) => C::Unauthenticated,
            Self::Forbidden(_) => C::Forbidden,
            Self::NotFound(_) | Self::UnknownLink => C::NotFound,
            Self::TokenUsed => C::TokenUsed,
            Self::SeatsUnavailable { .. } => C::SeatsUnavailable,
            Self::Conflict { code, .. } => *code,
            Self::RateLimited { .. } => C::RateLimited,
            Self::Unavailable { .. } => C::ServiceUnavailable,
            Self::Internal(_) => C::Internal,
            Self::EmailUnverified(_) => C::EmailUnverified,
            Self::PaymentDeclined { .. } => C::PaymentDeclined,
            Self::PaymentProvider { .. } => C::PaymentProviderError,
        }
    }
}

/// For callers that answer in the shared shape (the operator API): the same
/// code, status and `Retry-After`; 5xx details are logged, not sent.
impl From<BookingError> for ApiError {
    fn from(e: BookingError) -> Self {
        match &e {
            BookingError::Unavailable { what, detail } => {
                tracing::warn!(%what, %detail, "backend unavailable");
                Self::of(e.error_code(), e.to_string()).retry_after(RETRY_AFTER_SECONDS)
            }
            BookingError::RateLimited { retry_after } => {
                Self::of(e.error_code(), e.to_string()).retry_after(*retry_after)
            }
            _ if e.status().is_server_error() => Self::internal(&e),
            BookingError::Validation { field, .. } => {
                Self::of(e.error_code(), e.to_string()).field(field)
            }
            _ => Self::of(e.error_code(), e.to_string()),
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
