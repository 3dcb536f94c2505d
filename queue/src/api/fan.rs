//! Join, status, room info and the published keys.

use super::status::{status_answer, StatusBody};
use super::{
    credential_cookie, json_object, ApiError, BodyError, ErrorCode, EventPath, JoinBody, QueueApi,
    TokenInBody, VisitorCredentials,
};
use crate::api::schemas;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

/// The join request body. Everything is optional: an empty body joins.
#[derive(Debug, Default, Deserialize)]
pub struct JoinRequest {
    /// CAPTCHA solution, when the event requires one (checked at the edge).
    #[serde(default)]
    #[allow(dead_code)]
    pub captcha: Option<serde_json::Value>,
}

/// `POST /api/v1/queue/{event}/join`
#[utoipa::path(
    post,
    path = "/api/v1/queue/{event}/join",
    operation_id = "joinQueue",
    tag = "queue",
    summary = "Take a place in the event's waiting room, or get yours back",
    description = "Joining without a credential takes a new place (201) and sets the HttpOnly cookie `wr_queue_{event}`; joining again with the same credential (cookie or `X-Queue-Token`) returns the same place (200). When the browser's cookie holds a live place, it wins over an `X-Queue-Token` naming another identity. The body is optional (an empty body joins); when the event's CAPTCHA policy requires it, a new place needs a solution in `captcha` (see `GET /api/v1/queue/{event}/challenge`). With `captcha_failure: infinite_queue`, a join without a valid solution gets an ordinary-looking place that is never admitted.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    request_body(content = Option<schemas::JoinRequest>),
    security((), ("queueToken" = [])),
    responses(
        (status = 200, description = "The place this credential already holds.", body = schemas::QueueStatus, headers(("Set-Cookie" = String, description = "`wr_queue_{event}=<credential>; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400`."))),
        (status = 201, description = "A new place.", body = schemas::QueueStatus, headers(("Set-Cookie" = String, description = "`wr_queue_{event}=<credential>; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400`."))),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 401, description = "The presented credential is refused: `credential_too_long`, `credential_malformed`, `credential_unknown_key`, `credential_invalid`, `credential_wrong_event`.", body = schemas::Error),
        (status = 403, description = "`captcha_required` (the body also carries a fresh `challenge`) or `too_many_places` (the places-per-IP cap, or one place per signed-in account).", body = schemas::JoinRefused),
        (status = 404, description = "`unknown_event`: no waiting room for this event.", body = schemas::Error),
        (status = 409, description = "`queue_closed`: the queue does not accept new visitors in its current state; `sold_out`: the event sold out and its waitlist takes no new arrivals.", body = schemas::Error),
        (status = 413, description = "`payload_too_large`: the join body is over 16 KiB.", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 503, description = "`service_unavailable` (the queue store is reconnecting; retry) or `captcha_unavailable` (the CAPTCHA provider could not be reached and the edge fails closed).", body = schemas::Error, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub async fn join(
    State(api): State<Arc<QueueApi>>,
    EventPath(event): EventPath,
    creds: VisitorCredentials,
    TokenInBody(in_body): TokenInBody,
    JoinBody(payload): JoinBody,
) -> Result<Response, ApiError> {
    // No body, or `null`, joins without a CAPTCHA solution.
    let empty = payload.trim_ascii();
    if !(empty.is_empty() || empty == b"null") {
        json_object::<JoinRequest>(&payload).map_err(|e| match e {
            BodyError::Syntax(e) => ApiError::invalid_json(e),
            BodyError::Shape(why) => ApiError::invalid_json(why),
        })?;
    }
    let status = api.places.join(&event, creds.for_event(&event)).await?;
    let code = if status.fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let cookie = credential_cookie(&event, &status.queue_token, api.secure_cookies);
    status_answer(
        code,
        &StatusBody::new(event.as_str(), status, in_body),
        Some(cookie),
    )
}

/// `GET /api/v1/queue/{event}/status`
#[utoipa::path(
    get,
    path = "/api/v1/queue/{event}/status",
    operation_id = "queueStatus",
    tag = "queue",
    summary = "Your place in the queue (polling counts as presence)",
    description = "When admitted, the answer also carries `admission_token` and `admission_expires_at`, and `offer_expires_at` when the admission is a waitlist offer (the event sold out and a seat came back). Once the event sold out, fans in line are `waitlisted`. The visitor credential travels in the `X-Queue-Token` header or in the HttpOnly cookie `wr_queue_{event}` that join sets.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("queueToken" = [])),
    responses(
        (status = 200, description = "The visitor's state and position (no `queue_token`).", body = schemas::QueueStatus),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 401, description = "`credential_required` (no credential presented) or a refused credential: `credential_too_long`, `credential_malformed`, `credential_unknown_key`, `credential_invalid`, `credential_wrong_event`.", body = schemas::Error),
        (status = 404, description = "`unknown_event` or `not_joined` (the credential has no place; join first).", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::QueueUnavailable),
    )
)]
pub async fn status(
    State(api): State<Arc<QueueApi>>,
    EventPath(event): EventPath,
    creds: VisitorCredentials,
) -> Result<Response, ApiError> {
    let token = creds.for_event(&event).ok_or_else(missing_credential)?;
    let status = api.places.status(&event, token).await?;
    // A credential that now claims a (new) ticket replaces the cookie.
    let cookie = status
        .reissued
        .then(|| credential_cookie(&event, &status.queue_token, api.secure_cookies));
    status_answer(
        StatusCode::OK,
        &StatusBody::new(event.as_str(), status, false),
        cookie,
    )
}

/// 401 for a request without any visitor credential.
pub fn missing_credential() -> ApiError {
    ApiError::of(
        ErrorCode::CredentialRequired,
        "send the visitor credential (cookie or X-Queue-Token); join first",
    )
}

/// `GET /api/v1/queue/{event}`
#[utoipa::path(
    get,
    path = "/api/v1/queue/{event}",
    operation_id = "roomInfo",
    tag = "queue",
    summary = "Public room information",
    description = "State, waiting count, admission rate, schedule and the shuffle seed's commitment.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    responses(
        (status = 200, description = "The room.", body = schemas::RoomInfo),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`unknown_event`.", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::QueueUnavailable),
    )
)]
pub async fn info(
    State(api): State<Arc<QueueApi>>,
    EventPath(event): EventPath,
) -> Result<Response, ApiError> {
    Ok(Json(api.engine.info(&event).await?).into_response())
}

/// `GET /.well-known/jwks.json`
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "queue",
    summary = "Admission-token public keys (every key in rotation)",
    description = "Ed25519 keys (JWK, `OKP`) that verify admission tokens; cacheable for 300 s.",
    responses(
        (status = 200, description = "The key set.", body = schemas::Jwks),
    )
)]
pub async fn jwks(State(api): State<Arc<QueueApi>>) -> Response {
    let mut resp = Json(api.jwks.as_ref().clone()).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}
