//! `POST /events/{event}/holds`, `GET` and `DELETE /holds/{hold}`.

use super::{path_id, ApiJson};
use crate::admission::Credentials;
use crate::error::{BookingError, Result};
use crate::holds::HoldRequest;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use queue::EventId;

/// Places a hold: 201 with the hold.
pub async fn create(
    State(state): State<AppState>,
    Path(event): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<HoldRequest>,
) -> Result<impl IntoResponse> {
    let event = EventId::parse(&event).map_err(|e| BookingError::InvalidId {
        field: "event",
        message: e.to_string(),
    })?;
    let creds = Credentials::from_headers(&headers);
    let hold = state.place_hold(&event, &creds, &req).await?;
    Ok((StatusCode::CREATED, Json(hold)))
}

/// The caller's own hold.
pub async fn show(
    State(state): State<AppState>,
    Path(hold): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse> {
    let id = path_id("hold", &hold)?;
    let creds = Credentials::from_headers(&headers);
    Ok(Json(state.hold_for_owner(&id, &creds).await?))
}

/// Releases the caller's own hold: 204.
pub async fn release(
    State(state): State<AppState>,
    Path(hold): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse> {
    let id = path_id("hold", &hold)?;
    let creds = Credentials::from_headers(&headers);
    state.release_hold(&id, &creds).await?;
    Ok(StatusCode::NO_CONTENT)
}
