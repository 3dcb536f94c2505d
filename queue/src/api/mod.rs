//! The fan-facing HTTP API and WebSocket.

mod body;
mod codes;
mod credential;
mod error;
mod fan;
mod notify;
mod origin;
mod path;
pub mod schemas;
mod socket;
mod source;
mod status;
mod ws;

pub use body::{from_json_value, join_body, json_object, BodyError, JoinBody, JOIN_BODY_LIMIT};
pub use codes::ErrorCode;
pub use credential::{
    cookie_name, credential_cookie, TokenInBody, VisitorCredentials, QUEUE_TOKEN_HEADER,
    TOKEN_IN_BODY_HEADER,
};
pub use error::ApiError;
pub use origin::AllowedOrigin;
pub use path::{event_id, with_valid_ids, EventPath};
pub use source::{Feed, PlaceSource};
pub use ws::check_websocket_key;

use crate::engine::Engine;
use axum::Router;
use std::sync::Arc;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Shared state of the fan API.
#[derive(Clone, Debug)]
pub struct QueueApi {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Where fans' places come from: the engine (the queue store) for the
    /// real queue; the edge serves its infinite queue through these same
    /// routes with another source.
    pub places: Arc<dyn PlaceSource>,
    /// Set `Secure` on cookies (the site is served over TLS).
    pub secure_cookies: bool,
    /// The JWKS document, rendered once.
    pub jwks: Arc<serde_json::Value>,
    /// Where the waiting-room page is served from: the WebSocket refuses
    /// upgrades from any other origin (browsers send the cookie anyway).
    pub origin: AllowedOrigin,
}

/// Routes: join, status, ws, room info, JWKS; each handler's
/// `#[utoipa::path]` gives its path, method and documentation.
fn routes() -> OpenApiRouter<Arc<QueueApi>> {
    OpenApiRouter::new()
        .routes(routes!(fan::join))
        .routes(routes!(fan::status))
        .routes(routes!(notify::notify))
        .routes(routes!(ws::upgrade))
        .routes(routes!(fan::info))
        .routes(routes!(fan::jwks))
}

/// The fan API, state applied (shared: each request clones one `Arc`,
/// not every field).
pub fn router(state: QueueApi) -> Router {
    routes().split_for_parts().0.with_state(Arc::new(state))
}

/// The fan API's operations, as [`router`] serves them.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}
