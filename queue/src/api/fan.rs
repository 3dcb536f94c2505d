//! Join, status, room info and the published keys.

use super::{
    credential_cookie, json_object, ApiError, BodyError, ErrorCode, EventPath, QueueApi,
    TokenInBody, VisitorCredentials,
};
use crate::api::schemas;
use crate::engine::VisitorStatus;
use crate::protocol::WaiterState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Room for a status answer: a join's with its credential is about 400
/// bytes; one with an admission token grows once.
const STATUS_CAPACITY: usize = 512;
/// Headers of a join's answer as sent, `date` aside.
const STATUS_HEADERS: usize = 14;

/// The join request body. Everything is optional: an empty body joins.
#[derive(Debug, Default, Deserialize)]
pub struct JoinRequest {
    /// CAPTCHA solution, when the event requires one (checked at the edge).
    #[serde(default)]
    #[allow(dead_code)]
    pub captcha: Option<serde_json::Value>,
}

/// What join and status return.
#[derive(Debug, Serialize)]
pub struct StatusBody {
    event: String,
    visitor_id: String,
    /// Written by [`status_answer`] itself, unescaped.
    #[serde(skip)]
    queue_token: Option<String>,
    ticket: u64,
    state: WaiterState,
    queue_state: crate::QueueState,
    position: Option<u64>,
    ahead: Option<u64>,
    eta_seconds: Option<u64>,
    waiting: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    admission_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    admission_expires_at: Option<u64>,
    /// Present when the admission is a waitlist offer: when it passes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    offer_expires_at: Option<u64>,
    /// Present when the fan came back to a place kept during an absence.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    kept_place: bool,
    /// The operator's announcement in force, for polling pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    announcement: Option<AnnouncementBody>,
}

/// An announcement as `status` shows it (the event is in the URL).
#[derive(Debug, Serialize)]
struct AnnouncementBody {
    message: String,
    at: u64,
}

fn body(event: &str, s: VisitorStatus, with_token: bool) -> StatusBody {
    StatusBody {
        event: event.to_owned(),
        visitor_id: s.visitor.to_string(),
        queue_token: with_token.then_some(s.queue_token),
        ticket: s.ticket,
        state: s.state,
        queue_state: s.queue_state,
        position: s.position.map(|p| p.position),
        ahead: s.position.map(|p| p.ahead),
        eta_seconds: s.position.and_then(|p| p.eta_seconds),
        waiting: s.waiting,
        admission_expires_at: s.admission.as_ref().map(|a| a.1),
        offer_expires_at: s.offer_expires_at,
        kept_place: s.kept_place,
        admission_token: s.admission.map(|a| a.0),
        announcement: s.announcement.map(|a| AnnouncementBody {
            message: a.message,
            at: a.at,
        }),
    }
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
    payload: Bytes,
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
    status_answer(code, &body(event.as_str(), status, in_body), Some(cookie))
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
    status_answer(StatusCode::OK, &body(event.as_str(), status, false), cookie)
}

/// A visitor's status as answered by `join` and `status`: never cached,
/// with the credential's cookie when one is (re)issued. Serialized into a
/// buffer sized for it: axum's `Json` starts at 128 bytes and grows twice
/// for a join's answer, the hottest one there is.
fn status_answer(
    code: StatusCode,
    body: &StatusBody,
    cookie: Option<String>,
) -> Result<Response, ApiError> {
    let mut json = Vec::with_capacity(STATUS_CAPACITY);
    // The credential is most of the answer's text, and serde_json looks at
    // each of its bytes for one to escape. A credential of this codec has
    // none (base64url, dots and a kid of the same alphabet), which a loop
    // without branches confirms, so it goes in as it is, first; the rest
    // follows with its opening brace turned into a comma.
    if let Some(token) = &body.queue_token {
        json.extend_from_slice(b"{\"queue_token\":");
        if needs_escape(token) {
            serde_json::to_writer(&mut json, token).map_err(ApiError::internal)?;
        } else {
            json.push(b'"');
            json.extend_from_slice(token.as_bytes());
            json.push(b'"');
        }
    }
    let rest = json.len();
    serde_json::to_writer(&mut json, body).map_err(ApiError::internal)?;
    if body.queue_token.is_some() {
        json[rest] = b',';
    }
    let mut resp = Response::new(axum::body::Body::from(json));
    *resp.status_mut() = code;
    let headers = resp.headers_mut();
    // Room for the answer's own headers and those every answer gets on
    // the way out (length, security, rate limit): the map grows twice
    // otherwise.
    headers.reserve(STATUS_HEADERS);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = cookie {
        let value = HeaderValue::try_from(cookie).map_err(ApiError::internal)?;
        headers.insert(header::SET_COOKIE, value);
    }
    Ok(resp)
}

/// Whether JSON needs an escape for any byte of `text` (a quote, a
/// backslash or a control character), looked at without an early exit so
/// the loop runs on whole vectors.
fn needs_escape(text: &str) -> bool {
    text.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(queue_token: Option<&str>) -> StatusBody {
        StatusBody {
            event: "demo".to_owned(),
            visitor_id: "v_1".to_owned(),
            queue_token: queue_token.map(str::to_owned),
            ticket: 7,
            state: WaiterState::Waiting,
            queue_state: crate::QueueState::Open,
            position: Some(3),
            ahead: Some(2),
            eta_seconds: None,
            waiting: 10,
            admission_token: None,
            admission_expires_at: None,
            offer_expires_at: None,
            kept_place: false,
            announcement: Some(AnnouncementBody {
                message: "doors at \"8\"".to_owned(),
                at: 1,
            }),
        }
    }

    async fn answered(body: &StatusBody) -> serde_json::Value {
        let resp = status_answer(StatusCode::OK, body, None).expect("an answer");
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("the body");
        serde_json::from_slice(&bytes).expect("valid JSON")
    }

    /// The credential written as it is, one that would need escaping
    /// escaped, none left out: the answer is the body's JSON with its
    /// `queue_token`.
    #[tokio::test]
    async fn the_answer_is_the_body_with_its_credential() {
        for token in [None, Some("v1.k1a2b.eyJl-_x.mAc"), Some("a\"b\\c\u{1}")] {
            let body = sample(token);
            let mut expected = serde_json::to_value(&body).expect("serializable");
            if let Some(token) = token {
                expected["queue_token"] = token.into();
            }
            assert_eq!(answered(&body).await, expected, "{token:?}");
        }
        assert!(!needs_escape("v1.k1a2b.eyJl-_x.mAc"));
        assert!(needs_escape("a\"b") && needs_escape("a\\b") && needs_escape("a\nb"));
    }
}
