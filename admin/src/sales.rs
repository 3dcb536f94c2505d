//! An event after its creation: details, edits, publishing, cancelling
//! (which closes its queue and refunds every buyer through booking), the
//! sales summary and the CSV export of its orders.

use crate::auth::{OperatorRole, Viewer};
use crate::error::AdminError;
use crate::event_fields::{check_category, check_city};
use crate::{audit, parse_json, AdminApi};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use booking::db::{EventChanges, EventRecord, SalesSummary};
use queue::api::schemas;
use queue::api::{event_id, ApiError};
use queue::QueueState;
use serde::Deserialize;
use serde_json::json;

/// Longest cancellation reason (it goes into every buyer's email).
const MAX_REASON: usize = 500;

/// `PATCH /api/v1/admin/events/{event}` body; absent fields stay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EventPatch {
    #[schema(schema_with = queue::api::schemas::fields::text_200_or_null)]
    name: Option<String>,
    #[schema(schema_with = queue::api::schemas::fields::long_text_or_null)]
    description: Option<String>,
    #[schema(schema_with = queue::api::schemas::fields::date_time_or_null)]
    starts_at: Option<String>,
    /// One of the catalog's categories.
    #[schema(schema_with = crate::event_fields::category_or_null)]
    category: Option<String>,
    /// Where the event takes place: at most 100 characters.
    #[schema(schema_with = crate::event_fields::city_or_null)]
    city: Option<String>,
}

/// `POST /api/v1/admin/events/{event}/cancel` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CancelEventRequest)]
struct CancelRequest {
    /// The event id typed again: cancelling refunds every buyer and cannot
    /// be undone, so a script or a slip of the mouse must not do it.
    #[schema(schema_with = queue::api::schemas::fields::event_confirmation)]
    confirm: String,
    #[serde(default)]
    #[schema(schema_with = queue::api::schemas::fields::line_500)]
    reason: String,
}

/// Checks a required text field: 1 to `max` characters as sent, not all
/// whitespace (the API document's `minLength`/`maxLength`/`\S`).
pub(crate) fn check_len(field: &'static str, v: &str, max: usize) -> Result<(), AdminError> {
    if v.trim().is_empty() || v.chars().count() > max {
        return Err(AdminError::invalid(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(())
}

/// Parses an RFC 3339 time field.
pub(crate) fn rfc3339(
    field: &'static str,
    v: &str,
) -> Result<chrono::DateTime<chrono::Utc>, AdminError> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| AdminError::invalid(field, "must be an RFC 3339 time"))
}

fn event_json(e: &EventRecord) -> serde_json::Value {
    serde_json::to_value(e).unwrap_or(serde_json::Value::Null)
}

async fn record(
    api: &AdminApi,
    op: &crate::Actor,
    action: &str,
    event: &str,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
) -> Result<(), AdminError> {
    let target = format!("event:{event}");
    audit::record(api, op, action, &target, before, Some(after)).await
}

async fn existing(api: &AdminApi, raw: &str) -> Result<EventRecord, ApiError> {
    let event = event_id(raw)?;
    Ok(api
        .booking
        .sales
        .event(event.as_str())
        .await
        .map_err(AdminError::from)?
        .ok_or(AdminError::NotFound("event"))?)
}

async fn with_sales(api: &AdminApi, raw: &str) -> Result<(EventRecord, SalesSummary), ApiError> {
    let event = existing(api, raw).await?;
    let summary = api
        .booking
        .sales
        .sales_summary(&event.id)
        .await
        .map_err(AdminError::from)?;
    Ok((event, summary))
}

/// Most events `GET /api/v1/admin/events` lists from the catalog.
const LIST_LIMIT: i64 = 1_000;

/// `GET /api/v1/admin/events`: every event operators can act on, by id:
/// its catalog record (`null` for a queue sold elsewhere) and its queue
/// settings (`null` until a queue is created).
#[utoipa::path(
    get,
    path = "/api/v1/admin/events",
    operation_id = "listAdminEvents",
    tag = "admin",
    summary = "Every event: its catalog record and its queue settings",
    description = "Needs the `viewer` role. One entry per event id found in the booking catalog (any status, at most 1,000, latest date first) or in the queue store, sorted by id.",
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "One entry per event id.", body = Vec<schemas::AdminEventEntry>),
        (status = 503, response = schemas::QueueUnavailable),
        schemas::AdminErrors,
    )
)]
pub async fn list(
    State(api): State<AdminApi>,
    _viewer: Viewer,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let store = api.engine.store();
    let mut rows: std::collections::BTreeMap<String, (Option<EventRecord>, serde_json::Value)> =
        std::collections::BTreeMap::new();
    for event in store.events().await? {
        if let Some(settings) = store.settings(&event).await? {
            let queue = serde_json::to_value(settings).unwrap_or_default();
            rows.entry(event.to_string()).or_default().1 = queue;
        }
    }
    let catalog = api
        .booking
        .sales
        .all_events(LIST_LIMIT)
        .await
        .map_err(AdminError::from)?;
    for record in catalog {
        let id = record.id.clone();
        rows.entry(id).or_default().0 = Some(record);
    }
    let list = rows
        .into_iter()
        .map(|(id, (catalog, queue))| json!({"event": id, "catalog": catalog, "queue": queue}))
        .collect();
    Ok(Json(list))
}

