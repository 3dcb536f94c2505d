//! The fan-facing HTTP API and WebSocket.

mod body;
mod codes;
mod credential;
mod error;
mod fan;
mod origin;
mod path;
mod ws;

pub use body::{from_json_value, json_object, BodyError};
pub use codes::ErrorCode;
pub use credential::{
    cookie_name, credential_cookie, wants_token_in_body, VisitorCredentials, QUEUE_TOKEN_HEADER,
    TOKEN_IN_BODY_HEADER,
};
pub use error::ApiError;
pub use origin::AllowedOrigin;
pub use path::{event_id, validate_ids, EventPath};
pub use ws::check_websocket_key;

use crate::engine::Engine;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// Shared state of the fan API.
#[derive(Clone, Debug)]
pub struct QueueApi {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Set `Secure` on cookies (the site is served over TLS).
    pub secure_cookies: bool,
    /// The JWKS document, rendered once.
    pub jwks: Arc<serde_json::Value>,
    /// Where the waiting-room page is served from: the WebSocket refuses
    /// upgrades from any other origin (browsers send the cookie anyway).
    pub origin: AllowedOrigin,
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
