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
use queue::api::{event_id, ApiError};
use serde_json::json;

/// `POST /api/v1/checkin`: `{ticket, gate, event?}` → 200 with the result
/// (valid / already_used / invalid / wrong_event).
pub async fn check_in(
    State(api): State<AdminApi>,
    body: Bytes,
) -> Result<Json<CheckinResult>, ApiError> {
    let req: CheckinRequest = parse_json(&body)?;
    Ok(Json(
        api.booking.check_in(&req).await.map_err(AdminError::from)?,
    ))
}

/// `POST /api/v1/checkin/sync`: a scanner's offline scans, in order.
pub async fn sync(State(api): State<AdminApi>, body: Bytes) -> Result<Json<SyncResult>, ApiError> {
    let req: SyncRequest = parse_json(&body)?;
    Ok(Json(
        api.booking
            .sync_scans(&req)
            .await
            .map_err(AdminError::from)?,
    ))
}

/// `GET /api/v1/checkin/offline/{event}`: ticket keys and every ticket's
/// status, for a scanner to keep deciding while offline.
pub async fn offline(
    State(api): State<AdminApi>,
    Path(raw): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let event = event_id(&raw)?;
    api.booking
        .db
        .catalog()
        .event(event.as_str())
        .await
        .map_err(AdminError::from)?
        .ok_or(AdminError::NotFound("event"))?;
    let list: OfflineList = api
        .booking
        .offline_list(event.as_str())
        .await
        .map_err(AdminError::from)?;
    Ok(([(header::CACHE_CONTROL, "private, no-store")], Json(list)))
}

/// `POST /api/v1/admin/tickets/{ticket}/reissue`: revokes a lost ticket
/// and issues its replacement (operators; audited).
pub async fn reissue(
    State(api): State<AdminApi>,
    OperatorRole(actor): OperatorRole,
    Path(raw): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = booking::http_path_id("ticket", &raw).map_err(AdminError::from)?;
    let new = api
        .booking
        .reissue_ticket(&id)
        .await
        .map_err(AdminError::from)?;
    let target = format!("ticket:{id}");
    let after = json!({"ticket": new.id, "reference": new.reference});
    audit::record(&api, &actor, "ticket.reissue", &target, None, Some(after)).await?;
    Ok(Json(new))
}
