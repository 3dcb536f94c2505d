//! Creating events with their seat maps, through the booking service's
//! catalog repository (one transaction: venue, event, tiers, sections,
//! seats). What happens to an event afterwards is in `sales`.

use crate::auth::OperatorRole;
use crate::error::AdminError;
use crate::event_fields::{check_category, check_city};
use crate::sales::{check_len, rfc3339};
use crate::seat_map;
use crate::{audit, parse_json, AdminApi};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use booking::db::CatalogSeed;
use queue::api::schemas;
use queue::api::ApiError;
use serde::Deserialize;
use serde_json::json;

/// `POST /api/v1/admin/events` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEvent {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
    venue: String,
    #[serde(default)]
    city: String,
    /// One of `booking::db::CATEGORIES`; `other` when absent.
    category: Option<String>,
    /// RFC 3339.
    starts_at: String,
    currency: String,
    /// `draft` (default) or `published`.
    status: Option<String>,
    /// The seat map as JSON …
    seat_map: Option<serde_json::Value>,
    /// … or as CSV text (`section,row,seats,tier,price`).
    seat_map_csv: Option<String>,
}

/// `POST /api/v1/admin/events`: creates an event with its seat map.
#[utoipa::path(
    post,
    path = "/api/v1/admin/events",
    operation_id = "createEvent",
    tag = "admin",
    summary = "Create an event with its seat map",
    description = "Needs the `operator` role. Creates the catalog entry only; the waiting room is configured with `PUT /api/v1/admin/events/{event}/queue`.",
    request_body(content = schemas::NewEvent),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 201, description = "A summary of what was created.", body = schemas::CreatedEvent),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 409, description = "`conflict`: an event with this id exists.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `name`, `venue`, `city`, `category`, `starts_at`, `currency`, `status`, `seat_map` (names each bad CSV line or JSON entry); `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn create(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: NewEvent = parse_json(&body)?;
    let event = queue::api::event_id(&req.id)?;
    check_len("name", &req.name, 200)?;
    check_len("venue", &req.venue, 200)?;
    let starts_at = rfc3339("starts_at", &req.starts_at)?;
    if req.currency.len() != 3 || !req.currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(AdminError::invalid("currency", "must be a 3-letter ISO code").into());
    }
    let currency = req.currency.to_ascii_lowercase();
    let status = req.status.unwrap_or_else(|| "draft".to_owned());
    if !matches!(status.as_str(), "draft" | "published") {
        return Err(AdminError::invalid("status", "must be draft or published").into());
    }
    let category = check_category(req.category.as_deref().unwrap_or("other"))?;
    let city = check_city(&req.city)?;
    let map = seat_map::from_either(req.seat_map, req.seat_map_csv)?;
    let seed = CatalogSeed {
        venue: req.venue,
        city,
        category,
        event_id: event.to_string(),
        name: req.name,
        description: req.description,
        starts_at,
        status,
        currency,
        tiers: map.tiers,
        sections: map.sections,
        now: chrono::Utc::now(),
    };
    let created = api
        .booking
        .sales
        .create_event(&seed)
        .await
        .map_err(AdminError::from)?;
    if !created {
        return Err(AdminError::Conflict("an event with this id exists").into());
    }
    let seats = seat_map::places(&seed.sections);
    let after = json!({
        "id": seed.event_id, "name": seed.name, "status": seed.status,
        "starts_at": seed.starts_at, "sections": seed.sections.len(), "places": seats,
    });
    let target = format!("event:{event}");
    audit::record(
        &api,
        &op,
        "event.create",
        &target,
        None,
        Some(after.clone()),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(after)).into_response())
}
