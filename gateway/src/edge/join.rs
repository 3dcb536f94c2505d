//! The guard in front of `join`, `status` and the WebSocket.
//!
//! A join that returns an existing place passes untouched: no CAPTCHA, no
//! place counted. A join that would create a place must carry a CAPTCHA
//! solution when the event's policy asks for one (`on_join`, or
//! `on_suspicion` once the client's join budget is half spent), and must fit
//! under the event's places-per-IP cap (and one place per signed-in
//! account). Failures get 403 `captcha_required` with a fresh challenge,
//! or — with `captcha_failure: infinite_queue` — a shadow place. Shadow
//! places' `status` and WebSocket are answered here too.

use super::captcha::Verdict;
use super::limits::{Decision, RouteClass};
use super::route_layer::Next;
use super::Edge;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use queue::api::{join_body, ApiError, ErrorCode, VisitorCredentials, QUEUE_TOKEN_HEADER};
use queue::store::VisitorRecord;
use queue::{CaptchaFailure, CaptchaPolicy, EventId, QueuePolicy, QueueState, VisitorCredential};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tower::ServiceExt;

/// Routes `join`, `status` and `ws` through the edge's checks, by the
/// matched route and its validated event; everything else passes.
pub(super) async fn guard(edge: &Arc<Edge>, req: Request, next: Next) -> Response {
    let Some((class, Some(event))) = super::route_of(&req) else {
        return next.run(req).await;
    };
    let result = match class {
        RouteClass::Join => join(edge, event, req, next).await,
        RouteClass::Status | RouteClass::Ws => Ok(shadow_or_pass(edge, event, req, next).await),
        _ => Ok(next.run(req).await),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Answers `status` / `ws` for shadow places; passes everyone else.
async fn shadow_or_pass(edge: &Arc<Edge>, event: EventId, req: Request, next: Next) -> Response {
    let creds = VisitorCredentials::from_headers(req.headers());
    let shadow = creds
        .for_event(&event)
        .and_then(|t| edge.shadow.recognise(&event, t));
    match shadow {
        Some(_) => edge.serve_shadow(req).await,
        None => next.run(req).await,
    }
}

impl Edge {
    /// Serves a request for a shadow place through the queue's own fan
    /// routes (join, status, WebSocket), with shadow places as the source.
    async fn serve_shadow(&self, mut req: Request) -> Response {
        // The inner router matches the request again; an outer match would
        // be taken for a nesting prefix.
        req.extensions_mut().remove::<MatchedPath>();
        match self.shadow_fans.clone().oneshot(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        }
    }

    /// Whether `cred` holds a place the queue would give back on join.
    async fn holds_place(
        &self,
        event: &EventId,
        cred: &VisitorCredential,
    ) -> Result<bool, ApiError> {
        let record = self
            .engine
            .store()
            .lookup(event, &cred.visitor, queue::engine::now_ms())
            .await?;
        // What the store's join gives back rather than renews: departed
        // and finished visitors start a new place (which needs the check).
        Ok(matches!(
            record,
            VisitorRecord::Prequeue
                | VisitorRecord::Waiting { .. }
                | VisitorRecord::Admitted { .. }
        ))
    }

    /// The event's policy and state as of the last tick; `None` for an
    /// event this node cannot load (the queue answers that join itself).
    async fn policy(&self, event: &EventId) -> Option<(QueuePolicy, QueueState)> {
        let hub = self.engine.hub(event).await.ok()?;
        let view = hub.view();
        Some((view.settings.policy.clone(), view.settings.state))
    }
}

async fn join(
    edge: &Arc<Edge>,
    event: EventId,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (mut parts, mut body) = req.into_parts();
    // The browser's own cookie wins over a header naming another identity:
    // one browser, one place.
    let creds = VisitorCredentials::from_headers(&parts.headers);
    let cookie = creds.cookie(&event).map(str::to_owned);
    let header = creds.header().map(str::to_owned);
    let mut presented = header.clone().or_else(|| cookie.clone());
    if let (Some(h), Some(c)) = (&header, &cookie) {
        if h != c {
            let live = match edge.shadow.recognise(&event, c) {
                Some(_) => true,
                None => match edge.engine.credential(&event, c) {
                    Ok(cred) => edge.holds_place(&event, &cred).await?,
                    Err(_) => false,
                },
            };
            if live {
                parts.headers.remove(QUEUE_TOKEN_HEADER);
                presented = Some(c.clone());
            }
        }
    }
    if let Some(token) = &presented {
        if edge.shadow.recognise(&event, token).is_some() {
            return Ok(edge.serve_shadow(Request::from_parts(parts, body)).await);
        }
        match edge.engine.credential(&event, token) {
            // A bad credential is the queue's to refuse (401), costing nothing.
            Err(_) => return Ok(next.run(Request::from_parts(parts, body)).await),
            Ok(cred) if edge.holds_place(&event, &cred).await? => {
                return Ok(next.run(Request::from_parts(parts, body)).await);
            }
            Ok(_) => {}
        }
    }
    let Some((policy, state)) = edge.policy(&event).await else {
        return Ok(next.run(Request::from_parts(parts, body)).await);
    };
    if !state.accepts_joins() {
        return Ok(next.run(Request::from_parts(parts, body)).await);
    }
    let client = client_of_parts(&parts);
    let needs_captcha = match policy.captcha {
        CaptchaPolicy::Off => false,
        CaptchaPolicy::OnJoin => true,
        CaptchaPolicy::OnSuspicion => parts
            .extensions
            .get::<Decision>()
            .is_some_and(Decision::near),
    };
    // The body matters here only for its CAPTCHA solution; otherwise the
    // queue reads it (and bounds it) itself.
    if needs_captcha {
        let bytes = join_body(body).await?;
        edge.captcha.note_attempt();
        let solution = if bytes.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(v) => v.get("captcha").filter(|c| !c.is_null()).cloned(),
                // Not JSON: the queue answers 400 invalid_json.
                Err(_) => {
                    return Ok(next
                        .run(Request::from_parts(parts, Body::from(bytes)))
                        .await)
                }
            }
        };
        let verdict = match &solution {
            None => Verdict::Fail("missing"),
            Some(s) => edge.captcha.verify(&event, s, client).await,
        };
        let outcome = match &verdict {
            Verdict::Pass => "pass",
            Verdict::Fail(why) => why,
            Verdict::Unavailable(_) => "unavailable",
        };
        metrics::counter!("waitroom_captcha_checks_total",
            "provider" => edge.captcha.provider(), "outcome" => outcome)
        .increment(1);
        match verdict {
            Verdict::Pass => {}
            Verdict::Unavailable(e) if edge.fail_open => {
                tracing::warn!(error = %e, "CAPTCHA provider unreachable; letting the join through (fail-open)");
            }
            Verdict::Unavailable(e) => {
                tracing::warn!(error = %e, "CAPTCHA provider unreachable; refusing the join (fail-closed)");
                return Err(ApiError::of(
                    ErrorCode::CaptchaUnavailable,
                    "the check could not be completed; try again in a moment",
                )
                .retry_after(5));
            }
            Verdict::Fail(why) => {
                tracing::debug!(event = %event, ip = %client, why, "join without a valid CAPTCHA solution");
                edge.rejections.captcha_failed(&event);
                return match policy.captcha_failure {
                    CaptchaFailure::Refuse => Ok(captcha_required(edge, &event)),
                    CaptchaFailure::InfiniteQueue => {
                        metrics::counter!("waitroom_infinite_queue_joins_total").increment(1);
                        Ok(edge
                            .serve_shadow(Request::from_parts(parts, Body::from(bytes)))
                            .await)
                    }
                };
            }
        }
        body = Body::from(bytes);
    }
    let charged = charge(edge, &event, &policy, &parts, client).await?;
    let resp = next.run(Request::from_parts(parts, body)).await;
    if resp.status() != StatusCode::CREATED {
        for holder in &charged {
            if let Err(e) = edge.places.give_back(&event, holder).await {
                tracing::warn!(error = %e, "could not give back a place count");
            }
        }
    }
    Ok(resp)
}

