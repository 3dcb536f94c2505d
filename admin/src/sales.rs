//! An event after its creation: details, edits, publishing, cancelling
//! (which closes its queue and refunds every buyer through booking), the
//! sales summary and the CSV export of its orders.

use crate::auth::{OperatorRole, Viewer};
use crate::error::AdminError;
use crate::{audit, parse_json, AdminApi};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use booking::db::{EventChanges, EventRecord, SalesSummary};
use queue::api::{event_id, ApiError};
use queue::QueueState;
use serde::Deserialize;
use serde_json::json;

/// Longest cancellation reason (it goes into every buyer's email).
const MAX_REASON: usize = 500;

/// `PATCH /api/v1/admin/events/{event}` body; absent fields stay.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventPatch {
    name: Option<String>,
    description: Option<String>,
    /// RFC 3339.
    starts_at: Option<String>,
}

/// `POST /api/v1/admin/events/{event}/cancel` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelRequest {
    /// The event id typed again: cancelling refunds every buyer and cannot
    /// be undone, so a script or a slip of the mouse must not do it.
    confirm: String,
    #[serde(default)]
    reason: String,
}

/// Checks a required text field's length.
pub(crate) fn check_len(field: &'static str, v: &str, max: usize) -> Result<(), AdminError> {
    if v.trim().is_empty() || v.len() > max {
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
        .db
        .catalog()
        .event(event.as_str())
        .await
        .map_err(AdminError::from)?
        .ok_or(AdminError::NotFound("event"))?)
}

async fn with_sales(api: &AdminApi, raw: &str) -> Result<(EventRecord, SalesSummary), ApiError> {
    let event = existing(api, raw).await?;
    let summary = api
        .booking
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
        .db
        .sales()
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
pub async fn show(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (event, summary) = with_sales(&api, &raw).await?;
    Ok(Json(json!({"event": event, "sales": summary})))
}

/// `PATCH /api/v1/admin/events/{event}`: name, description, date.
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
    if patch.description.as_ref().is_some_and(|d| d.len() > 5_000) {
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
    };
    let after = api
        .booking
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
        .sales_summary(&event.id)
        .await
        .map_err(AdminError::from)?;
    api.booking
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
pub async fn publish(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    Path(raw): Path<String>,
) -> Result<Json<EventRecord>, ApiError> {
    let before = existing(&api, &raw).await?;
    let after = api
        .booking
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
    let reason = req.reason.trim();
    if reason.len() > MAX_REASON || reason.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "reason",
            format!("must be one line of at most {MAX_REASON} characters"),
        )
        .into());
    }
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
pub async fn orders_csv(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let event = existing(&api, &raw).await?;
    let booking = api.booking.clone();
    let id = event.id.clone();
    let pages = futures::stream::unfold(Page::Header, move |page| {
        let (booking, id) = (booking.clone(), id.clone());
        async move {
            let cursor = match page {
                Page::Header => {
                    let header = booking::sales::CSV_HEADER.to_owned();
                    return Some((Ok(header), Page::After(None)));
                }
                Page::After(cursor) => cursor,
                Page::Done => return None,
            };
            match booking.export_page(&id, cursor.as_ref()).await {
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
    let mut resp = Body::from_stream(pages).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!("attachment; filename=\"{}-orders.csv\"", event.id);
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
