//! Join, status, room info and the published keys.

use super::{
    credential_cookie, wants_token_in_body, ApiError, ErrorCode, EventPath, QueueApi,
    VisitorCredentials,
};
use crate::engine::VisitorStatus;
use crate::protocol::WaiterState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

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
    #[serde(skip_serializing_if = "Option::is_none")]
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
    /// Present when the fan came back to a place kept during an absence.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    kept_place: bool,
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
        kept_place: s.kept_place,
        admission_token: s.admission.map(|a| a.0),
    }
}

/// `POST /api/v1/queue/{event}/join`
pub async fn join(
    State(api): State<QueueApi>,
    EventPath(event): EventPath,
    creds: VisitorCredentials,
    headers: HeaderMap,
    payload: Bytes,
) -> Result<Response, ApiError> {
    if !payload.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice::<JoinRequest>(&payload).map_err(ApiError::invalid_json)?;
    }
    let in_body = wants_token_in_body(&headers);
    let status = api.engine.join(&event, creds.for_event(&event)).await?;
    let code = if status.fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let cookie = credential_cookie(&event, &status.queue_token, api.secure_cookies);
    let mut resp = (code, Json(body(event.as_str(), status, in_body))).into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(v) => {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
        Err(e) => return Err(ApiError::internal(e)),
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `GET /api/v1/queue/{event}/status`
pub async fn status(
    State(api): State<QueueApi>,
    EventPath(event): EventPath,
    creds: VisitorCredentials,
) -> Result<Response, ApiError> {
    let token = creds.for_event(&event).ok_or_else(missing_credential)?;
    let status = api.engine.status(&event, token).await?;
    // A credential that now claims a (new) ticket replaces the cookie.
    let cookie = status
        .reissued
        .then(|| credential_cookie(&event, &status.queue_token, api.secure_cookies));
    let mut resp = Json(body(event.as_str(), status, false)).into_response();
    if let Some(cookie) = cookie {
        let value = HeaderValue::from_str(&cookie).map_err(ApiError::internal)?;
        resp.headers_mut().insert(header::SET_COOKIE, value);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// 401 for a request without any visitor credential.
pub fn missing_credential() -> ApiError {
    ApiError::of(
        ErrorCode::CredentialRequired,
        "send the visitor credential (cookie or X-Queue-Token); join first",
    )
}

/// `GET /api/v1/queue/{event}`
pub async fn info(
    State(api): State<QueueApi>,
    EventPath(event): EventPath,
) -> Result<Response, ApiError> {
    Ok(Json(api.engine.info(&event).await?).into_response())
}

/// `GET /.well-known/jwks.json`
pub async fn jwks(State(api): State<QueueApi>) -> Response {
    let mut resp = Json(api.jwks.as_ref().clone()).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}