/// `GET /api/v1/admin/events/{event}`: the event and its sales summary.
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{event}",
    operation_id = "getAdminEvent",
    tag = "admin",
    summary = "The event (any status) and its sales summary",
    description = "Needs the `viewer` role.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "Event and summary.", body = schemas::EventWithSales),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn show(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (event, summary) = with_sales(&api, &raw).await?;
    Ok(Json(json!({"event": event, "sales": summary})))
}

/// `PATCH /api/v1/admin/events/{event}`: name, description, date,
/// category, city.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/events/{event}",
    operation_id = "editEvent",
    tag = "admin",
    summary = "Change an event's name, description, date, category or city",
    description = "Needs the `operator` role.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    request_body(content = EventPatch),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The event.", body = schemas::Event),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        (status = 409, description = "`event_cancelled`: a cancelled event can no longer be changed.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `name`, `description`, `starts_at`, `category`, `city`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn edit(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<EventRecord>, ApiError> {
    let before = existing(&api, &raw).await?;
    let patch: EventPatch = parse_json(&body)?;
    if let Some(name) = &patch.name {
        check_len("name", name, 200)?;
    }
    if patch
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 5_000)
    {
        return Err(AdminError::invalid("description", "must be at most 5000 characters").into());
    }
    let changes = EventChanges {
        name: patch.name,
        description: patch.description,
        starts_at: patch
            .starts_at
            .as_deref()
            .map(|t| rfc3339("starts_at", t))
            .transpose()?,
        category: patch.category.as_deref().map(check_category).transpose()?,
        city: patch.city.as_deref().map(check_city).transpose()?,
    };
    let after = api
        .booking
        .sales
        .update_event(&before.id, &changes)
        .await
        .map_err(AdminError::from)?;
    let b = Some(event_json(&before));
    record(&api, &op, "event.edit", &after.id, b, event_json(&after)).await?;
    Ok(Json(after))
}

/// `PUT /api/v1/admin/events/{event}/seat-map` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSeatMap {
    seat_map: Option<serde_json::Value>,
    seat_map_csv: Option<String>,
}

/// `PUT /api/v1/admin/events/{event}/seat-map`: replaces a draft's seat
/// map (JSON or CSV, validated like at creation); 409 once on sale.
#[utoipa::path(
    put,
    path = "/api/v1/admin/events/{event}/seat-map",
    operation_id = "replaceSeatMap",
    tag = "admin",
    summary = "Replace a draft's seat map",
    description = "Needs the `operator` role. Send exactly one of `seat_map` (JSON) or `seat_map_csv` (header `section,row,seats,tier,price`), validated as at creation. Only a draft's seat map can be replaced: once on sale, fans may hold its seats.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    request_body(content = schemas::SeatMapReplacement),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The new map's size.", body = schemas::ReplacedSeatMap),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        (status = 409, description = "`not_a_draft`.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `seat_map` (names each bad CSV line or JSON entry); `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn replace_seat_map(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let event = existing(&api, &raw).await?;
    let req: NewSeatMap = parse_json(&body)?;
    let map = crate::seat_map::from_either(req.seat_map, req.seat_map_csv)?;
    let before = api
        .booking
        .sales
        .sales_summary(&event.id)
        .await
        .map_err(AdminError::from)?;
    api.booking
        .sales
        .replace_seat_map(&event.id, &map.tiers, &map.sections)
        .await
        .map_err(AdminError::from)?;
    let places = crate::seat_map::places(&map.sections);
    let after = json!({"id": event.id, "sections": map.sections.len(), "places": places});
    let b = Some(json!({"places": before.capacity}));
    record(&api, &op, "event.seat_map", &event.id, b, after.clone()).await?;
    Ok(Json(after))
}

/// `POST /api/v1/admin/events/{event}/publish`: a draft goes on sale.
#[utoipa::path(
    post,
    path = "/api/v1/admin/events/{event}/publish",
    operation_id = "publishEvent",
    tag = "admin",
    summary = "Put a draft on sale",
    description = "Needs the `operator` role. No request body.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The event, now published.", body = schemas::Event),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        (status = 409, description = "`not_a_draft`.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn publish(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    Path(raw): Path<String>,
) -> Result<Json<EventRecord>, ApiError> {
    let before = existing(&api, &raw).await?;
    let after = api
        .booking
        .sales
        .publish_event(&before.id)
        .await
        .map_err(AdminError::from)?;
    let b = Some(event_json(&before));
    record(&api, &op, "event.publish", &after.id, b, event_json(&after)).await?;
    Ok(Json(after))
}

