//! Path parameters, decoded and validated once, after routing.
//!
//! [`with_valid_ids`] runs in a route layer on the composed router: it sees
//! the route that matched and its parameters already percent-decoded by the
//! router, refuses any that is not a well-formed id with 400 `invalid_id`
//! before a guard or handler runs, and leaves the decoded event id in the
//! request's extensions. Guards then decide by the matched route and that
//! id, never by re-reading the raw URL (where `de%6Do` is not `demo`).

use super::ApiError;
use crate::ids::EventId;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request};
use axum::http::request::Parts;

/// Longest id of any other path parameter (holds, orders, payments,
/// operators, keys, actions).
const MAX_ID: usize = 100;

/// The `{event}` of the matched route, decoded and valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPath(pub EventId);

/// Refuses a request whose path parameters are not well-formed ids; passes
/// it on with its [`EventPath`] otherwise. Called from a route layer (the
/// gateway's edge), after routing.
pub async fn with_valid_ids(req: Request) -> Result<Request, ApiError> {
    let (mut parts, body) = req.into_parts();
    if let Some(event) = checked_event(&mut parts).await? {
        parts.extensions.insert(EventPath(event));
    }
    Ok(Request::from_parts(parts, body))
}

/// Checks every parameter of the matched route; returns the event, if the
/// route has one.
async fn checked_event(parts: &mut Parts) -> Result<Option<EventId>, ApiError> {
    let params = RawPathParams::from_request_parts(parts, &())
        .await
        .map_err(|_| invalid_id("path", "is not valid UTF-8 once decoded"))?;
    // Wildcards (`{*rest}`) capture paths, not ids.
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let is_wildcard =
        |name: &str| route.is_some_and(|r| r.contains("{*") && r.contains(&format!("{{*{name}}}")));
    let mut event = None;
    for (name, value) in &params {
        if is_wildcard(name) {
            continue;
        }
        if name == "event" {
            event = Some(EventId::parse(value).map_err(|_| {
                invalid_id(
                    "event",
                    "must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '_'",
                )
            })?);
        } else if !is_slug(value) {
            return Err(invalid_id(
                name,
                "must be 1 to 100 characters of A-Z, a-z, 0-9, '-' and '_'",
            ));
        }
    }
    Ok(event)
}

/// Parses an event id from a body or another source that is not the
/// path (path ids come validated, as [`EventPath`]).
pub fn event_id(raw: &str) -> Result<EventId, ApiError> {
    Ok(EventId::parse(raw)?)
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn invalid_id(name: &str, why: &str) -> ApiError {
    ApiError::of(
        super::ErrorCode::InvalidId,
        format!("invalid {name} in the path: {why}"),
    )
}

impl<S: Send + Sync> FromRequestParts<S> for EventPath {
    type Rejection = ApiError;

    /// The id [`with_valid_ids`] left; parses it here when the route was
    /// served without that layer (a crate's router tested on its own).
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(e) = parts.extensions.get::<EventPath>() {
            return Ok(e.clone());
        }
        checked_event(parts)
            .await?
            .map(EventPath)
            .ok_or_else(|| ApiError::internal("EventPath used on a route without {event}"))
    }
}
