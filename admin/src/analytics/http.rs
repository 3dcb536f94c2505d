//! `GET /api/v1/admin/events/{event}/analytics` (JSON) and
//! `…/analytics.csv`: the stored minutes of any range of a sale.

use super::report::{self, Report};
use crate::auth::Viewer;
use crate::error::AdminError;
use crate::AdminApi;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Json;
use queue::api::{schemas, ApiError, EventPath};
use serde::{Deserialize, Serialize};

/// The longest range one request may cover (about a month of minutes).
const MAX_RANGE_MS: i64 = 31 * 24 * 60 * 60_000;

/// Query of both routes; absent bounds are the sale's first and last
/// stored minute.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// RFC 3339 or ms since the epoch.
    from: Option<String>,
    /// RFC 3339 or ms since the epoch (inclusive).
    to: Option<String>,
}

/// The JSON answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Analytics {
    event: String,
    /// Start of the first minute covered (ms).
    from: i64,
    /// Start of the last minute covered (ms).
    to: i64,
    /// The sale's currency (lowercase ISO code) when booking sells it.
    currency: Option<String>,
    #[serde(flatten)]
    #[schema(inline)]
    report: Report,
}

/// Latest time a bound may name (the end of year 9999, in ms); later
/// millisecond values are read as it.
const LATEST_MS: i64 = 253_402_300_799_999;

/// A bound: up to 15 digits of ms since the epoch, or an RFC 3339 time.
fn time(field: &'static str, raw: &str) -> Result<i64, AdminError> {
    if !raw.is_empty() && raw.len() <= 15 && raw.bytes().all(|b| b.is_ascii_digit()) {
        let ms = raw.parse::<i64>().unwrap_or(LATEST_MS);
        return Ok(ms.min(LATEST_MS));
    }
    Ok(crate::sales::rfc3339(field, raw)?
        .timestamp_millis()
        .clamp(0, LATEST_MS))
}

async fn load(
    api: &AdminApi,
    event: &queue::EventId,
    q: Result<Query<RangeQuery>, QueryRejection>,
) -> Result<Analytics, ApiError> {
    let Query(q) = q.map_err(|e| AdminError::invalid("query", e.body_text()))?;
    let minutes = api.db.sale_minutes();
    let span = minutes.span(event.as_str()).await?;
    if span.is_none() {
        // No minute yet: an event that exists has an empty report.
        let queued = api.engine.store().settings(event).await?.is_some();
        let catalog = api.booking.sales.event(event.as_str()).await;
        if !queued && catalog.map_err(AdminError::from)?.is_none() {
            return Err(AdminError::NotFound("event").into());
        }
    }
    let (first, last) = span.unwrap_or((0, 0));
    let from = q.from.as_deref().map(|v| time("from", v)).transpose()?;
    let to = q.to.as_deref().map(|v| time("to", v)).transpose()?;
    let (mut from, to) = (from.unwrap_or(first), to.unwrap_or(last));
    // A longer range is cut to the 31 days that end at `to`; one that ends
    // before it starts is empty.
    from = from.max(to.saturating_sub(MAX_RANGE_MS));
    // Whole minutes: a bound inside a minute covers that minute.
    let from = from - from.rem_euclid(60_000);
    let (base, rows) = minutes.range(event.as_str(), from, to).await?;
    let currency = match api.booking.sales.sales_summary(event.as_str()).await {
        Ok(s) => Some(s.currency),
        Err(booking::BookingError::NotFound(_)) => None,
        Err(e) => return Err(AdminError::from(e).into()),
    };
    Ok(Analytics {
        event: event.to_string(),
        from,
        to: to - to.rem_euclid(60_000),
        currency,
        report: report::build(base.as_ref(), &rows),
    })
}

/// `GET /api/v1/admin/events/{event}/analytics?from=&to=` (viewer and up).
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{event}/analytics",
    operation_id = "saleAnalytics",
    tag = "admin",
    summary = "The sale's stored per-minute figures, waits and conversion over a range",
    description = "Needs the `viewer` role. Every process adds the ticks it saw once (a watermark in the database), so the figures are summed over every process and survive restarts.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
        ("from" = Option<schemas::TimeOrMillis>, Query, description = "Start of the range: RFC 3339, or ms since the epoch (up to 15 digits; later than year 9999 reads as its end). Default: the sale's first stored minute. A range longer than 31 days is cut to the 31 days that end at `to`."),
        ("to" = Option<schemas::TimeOrMillis>, Query, description = "End of the range (inclusive), as `from`. Default: the last stored minute. Before `from`: an empty range."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The range's minutes, totals and waits.", body = Analytics),
        (status = 400, description = "`invalid_id`: the event id is malformed.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `from` or `to` (not a time), or `query` (an unknown parameter).", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn json(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    EventPath(event): EventPath,
    q: Result<Query<RangeQuery>, QueryRejection>,
) -> Result<Json<Analytics>, ApiError> {
    Ok(Json(load(&api, &event, q).await?))
}

/// `GET /api/v1/admin/events/{event}/analytics.csv?from=&to=`: one line
/// per stored minute.
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{event}/analytics.csv",
    operation_id = "saleAnalyticsCsv",
    tag = "admin",
    summary = "The sale's stored minutes as CSV",
    description = "Needs the `viewer` role. Same range as the JSON report.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
        ("from" = Option<schemas::TimeOrMillis>, Query, description = "Start of the range: RFC 3339, or ms since the epoch (up to 15 digits; later than year 9999 reads as its end). Default: the sale's first stored minute. A range longer than 31 days is cut to the 31 days that end at `to`."),
        ("to" = Option<schemas::TimeOrMillis>, Query, description = "End of the range (inclusive), as `from`. Default: the last stored minute. Before `from`: an empty range."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "CSV with the header `minute_utc,joins,admitted,departed,waiting,active,rate_limited,captcha_failed,holds,orders,revenue_minor,wait_p50_s,wait_p90_s`.", content_type = "text/csv", body = String),
        (status = 400, description = "`invalid_id`: the event id is malformed.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `from` or `to` (not a time), or `query` (an unknown parameter).", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn csv(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    EventPath(event): EventPath,
    q: Result<Query<RangeQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let a = load(&api, &event, q).await?;
    let mut body = String::from(report::CSV_HEADER);
    for m in &a.report.minutes {
        body.push_str(&report::csv_line(m));
    }
    let file = format!("{event}-analytics.csv");
    Ok(crate::sales::csv_download(body.into(), &file))
}
