//! Live announcements: an operator's short message to every fan of an
//! event, shown at once on every waiting page (see `queue::announce`).

use crate::auth::{OperatorRole, Viewer};
use crate::{audit, parse_json, AdminApi};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use queue::announce::Announcement;
use queue::api::{schemas, ApiError, EventPath};
use queue::EventId;
use serde::Deserialize;
use serde_json::{json, Value};

/// `PUT …/announcement` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnnouncementInput {
    message: String,
}

fn state(event: &EventId, current: Option<&Announcement>) -> Value {
    json!({
        "event": event.as_str(),
        "announcement": current.map(|a| json!({"message": a.message, "at": a.at})),
    })
}

/// `GET /api/v1/admin/events/{event}/announcement`
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{event}/announcement",
    operation_id = "getAnnouncement",
    tag = "admin",
    summary = "The announcement fans see now",
    description = "Needs the `viewer` role.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The announcement in force, or null.", body = schemas::AnnouncementState),
        (status = 400, description = "`invalid_id`: the event id is malformed.", body = schemas::Error),
        (status = 404, description = "`unknown_event`: no queue for this event.", body = schemas::Error),
        (status = 503, response = schemas::QueueUnavailable),
        schemas::AdminErrors,
    )
)]
pub async fn show(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    EventPath(event): EventPath,
) -> Result<Response, ApiError> {
    let current = api.engine.announcement(&event).await?;
    Ok(Json(state(&event, current.as_ref())).into_response())
}

/// `PUT /api/v1/admin/events/{event}/announcement`
#[utoipa::path(
    put,
    path = "/api/v1/admin/events/{event}/announcement",
    operation_id = "setAnnouncement",
    tag = "admin",
    summary = "Push an announcement to every fan of the event",
    description = "Needs the `operator` role. Every open waiting page shows it at once (WebSocket message `announcement`); polling pages see it in `status`. It stays until replaced or cleared; an empty message clears it. Plain text: pages render it as text, never markup. Audited as `queue.announce`.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    request_body(content = schemas::AnnouncementInput),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The announcement now in force (null when cleared).", body = schemas::AnnouncementState),
        (status = 400, description = "`invalid_json`, or `invalid_id` (the event id is malformed).", body = schemas::Error),
        (status = 404, description = "`unknown_event`: no queue for this event.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `message` (over 280 characters, or control characters); `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 503, response = schemas::QueueUnavailable),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn set(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    EventPath(event): EventPath,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: AnnouncementInput = parse_json(&body)?;
    write(&api, &op, &event, &input.message).await
}

/// `DELETE /api/v1/admin/events/{event}/announcement`
#[utoipa::path(
    delete,
    path = "/api/v1/admin/events/{event}/announcement",
    operation_id = "clearAnnouncement",
    tag = "admin",
    summary = "Take the announcement down",
    description = "Needs the `operator` role. Same as setting an empty message. Audited as `queue.announce`.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "No announcement is in force.", body = schemas::AnnouncementState),
        (status = 400, description = "`invalid_id`: the event id is malformed.", body = schemas::Error),
        (status = 404, description = "`unknown_event`: no queue for this event.", body = schemas::Error),
        (status = 503, response = schemas::QueueUnavailable),
        schemas::AdminErrors,
    )
)]
pub async fn clear(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    EventPath(event): EventPath,
) -> Result<Response, ApiError> {
    write(&api, &op, &event, "").await
}

async fn write(
    api: &AdminApi,
    op: &crate::Actor,
    event: &EventId,
    message: &str,
) -> Result<Response, ApiError> {
    let before = api.engine.announcement(event).await?;
    let written = api.engine.announce(event, message).await?;
    let after = Some(written).filter(|a| !a.is_cleared());
    let target = format!("event:{event}");
    let shown = |a: &Option<Announcement>| state(event, a.as_ref())["announcement"].clone();
    audit::record(
        api,
        op,
        "queue.announce",
        &target,
        Some(shown(&before)),
        Some(shown(&after)),
    )
    .await?;
    Ok(Json(state(event, after.as_ref())).into_response())
}
