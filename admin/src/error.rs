//! The admin crate's one error type, mapped to the shared JSON error shape
//! ([`ApiError`]) in one place, so every route refuses alike.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use queue::api::ApiError;
use queue::QueueError;

/// Everything an operator request can be refused or fail with.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No credentials, or wrong ones. One message for every cause, so a
    /// caller cannot tell an unknown email from a wrong password.
    #[error("invalid credentials")]
    Unauthenticated,
    /// Authenticated, but the role does not allow this.
    #[error("this needs the {0} role")]
    Forbidden(&'static str),
    /// Too many wrong passwords or keys from this client.
    #[error("too many failed attempts; retry in {0} s")]
    Throttled(u64),
    /// Every password-hashing slot stayed busy; retry shortly.
    #[error("too many password checks at once; retry in {0} s")]
    Busy(u64),
    /// A cookie-authenticated write or upgrade from another site or origin.
    #[error("cross-origin requests with the session cookie are refused; call from the dashboard's own origin, or authenticate with an Authorization header")]
    ForbiddenOrigin,
    /// A cookie-authenticated write whose body is not `application/json`.
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    /// A field is out of range or malformed (422 `invalid_<field>`).
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The write named a version older than the stored one.
    #[error("settings changed meanwhile (now version {current}); reload and retry")]
    VersionConflict {
        /// The version in force.
        current: u64,
    },
    /// The body is not JSON at all (400).
    #[error("{0}")]
    BadJson(String),
    /// A unique value (an email) is taken.
    #[error("{0}")]
    Conflict(&'static str),
    /// No such operator, key or event.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The queue engine refused or failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The booking service refused or failed.
    #[error(transparent)]
    Booking(#[from] booking::BookingError),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Anything else that is our fault.
    #[error("{0}")]
    Internal(String),
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        use StatusCode as S;
        match e {
            AdminError::Unauthenticated => Self::new(
                S::UNAUTHORIZED,
                "unauthenticated",
                "invalid credentials (log in, or send Authorization: Bearer <token or API key>)",
            ),
            AdminError::Forbidden(_) => Self::new(S::FORBIDDEN, "forbidden", e.to_string()),
            AdminError::Throttled(secs) | AdminError::Busy(secs) => {
                Self::new(S::TOO_MANY_REQUESTS, "too_many_attempts", e.to_string())
                    .retry_after(secs)
            }
            AdminError::ForbiddenOrigin => {
                Self::new(S::FORBIDDEN, "forbidden_origin", e.to_string())
            }
            AdminError::UnsupportedMediaType => Self::new(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                e.to_string(),
            ),
            AdminError::Invalid { field, .. } => Self::new(
                S::UNPROCESSABLE_ENTITY,
                format!("invalid_{field}"),
                e.to_string(),
            ),
            AdminError::VersionConflict { .. } => {
                Self::new(S::CONFLICT, "version_conflict", e.to_string())
            }
            AdminError::BadJson(detail) => Self::invalid_json(detail),
            AdminError::Conflict(_) => Self::new(S::CONFLICT, "conflict", e.to_string()),
            AdminError::NotFound(_) => Self::new(S::NOT_FOUND, "not_found", e.to_string()),
            AdminError::Queue(q) => q.into(),
            // Unavailable keeps its 503 and Retry-After: the client should
            // retry, not report a bug.
            AdminError::Booking(b) if b.status() == S::SERVICE_UNAVAILABLE => {
                Self::new(S::SERVICE_UNAVAILABLE, b.code(), b.to_string())
                    .retry_after(booking::error::RETRY_AFTER_SECONDS)
            }
            AdminError::Booking(b) if b.status().is_server_error() => Self::internal(b),
            AdminError::Booking(b) => Self::new(b.status(), b.code(), b.to_string()),
            AdminError::Db(_) | AdminError::Internal(_) => Self::internal(e),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl AdminError {
    /// 422 naming `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// Password hashing errors: a busy hasher is a 429 with `Retry-After`, the
/// rest are the booking crate's (internal) errors.
pub(crate) fn hashing(e: booking::BookingError) -> AdminError {
    match e {
        booking::BookingError::RateLimited { retry_after } => AdminError::Busy(retry_after),
        other => AdminError::Booking(other),
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = AdminError> = std::result::Result<T, E>;
