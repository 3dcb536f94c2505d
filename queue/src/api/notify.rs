//! `POST /api/v1/queue/{event}/notify`: "email me when it's my turn".

use super::fan::missing_credential;
use super::{json_object, ApiError, BodyError, EventPath, QueueApi, VisitorCredentials};
use crate::api::schemas;
use crate::engine::contact;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifyRequest {
    email: String,
    #[serde(default)]
    lang: Option<String>,
}

/// `POST /api/v1/queue/{event}/notify`
#[utoipa::path(
    post,
    path = "/api/v1/queue/{event}/notify",
    operation_id = "notifyMyTurn",
    tag = "queue",
    summary = "Email me when it's my turn",
    description = "Keeps an email address for the holder of the visitor credential; when a tick admits them, the booking service sends one \"it's your turn\" email (through its outbox) in `lang` (en, fr, de, es, ja; others fall back to English), with a link back to the waiting page, which still holds the place in the browser that has the cookie. Sending again replaces the address.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    request_body(content = schemas::TurnContact),
    security(("queueToken" = [])),
    responses(
        (status = 200, description = "Kept.", body = schemas::TurnContact),
        (status = 400, description = "`invalid_json`, or `invalid_id` (the event id is malformed).", body = schemas::Error),
        (status = 401, description = "`credential_required` or a refused credential: `credential_too_long`, `credential_malformed`, `credential_unknown_key`, `credential_invalid`, `credential_wrong_event`.", body = schemas::Error),
        (status = 404, description = "`unknown_event` or `not_joined` (the credential has no place; join first).", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `email`, `lang`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::QueueUnavailable),
    )
)]
pub async fn notify(
    State(api): State<Arc<QueueApi>>,
    EventPath(event): EventPath,
    creds: VisitorCredentials,
    payload: Bytes,
) -> Result<Response, ApiError> {
    let token = creds.for_event(&event).ok_or_else(missing_credential)?;
    let req: NotifyRequest = json_object(&payload).map_err(|e| match e {
        BodyError::Syntax(e) => ApiError::invalid_json(e),
        BodyError::Shape(why) => {
            ApiError::of(super::ErrorCode::ValidationFailed, why).field("body")
        }
    })?;
    let contact = contact::check(&req.email, req.lang.as_deref())?;
    api.engine.set_contact(&event, token, &contact).await?;
    let mut resp = Json(contact).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
