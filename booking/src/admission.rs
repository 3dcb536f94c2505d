//! Reading the fan's credentials from a request: the admission token
//! (`Authorization: Bearer …`) and the visitor credential (`X-Queue-Token`
//! or the `wr_queue_<event>` cookie), and matching a session to a hold.

use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

/// Credentials a request carried, read once by the HTTP layer.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// `Authorization: Bearer` value.
    pub bearer: Option<String>,
    /// `X-Queue-Token` value.
    pub queue_header: Option<String>,
    /// `wr_queue_<event>` cookies: `(event, value)`.
    pub queue_cookies: Vec<(String, String)>,
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
        let queue_header = headers
            .get("x-queue-token")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let queue_cookies = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                let event = name.strip_prefix("wr_queue_")?;
                Some((event.to_owned(), value.trim_matches('"').to_owned()))
            })
            .collect();
        Self {
            bearer,
            queue_header,
            queue_cookies,
        }
    }

    /// The visitor credential for `event`: the header wins over the cookie.
    pub fn queue_token(&self, event: &str) -> Option<&str> {
        self.queue_header.as_deref().or_else(|| {
            self.queue_cookies
                .iter()
                .find(|(e, _)| e == event)
                .map(|(_, v)| v.as_str())
        })
    }

    /// Whether the presented visitor credential is the session with
    /// `session_hash` (the `cnf.sst` recorded on a hold or order).
    pub fn is_session(&self, event: &str, session_hash: &str) -> bool {
        self.queue_token(event)
            .and_then(queue::visitor::session_hash_unverified)
            .is_some_and(|(_, _, hash)| bool::from(hash.as_bytes().ct_eq(session_hash.as_bytes())))
    }
}