fn client_of_parts(parts: &Parts) -> std::net::IpAddr {
    parts
        .extensions
        .get::<super::client_ip::ClientIp>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.ip)
}

/// Counts the new place against its IP group (and account); refuses with
/// 403 `too_many_places` when a cap is reached, counting nothing.
async fn charge(
    edge: &Edge,
    event: &EventId,
    policy: &QueuePolicy,
    parts: &Parts,
    client: std::net::IpAddr,
) -> Result<Vec<String>, ApiError> {
    let cap = policy.max_places_per_ip;
    if cap == 0 {
        return Ok(Vec::new());
    }
    let mut holders = vec![(format!("ip:{}", super::client_ip::IpGroup::of(client)), cap)];
    if let Some(account) = edge.account(&parts.headers) {
        // Hashed: account ids become part of a Redis key.
        let h = hex::encode(&Sha256::digest(account.as_bytes())[..12]);
        holders.push((format!("acct:{h}"), 1));
    }
    let mut charged = Vec::new();
    for (holder, cap) in holders {
        if edge.places.take(event, &holder, cap).await? {
            charged.push(holder);
            continue;
        }
        for c in &charged {
            let _ = edge.places.give_back(event, c).await;
        }
        metrics::counter!("waitroom_place_cap_refusals_total").increment(1);
        let who = if holder.starts_with("acct:") {
            "your account"
        } else {
            "your network"
        };
        return Err(ApiError::of(
            ErrorCode::TooManyPlaces,
            format!("{who} already holds the most places this queue allows"),
        ));
    }
    Ok(charged)
}

/// 403 `captcha_required`, in the usual error shape plus a fresh challenge.
fn captcha_required(edge: &Edge, event: &EventId) -> Response {
    let body = serde_json::json!({
        "error": {
            "code": ErrorCode::CaptchaRequired,
            "message": "complete the check to join the queue",
        },
        "challenge": edge.captcha.challenge(event),
    });
    let mut resp = (ErrorCode::CaptchaRequired.status(), axum::Json(body)).into_response();
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    resp
}
