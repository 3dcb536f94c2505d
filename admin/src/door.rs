//! The door: check-in, the scanners' offline list and the sync of their
//! offline scans, behind [`crate::auth::door_guard`] (door staff,
//! operators, owners); and an operator reissuing a lost ticket.

use crate::auth::OperatorRole;
use crate::error::AdminError;
use crate::{audit, parse_json, AdminApi};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use booking::tickets::checkin::{
    CheckinRequest, CheckinResult, OfflineList, SyncRequest, SyncResult,
};
use queue::api::{event_id, schemas, ApiError};
use serde_json::json;

/// `POST /api/v1/checkin`: `{ticket, gate, event?}` → 200 with the result
/// (valid / already_used / invalid / wrong_event).
#[utoipa::path(
    post,
    path = "/api/v1/checkin",
    operation_id = "checkIn",
    tag = "admin",
    summary = "Check a ticket in at a gate",
    description = "Needs the `door`, `operator` or `owner` role (a session or an API key). A ticket is admitted once, atomically in the database: of concurrent scans one is `valid`, the others `already_used` with the first scan's time and gate. Forged, altered, revoked or unknown tickets are `invalid` with a `reason`; another event's are `wrong_event`.",
    request_body(content = CheckinRequest),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "What the door shows.", body = CheckinResult),
        (status = 400, description = "`invalid_json`.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        (status = 422, description = "`validation_failed`, with `field`: `ticket`, `gate`, `event` or `body`.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn check_in(
    State(api): State<AdminApi>,
    body: Bytes,
) -> Result<Json<CheckinResult>, ApiError> {
    let req: CheckinRequest = parse_json(&body)?;
    Ok(Json(
        api.booking
            .tickets
            .check_in(&req)
            .await
            .map_err(AdminError::from)?,
    ))
}

/// `POST /api/v1/checkin/sync`: a scanner's offline scans, in order.
#[utoipa::path(
    post,
    path = "/api/v1/checkin/sync",
    operation_id = "syncScans",
    tag = "admin",
    summary = "Record a scanner's offline scans",
    description = "Needs the `door`, `operator` or `owner` role (a session or an API key). Scans are applied in order; the first recorded scan of a ticket wins and every later one is reported as a conflict. A scan time outside the last 48 hours (a wrong clock) is recorded at the server's time.",
    request_body(content = SyncRequest),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "One result per scan, in order.", body = SyncResult),
        (status = 400, description = "`invalid_json`.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        (status = 422, description = "`validation_failed`, with `field`: `gate`, `event`, `scans`, `scans.ticket` or `body`.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn sync(State(api): State<AdminApi>, body: Bytes) -> Result<Json<SyncResult>, ApiError> {
    let req: SyncRequest = parse_json(&body)?;
    Ok(Json(
        api.booking
            .tickets
            .sync_scans(&req)
            .await
            .map_err(AdminError::from)?,
    ))
}

/// `GET /api/v1/checkin/offline/{event}`: ticket keys and every ticket's
/// status, for a scanner to keep deciding while offline.
#[utoipa::path(
    get,
    path = "/api/v1/checkin/offline/{event}",
    operation_id = "offlineList",
    tag = "admin",
    summary = "The ticket keys and every ticket's status, for scanning offline",
    description = "Needs the `door`, `operator` or `owner` role (a session or an API key).",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The list (`Cache-Control: private, no-store`).", body = OfflineList),
        (status = 400, description = "`invalid_id`: the event id is malformed.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn offline(
    State(api): State<AdminApi>,
    Path(raw): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let event = event_id(&raw)?;
    api.booking
        .sales
        .event(event.as_str())
        .await
        .map_err(AdminError::from)?
        .ok_or(AdminError::NotFound("event"))?;
    let list: OfflineList = api
        .booking
        .tickets
        .offline_list(event.as_str())
        .await
        .map_err(AdminError::from)?;
    Ok(([(header::CACHE_CONTROL, "private, no-store")], Json(list)))
}

/// `POST /api/v1/admin/tickets/{ticket}/reissue`: revokes a lost ticket
/// and issues its replacement (operators; audited).
#[utoipa::path(
    post,
    path = "/api/v1/admin/tickets/{ticket}/reissue",
    operation_id = "reissueTicket",
    tag = "admin",
    summary = "Revoke a lost ticket and issue its replacement",
    description = "Needs the `operator` role. Audited as `ticket.reissue`.",
    params(
        ("ticket" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Ticket id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The new ticket.", body = booking::db::TicketRecord),
        (status = 400, description = "`invalid_id`: the ticket id is malformed.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such ticket.", body = schemas::Error),
        (status = 409, description = "`conflict`: the ticket was used, revoked or reissued meanwhile.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn reissue(
    State(api): State<AdminApi>,
    OperatorRole(actor): OperatorRole,
    Path(raw): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = booking::http_path_id("ticket", &raw).map_err(AdminError::from)?;
    let new = api
        .booking
        .tickets
        .reissue_ticket(&id)
        .await
        .map_err(AdminError::from)?;
    let target = format!("ticket:{id}");
    let after = json!({"ticket": new.id, "reference": new.reference});
    audit::record(&api, &actor, "ticket.reissue", &target, None, Some(after)).await?;
    Ok(Json(new))
}
