//! The OpenAPI document served at `/api/v1/openapi.json`.
//!
//! Operations come from the code: every handler carries `#[utoipa::path]`
//! (path, method, parameters with their constraints, body, responses,
//! security) and is routed through utoipa-axum's `routes!`, so the routers
//! and the document's paths are one list. Request types derive their
//! schemas (`#[derive(utoipa::ToSchema)]`, constraints from
//! `queue::api::schemas::fields`; a rule across fields that JSON Schema
//! cannot state is added in code as `x-constraints` with
//! `queue::api::schemas::with_constraints`, as for `QueueSettingsPatch`);
//! the schemas behind names only declared in `queue::api::schemas`
//! (`body = schemas::Hold`), the shared responses, the security schemes,
//! tags and info are in `openapi/components.json`. Those names are the ones
//! not yet derived from their types; each one moved to a derive leaves the
//! file (`component_problems` refuses a schema in both places).
//! The `Error.code` enum is written from `queue::api::ErrorCode`.

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
    // Schemas derived from the request and response types join those of
    // `components.json` (the names only declared there are placeholders).
    if let Some(derived) = generated["components"]["schemas"].as_object() {
        for (name, schema) in derived {
            if !is_placeholder(schema) && doc["components"]["schemas"].get(name).is_none() {
                doc["components"]["schemas"][name] = schema.clone();
            }
        }
    }
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

fn is_placeholder(schema: &Value) -> bool {
    schema["title"] == queue::api::schemas::PLACEHOLDER
}

/// Where the operations' component names and `components.json` disagree:
/// a name only declared (`queue::api::schemas`) that the file lacks, or a
/// schema derived from a type that the file defines too. Empty when right.
pub fn component_problems() -> Vec<String> {
    let generated = serde_json::to_value(operations()).unwrap_or_default();
    let file: Value = serde_json::from_str(COMPONENTS).unwrap_or_default();
    let mut problems = Vec::new();
    for kind in ["schemas", "responses"] {
        let Some(names) = generated["components"][kind].as_object() else {
            continue;
        };
        for (name, schema) in names {
            let in_file = file["components"][kind].get(name).is_some();
            let declared_only = kind == "responses" || is_placeholder(schema);
            if declared_only && !in_file {
                problems.push(format!("{kind}/{name}: not in components.json"));
            } else if !declared_only && in_file {
                problems.push(format!(
                    "{kind}/{name}: derived, and in components.json too"
                ));
            }
        }
    }
    problems
}