/// `POST /api/v1/admin/events/{event}/cancel`: closes the queue, releases
/// holds, cancels unpaid orders, refunds and emails every buyer. Calling
/// it again retries what failed (a refund the provider refused).
#[utoipa::path(
    post,
    path = "/api/v1/admin/events/{event}/cancel",
    operation_id = "cancelEvent",
    tag = "admin",
    summary = "Cancel a sale: close the queue, release holds, refund and email every buyer",
    description = "Needs the `operator` role. Calling it again retries what failed (a refund the provider refused).",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    request_body(content = CancelRequest),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "What the cancellation did.", body = schemas::EventCancelled),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `confirm`, `reason`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 503, response = schemas::QueueUnavailable),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn cancel(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let before = existing(&api, &raw).await?;
    let req: CancelRequest = parse_json(&body)?;
    if req.confirm != before.id {
        return Err(AdminError::invalid("confirm", "must repeat the event id").into());
    }
    if req.reason.chars().count() > MAX_REASON || req.reason.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "reason",
            format!("must be one line of at most {MAX_REASON} characters"),
        )
        .into());
    }
    let reason = req.reason.trim();
    let event = event_id(&before.id)?;
    // Close the queue first, so no one else is admitted meanwhile; an
    // event sold without a queue has none to close.
    if api.engine.ensure_event(&event).await?.is_some() {
        crate::queue_settings::update(&api, &op.label, "queue.close", &event, None, false, |cur| {
            let mut s = cur.cloned().unwrap_or_default();
            s.state = QueueState::Closed;
            // The scheduler must not reopen it.
            (s.policy.prequeue_at, s.policy.opens_at, s.policy.closes_at) = (None, None, None);
            Ok(s)
        })
        .await?;
    }
    let report = api
        .booking
        .sales
        .cancel_event(&before.id, reason)
        .await
        .map_err(AdminError::from)?;
    let after = json!({"status": "cancelled", "reason": reason, "report": report});
    record(
        &api,
        &op,
        "event.cancel",
        &before.id,
        Some(event_json(&before)),
        after.clone(),
    )
    .await?;
    Ok(Json(after))
}

/// `GET /api/v1/admin/events/{event}/report`: the sales summary.
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{event}/report",
    operation_id = "salesReport",
    tag = "admin",
    summary = "The sales summary",
    description = "Needs the `viewer` role.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The report.", body = schemas::SalesReport),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn report(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (event, summary) = with_sales(&api, &raw).await?;
    Ok(Json(json!({
        "event": event.id, "name": event.name, "status": event.status,
        "generated_at": chrono::Utc::now(), "sales": summary,
    })))
}

/// Where the CSV stream is.
enum Page {
    Header,
    After(Option<booking::db::ExportCursor>),
    Done,
}

/// `GET /api/v1/admin/events/{event}/orders.csv`: every order, streamed a
/// page at a time so a large sale does not sit in memory.
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{event}/orders.csv",
    operation_id = "exportOrders",
    tag = "admin",
    summary = "Every order of the event as CSV (streamed)",
    description = "Needs the `viewer` role.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "CSV with the header `order_id,reference,status,email,created_at,confirmed_at,places,items,total,refunded,currency,provider,provider_ref`. A failure mid-stream cuts the body short.", content_type = "text/csv", body = String),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn orders_csv(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let event = existing(&api, &raw).await?;
    let sales = api.booking.sales.clone();
    let id = event.id.clone();
    let pages = futures::stream::unfold(Page::Header, move |page| {
        let (sales, id) = (sales.clone(), id.clone());
        async move {
            let cursor = match page {
                Page::Header => {
                    let header = booking::sales::CSV_HEADER.to_owned();
                    return Some((Ok(header), Page::After(None)));
                }
                Page::After(cursor) => cursor,
                Page::Done => return None,
            };
            match sales.export_page(&id, cursor.as_ref()).await {
                Ok((rows, Some(next))) => Some((Ok(rows), Page::After(Some(next)))),
                Ok((rows, None)) => Some((Ok(rows), Page::Done)),
                Err(e) => {
                    // The headers are sent: cutting the body short is the
                    // only way left to say the file is incomplete.
                    tracing::error!(event = %id, error = %e, "order export failed");
                    Some((Err(std::io::Error::other(e.to_string())), Page::Done))
                }
            }
        }
    });
    let file = format!("{}-orders.csv", event.id);
    Ok(csv_download(Body::from_stream(pages), &file))
}

/// `body` as a CSV attachment named `file`, never cached.
pub(crate) fn csv_download(body: Body, file: &str) -> Response {
    let mut resp = body.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!("attachment; filename=\"{file}\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
