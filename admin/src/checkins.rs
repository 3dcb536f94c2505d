//! `GET /api/v1/admin/events/{event}/checkins.csv`: the door's arrivals by
//! minute and gate over the whole event, next to the order export in the
//! dashboard's report.

use crate::auth::Viewer;
use crate::error::AdminError;
use crate::AdminApi;
use axum::extract::{Path, State};
use axum::response::Response;
use booking::tickets::arrivals;
use queue::api::{event_id, schemas, ApiError};

/// Every check-in of the event, one line per minute and gate.
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{event}/checkins.csv",
    operation_id = "exportCheckins",
    tag = "admin",
    summary = "Check-ins per minute and gate as CSV",
    description = "Needs the `viewer` role. Minutes (UTC) with no check-in are left out; the dashboard charts the last hour from the sales summary's `checkins.per_minute`.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "CSV with the header `minute_utc,gate,checked_in`, oldest minute first, gates by name.", content_type = "text/csv", body = String),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn csv(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let event = event_id(&raw)?;
    let booking = &api.booking;
    booking
        .sales
        .event(event.as_str())
        .await
        .map_err(AdminError::from)?
        .ok_or(AdminError::NotFound("event"))?;
    let rows = booking
        .tickets
        .arrivals_by_minute(event.as_str())
        .await
        .map_err(AdminError::from)?;
    let mut body = String::from(arrivals::CSV_HEADER);
    for row in &rows {
        body.push_str(&arrivals::csv_line(row));
    }
    let file = format!("{event}-checkins.csv");
    Ok(crate::sales::csv_download(body.into(), &file))
}
