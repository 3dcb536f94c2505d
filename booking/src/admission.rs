//! Reading the fan's credentials from a request: the admission token
//! (`Authorization: Bearer …`) and the visitor credential (`X-Queue-Token`
//! or the `wr_queue_<event>` cookie), and matching a session to a hold.

use axum::http::{header, HeaderMap};
use queue::api::VisitorCredentials;
use queue::EventId;
use subtle::ConstantTimeEq;

/// Credentials a request carried, read once by the HTTP layer.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// `Authorization: Bearer` value.
    pub bearer: Option<String>,
    /// The visitor credentials (`X-Queue-Token`, queue cookies), read by
    /// the one reader every crate shares.
    pub visitor: VisitorCredentials,
}

impl Credentials {
    /// Reads them from headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        Self {
            bearer,
            visitor: VisitorCredentials::from_headers(headers),
        }
    }

    /// A bearer token and a visitor credential sent as `X-Queue-Token`
    /// (tools and tests that call the service without HTTP).
    pub fn with_queue_token(bearer: Option<String>, queue_token: impl Into<String>) -> Self {
        Self {
            bearer,
            visitor: VisitorCredentials::with_header(queue_token),
        }
    }

    /// The visitor credential for `event` (an id as stored on a hold or
    /// order): the header wins over the cookie.
    pub fn queue_token(&self, event: &str) -> Option<&str> {
        self.visitor.for_event(&EventId::parse(event).ok()?)
    }

    /// Whether the presented visitor credential is the session with
    /// `session_hash` (the `cnf.sst` recorded on a hold or order).
    pub fn is_session(&self, event: &str, session_hash: &str) -> bool {
        self.queue_token(event)
            .and_then(queue::visitor::session_hash_unverified)
            .is_some_and(|(_, _, hash)| bool::from(hash.as_bytes().ct_eq(session_hash.as_bytes())))
    }
}
