//! The operators' API. For now: queue settings behind the operator API key
//! (`WAITROOM_ADMIN_TOKEN`); accounts, roles and the dashboard come later.

mod auth;
mod queue_settings;

pub use auth::Operator;

use axum::routing::put;
use axum::Router;
use queue::engine::Engine;
use std::sync::Arc;

/// Shared state of the operator API.
#[derive(Clone, Debug)]
pub struct AdminApi {
    /// The queue engine whose settings operators change.
    pub engine: Arc<Engine>,
    /// SHA-256 of the operator API key (the key itself is not kept).
    pub api_key_sha256: [u8; 32],
}

impl AdminApi {
    /// State for `api_key`.
    pub fn new(engine: Arc<Engine>, api_key: &str) -> Self {
        Self {
            engine,
            api_key_sha256: auth::digest(api_key),
        }
    }
}

/// Routes under `/api/v1/admin`.
pub fn router(state: AdminApi) -> Router {
    Router::new()
        .route(
            "/api/v1/admin/events/{event}/queue",
            put(queue_settings::replace)
                .patch(queue_settings::change)
                .get(queue_settings::show),
        )
        .with_state(state)
}
