//! The admin crate's one error type, mapped to the shared JSON error shape
//! ([`ApiError`]) in one place, so every route refuses alike.

use axum::response::{IntoResponse, Response};
use queue::api::{ApiError, ErrorCode};
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
    /// A field is out of range or malformed (422 `validation_failed`).
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
        use ErrorCode as C;
        match e {
            AdminError::Unauthenticated => Self::of(
                C::Unauthenticated,
                "invalid credentials (log in, or send Authorization: Bearer <token or API key>)",
            ),
            AdminError::Forbidden(_) => Self::of(C::Forbidden, e.to_string()),
            AdminError::Throttled(secs) | AdminError::Busy(secs) => {
                Self::of(C::TooManyAttempts, e.to_string()).retry_after(secs)
            }
            AdminError::ForbiddenOrigin => Self::of(C::ForbiddenOrigin, e.to_string()),
            AdminError::UnsupportedMediaType => Self::of(C::UnsupportedMediaType, e.to_string()),
            AdminError::Invalid { field, .. } => {
                Self::of(C::ValidationFailed, e.to_string()).field(field)
            }
            AdminError::VersionConflict { .. } => Self::of(C::VersionConflict, e.to_string()),
            AdminError::BadJson(detail) => Self::invalid_json(detail),
            AdminError::Conflict(_) => Self::of(C::Conflict, e.to_string()),
            AdminError::NotFound(_) => Self::of(C::NotFound, e.to_string()),
            AdminError::Queue(q) => q.into(),
            AdminError::Booking(b) => b.into(),
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
