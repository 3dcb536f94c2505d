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
use queue::api::schemas;
use queue::EventId;

/// Places a hold: 201 with the hold.
#[utoipa::path(
    post,
    path = "/api/v1/events/{event}/holds",
    operation_id = "createHold",
    tag = "booking",
    summary = "Hold seats (or general-admission places) with an admission token",
    description = "Needs the admission token (`Authorization: Bearer`) presented by the session it was issued to (`X-Queue-Token` or the `wr_queue_{event}` cookie). Give either `seats` or `quantity` (with `pool` when the event has several general-admission pools). The token's first hold consumes it.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    request_body(content = HoldRequest),
    security(("bearerAuth" = [], "queueToken" = [])),
    responses(
        (status = 201, description = "The hold.", body = schemas::Hold),
        (status = 400, description = "`invalid_json` or `invalid_id` (event id).", body = schemas::Error),
        (status = 401, description = "`admission_required` (no bearer token) or a refused token: `token_malformed`, `token_unsupported_algorithm`, `token_unknown_key`, `token_bad_signature`, `token_expired`, `token_not_yet_valid`, `token_wrong_issuer`.", body = schemas::Error),
        (status = 403, description = "`token_wrong_session` (no or another visitor credential), `token_wrong_event`, `token_wrong_audience`.", body = schemas::Error),
        (status = 404, description = "`not_found`: no published event with this id.", body = schemas::Error),
        (status = 409, description = "`token_used` (this token already placed a hold), `seats_unavailable` (the seats that could not be taken are in `error.seats`; empty for general admission), `sale_closed`.", body = schemas::Error),
        (status = 422, description = "`validation_failed` (`error.field` is `body`, `seats`, `quantity` or `pool`) or `too_many_seats`.", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
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
    let hold = state.holds().place_hold(&event, &creds, &req).await?;
    Ok((StatusCode::CREATED, Json(hold)))
}

/// The caller's own hold.
#[utoipa::path(
    get,
    path = "/api/v1/holds/{hold}",
    operation_id = "getHold",
    tag = "booking",
    summary = "Your hold",
    description = "Visible to the session that placed the hold only (`X-Queue-Token` or the `wr_queue_{event}` cookie).",
    params(
        ("hold" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Hold id (`hold_…`)."),
    ),
    security(("queueToken" = [])),
    responses(
        (status = 200, description = "The hold.", body = schemas::Hold),
        (status = 400, description = "`invalid_id`.", body = schemas::Error),
        (status = 403, description = "`forbidden`: the hold belongs to another session (also when no credential is sent).", body = schemas::Error),
        (status = 404, description = "`not_found`.", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Path(hold): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse> {
    let id = path_id("hold", &hold)?;
    let creds = Credentials::from_headers(&headers);
    Ok(Json(state.holds().hold_for_owner(&id, &creds).await?))
}

/// Releases the caller's own hold: 204.
#[utoipa::path(
    delete,
    path = "/api/v1/holds/{hold}",
    operation_id = "releaseHold",
    tag = "booking",
    summary = "Release your hold",
    description = "Visible to the session that placed the hold only (`X-Queue-Token` or the `wr_queue_{event}` cookie). The seats go back on sale and the admitted session ends.",
    params(
        ("hold" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Hold id (`hold_…`)."),
    ),
    security(("queueToken" = [])),
    responses(
        (status = 204, description = "Released."),
        (status = 400, description = "`invalid_id`.", body = schemas::Error),
        (status = 403, description = "`forbidden`: the hold belongs to another session.", body = schemas::Error),
        (status = 404, description = "`not_found`.", body = schemas::Error),
        (status = 409, description = "`hold_not_active`.", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn release(
    State(state): State<AppState>,
    Path(hold): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse> {
    let id = path_id("hold", &hold)?;
    let creds = Credentials::from_headers(&headers);
    state.holds().release_hold(&id, &creds).await?;
    Ok(StatusCode::NO_CONTENT)
}
