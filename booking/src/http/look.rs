//! An event's look for the fan pages: `GET /events/{event}/look` (text
//! fields and the logo's URL) and `GET /events/{event}/logo` (the image,
//! from our own origin so the pages' `img-src 'self'` holds).

use super::path_id;
use crate::error::{BookingError, Result};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use queue::api::schemas;

/// `GET /api/v1/events/{event}/look`.
#[utoipa::path(
    get,
    path = "/api/v1/events/{event}/look",
    operation_id = "getEventLook",
    tag = "booking",
    summary = "The event's look on the fan pages",
    description = "Display name, accent colour, short message and logo URL set by operators; each is null when unset (pages keep their defaults). Plain text: pages render it as text. Cached 30 s.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Event id (catalog)."),
    ),
    responses(
        (status = 200, description = "The look.", body = schemas::EventLook),
        (status = 400, description = "`invalid_id`.", body = schemas::Error),
        (status = 404, description = "`not_found`: no event with this id.", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn look(State(state): State<AppState>, Path(event): Path<String>) -> Result<Response> {
    let id = path_id("event", &event)?;
    let look = state.looks().look(&id).await?;
    let body = crate::look::public_json(&id, look.as_ref());
    Ok(([(header::CACHE_CONTROL, "public, max-age=30")], Json(body)).into_response())
}

/// `GET /api/v1/events/{event}/logo`.
#[utoipa::path(
    get,
    path = "/api/v1/events/{event}/logo",
    operation_id = "getEventLogo",
    tag = "booking",
    summary = "The event's logo",
    description = "PNG, JPEG or WebP as uploaded (its type was sniffed from its bytes). The look's `logo_url` carries a version, so the image is cached for a day.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Event id (catalog)."),
        ("v" = Option<String>, Query, description = "Cache buster from `logo_url`; ignored."),
    ),
    responses(
        (status = 200, description = "The image.", content_type = "image/png", body = String),
        (status = 400, description = "`invalid_id`.", body = schemas::Error),
        (status = 404, description = "`not_found`: the event has no logo.", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn logo(State(state): State<AppState>, Path(event): Path<String>) -> Result<Response> {
    let id = path_id("event", &event)?;
    let logo = state
        .looks()
        .logo(&id)
        .await?
        .ok_or(BookingError::NotFound("logo"))?;
    let etag = format!("\"{}\"", logo.sha256);
    Ok((
        [
            (header::CONTENT_TYPE, logo.content_type),
            (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
            (header::ETAG, etag),
            // An image never becomes a page, whatever its bytes say.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_owned(),
            ),
        ],
        logo.bytes,
    )
        .into_response())
}
