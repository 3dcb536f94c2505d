//! The audit log: every change, who made it, before and after.

use crate::auth::{Actor, Viewer};
use crate::error::Result;
use crate::store::{AuditRow, NewAudit};
use crate::{now_ms, AdminApi};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use queue::api::schemas;
use serde::Deserialize;

/// Appends an entry. A change whose audit entry cannot be written is
/// reported as failed (the change itself has happened; the caller sees a
/// 500 and the log explains), never silently unaudited.
pub async fn record(
    api: &AdminApi,
    actor: &Actor,
    action: &str,
    target: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    record_as(api, &actor.label, action, target, before, after).await
}

/// As [`record`], for actors that are not requests (the scheduler).
pub async fn record_as(
    api: &AdminApi,
    actor: &str,
    action: &str,
    target: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    tracing::info!(actor, action, target, "audit");
    let entry = NewAudit {
        actor,
        action,
        target,
        before,
        after,
    };
    api.db.audit().record(&entry, now_ms() as i64).await
}

/// Query of `GET /api/v1/admin/audit`.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    /// Only this target, e.g. `event:demo`.
    target: Option<String>,
    /// Entries older than this id (paging).
    before: Option<i64>,
    /// At most this many (default 100, max 1000).
    limit: Option<i64>,
}

/// `GET /api/v1/admin/audit`: newest first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/audit",
    operation_id = "adminAudit",
    tag = "admin",
    summary = "The audit log, newest first",
    description = "Needs the `viewer` role.",
    params(
        ("target" = Option<String>, Query, description = "Only this target, e.g. `event:demo`."),
        ("before" = Option<i64>, Query, minimum = -9223372036854775808i64, maximum = 9223372036854775807i64, description = "Entries older than this id (paging)."),
        ("limit" = Option<i64>, Query, minimum = -9223372036854775808i64, maximum = 9223372036854775807i64, description = "At most this many (default 100); clamped to 1..1000."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "Entries.", body = Vec<schemas::AuditEntry>),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `query`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn list(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    q: std::result::Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditRow>>> {
    // A malformed query answers in the JSON error shape like everything else.
    let Query(q) = q.map_err(|e| crate::AdminError::invalid("query", e.body_text()))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = api
        .db
        .audit()
        .list(q.target.as_deref(), q.before, limit)
        .await?;
    Ok(Json(rows))
}
