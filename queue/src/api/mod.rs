//! The fan-facing HTTP API and WebSocket (design.md §7).

mod error;
mod fan;
mod ws;

pub use error::ApiError;

use crate::engine::Engine;
use crate::ids::EventId;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// Header non-browser clients use instead of the cookie.
pub const QUEUE_TOKEN_HEADER: &str = "x-queue-token";

/// Name of the HttpOnly cookie holding the visitor credential of `event`.
/// One cookie per event, because a credential is bound to its event.
pub fn cookie_name(event: &EventId) -> String {
    format!("wr_queue_{event}")
}

/// The visitor credential presented with a request: the `X-Queue-Token`
/// header, else the event's cookie.
pub fn presented_credential(headers: &HeaderMap, event: &EventId) -> Option<String> {
    if let Some(v) = headers
        .get(QUEUE_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return Some(v.trim().to_owned());
    }
    let name = cookie_name(event);
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Shared state of the fan API.
#[derive(Clone, Debug)]
pub struct QueueApi {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Set `Secure` on cookies (the site is served over TLS).
    pub secure_cookies: bool,
    /// The JWKS document, rendered once.
    pub jwks: Arc<serde_json::Value>,
}

/// Parses the `{event}` path segment.
pub fn event_id(raw: &str) -> Result<EventId, ApiError> {
    Ok(EventId::parse(raw)?)
}

/// Routes: join, status, ws, room info, JWKS.
pub fn router(state: QueueApi) -> Router {
    Router::new()
        .route("/api/v1/queue/{event}/join", post(fan::join))
        .route("/api/v1/queue/{event}/status", get(fan::status))
        .route("/api/v1/queue/{event}/ws", get(ws::upgrade))
        .route("/api/v1/queue/{event}", get(fan::info))
        .route("/.well-known/jwks.json", get(fan::jwks))
        .with_state(state)
}
