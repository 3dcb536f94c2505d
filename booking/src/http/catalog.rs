//! `GET /events`, `GET /events/{event}`, `GET /events/{event}/seats`.

use super::path_id;
use crate::db::{EventQuery, EventRecord};
use crate::error::{BookingError, Result};
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use queue::api::schemas;
use serde_json::json;
use std::collections::HashMap;

const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;

fn parse_time(field: &'static str, raw: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    // Exactly YYYY-MM-DD (chrono would take longer years too).
    Some(raw)
        .filter(|r| r.len() == 10)
        .and_then(|r| NaiveDate::parse_from_str(r, "%Y-%m-%d").ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| BookingError::validation(field, "expected RFC 3339 or YYYY-MM-DD"))
}

fn encode_cursor(e: &EventRecord) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", e.starts_at.timestamp_micros(), e.id))
}

fn decode_cursor(raw: &str) -> Result<(DateTime<Utc>, String)> {
    let bad = || BookingError::validation("cursor", "is not a cursor from a previous page");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (micros, id) = text.split_once('|').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    Ok((at, id.to_owned()))
}

fn like_pattern(q: &str) -> String {
    let escaped = q
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `GET /api/v1/events?limit&cursor&from&to&q`: published events by date,
/// keyset-paginated (`next_cursor` is null on the last page).
#[utoipa::path(
    get,
    path = "/api/v1/events",
    operation_id = "listEvents",
    tag = "booking",
    summary = "Published events by date (keyset-paginated)",
    params(
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 100, description = "1 to 100; default 20."),
        ("cursor" = Option<schemas::Cursor>, Query, description = "Opaque: the `next_cursor` of the previous page, passed back unchanged. No schema describes which values are valid; any other value is refused (422, `field` `cursor`)."),
        ("from" = Option<schemas::DateOrTime>, Query, description = "Events starting at or after this time (RFC 3339 or YYYY-MM-DD)."),
        ("to" = Option<schemas::DateOrTime>, Query, description = "Events starting before this time (RFC 3339 or YYYY-MM-DD)."),
        ("q" = Option<String>, Query, max_length = 100, description = "Case-insensitive name search, at most 100 characters."),
    ),
    responses(
        (status = 200, description = "A page of events; `next_cursor` is null on the last page.", body = schemas::EventList),
        (status = 422, description = "`validation_failed` naming `limit`, `q`, `cursor`, `from`, `to` or `query` in `error.field`.", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    query: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<impl IntoResponse> {
    let Query(params) = query.map_err(|e| BookingError::validation("query", e.body_text()))?;
    let limit = match params.get("limit") {
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| BookingError::validation("limit", "must be 1 to 100"))?,
        None => DEFAULT_LIMIT,
    };
    let q = match params.get("q") {
        Some(s) if s.chars().count() > 100 => {
            return Err(BookingError::validation("q", "at most 100 characters"))
        }
        Some(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(like_pattern),
        None => None,
    };
    let query = EventQuery {
        limit: limit + 1,
        after: params.get("cursor").map(|c| decode_cursor(c)).transpose()?,
        from: params
            .get("from")
            .map(|t| parse_time("from", t))
            .transpose()?,
        to: params.get("to").map(|t| parse_time("to", t)).transpose()?,
        name_like: q,
    };
    let mut events = state.catalog().list_events(&query).await?;
    let next = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        events.last().map(encode_cursor)
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
