//! The OpenAPI document served at `/api/v1/openapi.json`.
//!
//! Operations come from the code: every handler carries `#[utoipa::path]`
//! (path, method, parameters with their constraints, body, responses,
//! security) and is routed through utoipa-axum's `routes!`, so the routers
//! and the document's paths are one list. The JSON Schemas behind the names
//! the attributes use (`body = schemas::Hold`), the shared responses, the
//! security schemes, tags and info are in `openapi/components.json`; the
//! `Error.code` enum is written from `queue::api::ErrorCode`.

use queue::api::ErrorCode;
use serde_json::{json, Value};
use std::sync::OnceLock;

/// The schemas and shared responses the operations name, and the info.
const COMPONENTS: &str = include_str!("openapi/components.json");

/// Every operation of every router, as the routers serve them.
pub fn operations() -> utoipa::openapi::OpenApi {
    let mut doc = queue::api::openapi();
    doc.merge(crate::edge::Edge::openapi());
    doc.merge(booking::openapi());
    doc.merge(admin::openapi());
    doc.merge(crate::ops::openapi_operations());
    doc
}

/// The whole document.
pub fn document() -> Value {
    let generated = serde_json::to_value(operations()).unwrap_or_default();
    let mut doc: Value = serde_json::from_str(COMPONENTS).unwrap_or_default();
    doc["paths"] = generated["paths"].clone();
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"] =
        json!(codes);
    doc
}

/// [`document`] as served, rendered once.
pub fn document_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| document().to_string())
}

/// Component names the operations use that `components.json` lacks
/// (schemas and responses); empty when the two agree.
pub fn missing_components() -> Vec<String> {
    let generated = serde_json::to_value(operations()).unwrap_or_default();
    let doc = document();
    let mut missing = Vec::new();
    for kind in ["schemas", "responses"] {
        if let Some(names) = generated["components"][kind].as_object() {
            for name in names.keys() {
                if doc["components"][kind].get(name).is_none() {
                    missing.push(format!("{kind}/{name}"));
                }
            }
        }
    }
    missing
}
