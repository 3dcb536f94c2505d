//! `GET /events`, `GET /events/{event}`, `GET /events/{event}/seats`.

use super::path_id;
use crate::catalog::search;
use crate::error::{BookingError, Result};
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use queue::api::schemas;
use serde_json::json;
use std::collections::HashMap;

/// `GET /api/v1/events`: published events matching the filters, in the
/// chosen order, keyset-paginated (`next_cursor` is null on the last page).
#[utoipa::path(
    get,
    path = "/api/v1/events",
    operation_id = "listEvents",
    tag = "booking",
    summary = "Find published events: filters, sort orders, keyset pages",
    description = "Filters combine (all must match). `price_from` in each event is its cheapest tier. Every parameter is checked: a bad one is refused with 422 `validation_failed` naming it in `error.field`; unknown parameters are ignored.",
    params(
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 100, description = "1 to 100; default 20."),
        ("cursor" = Option<schemas::Cursor>, Query, description = "Opaque: the `next_cursor` of the previous page, passed back unchanged with the same `sort`. No schema describes which values are valid; any other value, or a cursor of another sort order, is refused (422, `field` `cursor`)."),
        ("sort" = Option<String>, Query, pattern = "^(date|price|popularity)$", description = "`date` (soonest first, the default), `price` (cheapest `price_from` first) or `popularity` (most places sold first); ties by event id."),
        ("category" = Option<String>, Query, pattern = "^(music|sports|theatre|comedy|family|conference|other)?$", description = "Only events of this category (empty: any)."),
        ("city" = Option<String>, Query, max_length = 100, description = "Only events in this city, compared case-insensitively; at most 100 characters (blank: any)."),
        ("from" = Option<schemas::DateOrTime>, Query, description = "Events starting at or after this time (RFC 3339 or YYYY-MM-DD)."),
        ("to" = Option<schemas::DateOrTime>, Query, description = "Events starting before this time (RFC 3339 or YYYY-MM-DD); before `from`, nothing matches."),
        ("min_price" = Option<u64>, Query, minimum = 0, maximum = 1_000_000_000_000_i64, description = "Only events with a price tier at or above this, in minor units (digits only)."),
        ("max_price" = Option<u64>, Query, minimum = 0, maximum = 1_000_000_000_000_i64, description = "Only events with a price tier at or below this, in minor units (digits only); below `min_price`, nothing matches."),
        ("q" = Option<String>, Query, max_length = 100, description = "Case-insensitive search in the name, venue and city, at most 100 characters."),
    ),
    responses(
        (status = 200, description = "A page of events; `next_cursor` is null on the last page.", body = schemas::EventList),
        (status = 422, description = "`validation_failed` naming `limit`, `cursor`, `sort`, `category`, `city`, `from`, `to`, `min_price`, `max_price`, `q` or `query` in `error.field`.", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    query: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<impl IntoResponse> {
    let Query(params) = query.map_err(|e| BookingError::validation("query", e.body_text()))?;
    let (query, limit) = search::parse_query(&params)?;
    let mut events = state.catalog().list_events(&query).await?;
    let next = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        events.last().map(|e| search::encode_cursor(e, query.sort))
    } else {
        None
    };
    Ok(Json(json!({ "events": events, "next_cursor": next })))
}

/// `GET /api/v1/events/{event}`.
#[utoipa::path(
    get,
    path = "/api/v1/events/{event}",
    operation_id = "getEvent",
    tag = "booking",
    summary = "One published event",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Event id (catalog)."),
    ),
    responses(
        (status = 200, description = "The event.", body = schemas::Event),
        (status = 400, description = "`invalid_id`.", body = schemas::Error),
        (status = 404, description = "`not_found`: no published event with this id.", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Path(event): Path<String>,
) -> Result<impl IntoResponse> {
    let id = path_id("event", &event)?;
    Ok(Json(state.catalog().published_event(&id).await?))
}

/// `GET /api/v1/events/{event}/seats`: the seat map with availability,
/// cached ~1 s per event (see `crate::catalog`).
#[utoipa::path(
    get,
    path = "/api/v1/events/{event}/seats",
    operation_id = "getSeatMap",
    tag = "booking",
    summary = "The seat map with availability",
    description = "Cached about one second per event (`Cache-Control: public, max-age=1`).",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Event id (catalog)."),
    ),
    responses(
        (status = 200, description = "Sections, rows, seats with status, general-admission pools.", body = schemas::SeatMap),
        (status = 400, description = "`invalid_id`.", body = schemas::Error),
        (status = 404, description = "`not_found`: no published event with this id.", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn seats(
    State(state): State<AppState>,
    Path(event): Path<String>,
) -> Result<impl IntoResponse> {
    let id = path_id("event", &event)?;
    let ev = state.catalog().published_event(&id).await?;
    let map = state.catalog().seat_map(&ev).await?;
    let mut json = map.json.clone();
    if let Some(obj) = json.as_object_mut() {
        // The page caps the selection with it instead of learning it from a 422.
        obj.insert(
            "max_seats_per_hold".to_owned(),
            state.catalog().seat_limit(&ev.id).await.into(),
        );
    }
    Ok(([(header::CACHE_CONTROL, "public, max-age=1")], Json(json)))
}
