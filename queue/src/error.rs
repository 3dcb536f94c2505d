//! The queue crate's one error type; the gateway maps it to HTTP.

/// Everything the queue engine can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No queue is configured for this event.
    #[error("no waiting room for event {0}")]
    UnknownEvent(String),
    /// The event id or visitor id is not well formed.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// Which input was wrong, so clients can point at it.
        field: &'static str,
        /// Human-readable reason.
        message: String,
    },
    /// The queue refuses joins in its current state (closed, draining).
    #[error("the queue is {0} and does not accept new visitors")]
    NotJoinable(crate::QueueState),
    /// The event sold out and its waitlist takes no new arrivals.
    #[error("the event is sold out and its waitlist takes no new arrivals")]
    SoldOut,
    /// The store (Redis) cannot be reached; callers answer 503 and retry.
    #[error("queue store unavailable: {0}")]
    Unavailable(String),
    /// The credential has a place only in another event, or none at all.
    #[error("this credential has no place in the queue; join first")]
    NotJoined,
    /// The presented visitor credential is tampered, foreign or malformed.
    #[error("visitor credential rejected: {0}")]
    Credential(#[from] crate::visitor::CredentialError),
    /// Issuing an admission token failed (a key problem, never input).
    #[error("admission token: {0}")]
    Token(#[from] crate::admission::TokenError),
    /// Stored data that we wrote ourselves could not be read back.
    #[error("queue store corrupt: {0}")]
    Corrupt(String),
}

/// Shorthand used across the crate.
pub type Result<T, E = QueueError> = std::result::Result<T, E>;
