//! `PUT`/`PATCH`/`GET /api/v1/admin/events/{event}/queue`: live admission
//! controls. Every node applies a change at its next tick, because ticks
//! carry the settings in force.
//!
//! Settings carry a `version` (also the `ETag`). A write naming a version
//! (`If-Match` or a `version` field) that is no longer current is refused
//! with 409; a write naming none applies over whatever is there (scripts).
//! Writes are compare-and-set in the store, so two concurrent writers can
//! never both win, and every write is audited with before and after.

use crate::auth::{OperatorRole, Viewer};
use crate::error::AdminError;
use crate::{audit, AdminApi};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use queue::api::schemas;
use queue::api::{event_id, ApiError, ErrorCode, EventPath};
use queue::{EventId, QueueError, QueueSettings, QueueState};
use serde::{Deserialize, Deserializer};

/// Every field is optional; absent fields stay as they are (`PATCH`) or
/// take their defaults (`PUT`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    #[schema(value_type = Option<schemas::QueueState>)]
    state: Option<String>,
    /// 0 to 1000000.
    #[schema(minimum = 0, maximum = 1000000)]
    admit_per_minute: Option<i64>,
    #[schema(minimum = 0, maximum = 4294967295_i64)]
    max_active: Option<i64>,
    /// 30 to 86400.
    #[schema(minimum = 30, maximum = 86400)]
    session_ttl_seconds: Option<i64>,
    /// 5 to 86400.
    #[schema(minimum = 5, maximum = 86400)]
    departure_grace_seconds: Option<i64>,
    /// CAPTCHA before joining: `off`, `on_join`, `on_suspicion`.
    #[schema(value_type = Option<schemas::CaptchaPolicy>)]
    captcha: Option<String>,
    /// What a failed CAPTCHA gets: `refuse` or `infinite_queue`.
    #[schema(value_type = Option<schemas::CaptchaFailure>)]
    captcha_failure: Option<String>,
    /// Places one client IP (IPv6: one /64) may take; 0 = no cap.
    #[schema(minimum = 0, maximum = 4294967295_i64)]
    max_places_per_ip: Option<i64>,
    /// Seats one admitted visitor may hold: 1 to 100.
    #[schema(minimum = 1, maximum = 100)]
    max_seats_per_visitor: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::fields::millis_or_null)]
    prequeue_at: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::fields::millis_or_null)]
    opens_at: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::fields::millis_or_null)]
    closes_at: Option<Option<i64>>,
    /// Seconds a departed fan's place is kept; `null` = the whole sale,
    /// 0 = not kept.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    place_ttl_seconds: Option<Option<i64>>,
    /// Once sold out, whether new arrivals may join the waitlist.
    waitlist_joins: Option<bool>,
    /// 10 to 86400: how long a waitlist offer lasts before it passes on.
    #[schema(minimum = 10, maximum = 86400)]
    offer_ttl_seconds: Option<i64>,
    /// The version this write was based on (optimistic concurrency);
    /// `If-Match` wins.
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 9223372036854775807_i64)]
    version: Option<u64>,
}

/// The settings write's body: [`SettingsPatch`] and the one rule across its
/// fields that a JSON Schema cannot state.
#[derive(Debug)]
pub struct QueueSettingsPatch;

impl utoipa::PartialSchema for QueueSettingsPatch {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schemas::with_constraints(
            <SettingsPatch as utoipa::PartialSchema>::schema(),
            &[("schedule-order", "After the write, `opens_at` is not before `prequeue_at` and `closes_at` is after `opens_at` (where both are set). A write whose own times break this is refused (422); one that breaks it only against the times already stored conflicts with them (409).")],
        )
    }
}

impl utoipa::ToSchema for QueueSettingsPatch {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("QueueSettingsPatch")
    }

    fn schemas(
        out: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <SettingsPatch as utoipa::ToSchema>::schemas(out);
    }
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn time(field: &'static str, v: Option<i64>) -> Result<Option<u64>, ApiError> {
    v.map(|ms| u64::try_from(ms).map_err(|_| invalid(field, "must be ms since the epoch")))
        .transpose()
}

fn invalid(field: &'static str, message: &str) -> ApiError {
    ApiError::from(QueueError::Invalid {
        field,
        message: message.to_owned(),
    })
}

/// A snake_case enum setting, refused with the field's own error code.
fn one_of<T: serde::de::DeserializeOwned>(
    field: &'static str,
    v: String,
    allowed: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(v))
        .map_err(|_| invalid(field, &format!("must be one of {allowed}")))
}

fn non_negative(field: &'static str, v: i64) -> Result<u32, ApiError> {
    u32::try_from(v).map_err(|_| invalid(field, "must be a whole number from 0 to 4294967295"))
}

impl SettingsPatch {
    fn parse(body: &Bytes) -> Result<Self, ApiError> {
        crate::parse_json(body).map_err(ApiError::from)
    }

    fn apply(&self, mut s: QueueSettings) -> Result<QueueSettings, ApiError> {
        if let Some(state) = &self.state {
            let state = state.as_str();
            s.state = QueueState::parse(state).ok_or_else(|| {
                invalid(
                    "state",
                    "must be one of scheduled, prequeue, open, paused, draining, closed",
                )
            })?;
        }
        if let Some(v) = self.admit_per_minute {
            s.admit_per_minute = non_negative("admit_per_minute", v)?;
        }
        if let Some(v) = self.max_active {
            s.max_active = non_negative("max_active", v)?;
        }
        if let Some(v) = self.session_ttl_seconds {
            s.session_ttl_seconds = non_negative("session_ttl_seconds", v)?;
        }
        if let Some(v) = self.departure_grace_seconds {
            s.departure_grace_seconds = non_negative("departure_grace_seconds", v)?;
        }
        if let Some(v) = self.captcha.clone() {
            s.policy.captcha = one_of("captcha", v, "off, on_join, on_suspicion")?;
        }
        if let Some(v) = self.captcha_failure.clone() {
            s.policy.captcha_failure = one_of("captcha_failure", v, "refuse, infinite_queue")?;
        }
        if let Some(v) = self.max_places_per_ip {
            s.policy.max_places_per_ip = non_negative("max_places_per_ip", v)?;
        }
        if let Some(v) = self.max_seats_per_visitor {
            s.policy.max_seats_per_visitor = non_negative("max_seats_per_visitor", v)?;
        }
        if let Some(v) = self.prequeue_at {
            s.policy.prequeue_at = time("prequeue_at", v)?;
        }
        if let Some(v) = self.opens_at {
            s.policy.opens_at = time("opens_at", v)?;
        }
        if let Some(v) = self.closes_at {
            s.policy.closes_at = time("closes_at", v)?;
        }
        if let Some(v) = self.place_ttl_seconds {
            s.policy.place_ttl_seconds = v
                .map(|secs| non_negative("place_ttl_seconds", secs))
                .transpose()?;
        }
        if let Some(v) = self.waitlist_joins {
            s.policy.waitlist_joins = v;
        }
        if let Some(v) = self.offer_ttl_seconds {
            s.policy.offer_ttl_seconds = non_negative("offer_ttl_seconds", v)?;
        }
        s.validate().map_err(|e| match e {
            // The write's own times are in order, so it is the times
            // already stored that it breaks the schedule against.
            QueueError::Invalid {
                field: "opens_at" | "closes_at",
                ..
            } if self.times_in_order() => ApiError::of(
                ErrorCode::Conflict,
                format!("{e} (with the schedule already stored)"),
            ),
            e => ApiError::from(e),
        })?;
        Ok(s)
    }

    /// Whether the times this write sets are in order among themselves.
    fn times_in_order(&self) -> bool {
        let set = |t: Option<Option<i64>>| t.flatten();
        let (pre, open, close) = (
            set(self.prequeue_at),
            set(self.opens_at),
            set(self.closes_at),
        );
        let pre_open = pre.zip(open).is_none_or(|(p, o)| p <= o);
        let open_close = open.zip(close).is_none_or(|(o, c)| o < c);
        pre_open && open_close
    }
}

/// The version a write was based on: `If-Match` (`"7"`, `W/"7"`, `7`; `*`
/// names none), else the body's `version`.
fn expected_version(headers: &HeaderMap, body: Option<u64>) -> Result<Option<u64>, ApiError> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(body);
    };
    // Exactly the document's pattern: `*`, `"7"`, `W/"7"` or `7`.
    let raw = raw.to_str().unwrap_or("");
    if raw == "*" {
        return Ok(body);
    }
    let tag = raw.strip_prefix("W/").unwrap_or(raw);
    let digits = match tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted,
        None if tag == raw => raw,
        None => "",
    };
    let well_formed =
        (1..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    well_formed
        .then(|| digits.parse().ok())
        .flatten()
        .map(Some)
        .ok_or_else(|| invalid("version", "If-Match must be a settings version, e.g. \"7\""))
}

/// Settings as JSON with their version as the `ETag`.
fn versioned(status: StatusCode, settings: &QueueSettings) -> Response {
    let etag = format!("\"{}\"", settings.policy.version);
    let mut resp = (status, Json(settings)).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

fn as_json(s: &QueueSettings) -> serde_json::Value {
    serde_json::to_value(s).unwrap_or(serde_json::Value::Null)
}

/// Reads, applies `change`, writes with compare-and-set, audits. Without
/// an expected version a lost race is retried on the fresh settings; with
/// one it is a 409. Returns the settings before (if any) and after.
pub(crate) async fn update(
    api: &AdminApi,
    actor: &str,
    action: &str,
    event: &EventId,
    expected: Option<u64>,
    create: bool,
    change: impl Fn(Option<&QueueSettings>) -> Result<QueueSettings, ApiError>,
) -> Result<(Option<QueueSettings>, QueueSettings), ApiError> {
    let store = api.engine.store();
    // A queue the store lost is restored first, so its version goes on.
    api.engine.ensure_event(event).await?;
    for _ in 0..16 {
        let before = store.settings(event).await?;
        if before.is_none() && !create {
            return Err(QueueError::UnknownEvent(event.to_string()).into());
        }
        let current = before.as_ref().map(|s| s.policy.version);
        if let Some(want) = expected {
            if current.unwrap_or(0) != want {
                let current = current.unwrap_or(0);
                return Err(AdminError::VersionConflict { current }.into());
            }
        }
        let mut after = change(before.as_ref())?;
        after.policy.version = current.map_or(1, |v| v + 1);
        if crate::lifecycle::write(store.as_ref(), event, before.as_ref(), &after).await? {
            // The database is the system of record; the store mirrors it.
            api.engine.record_settings(event, &after).await?;
            let target = format!("event:{event}");
            let (b, a) = (before.as_ref().map(as_json), Some(as_json(&after)));
            audit::record_as(api, actor, action, &target, b, a).await?;
            return Ok((before, after));
        }
        if expected.is_some() {
            let now = store.settings(event).await?.map_or(0, |s| s.policy.version);
            return Err(AdminError::VersionConflict { current: now }.into());
        }
    }
    Err(AdminError::Internal("settings write kept losing races".to_owned()).into())
}

/// `PUT`: create the queue or replace its settings (absent fields take
/// their defaults).
#[utoipa::path(
    put,
    path = "/api/v1/admin/events/{event}/queue",
    operation_id = "replaceQueueSettings",
    tag = "admin",
    summary = "Create the queue or replace its settings",
    description = "Needs the `operator` role. Absent fields take their defaults. A write naming a version (`If-Match` or `version`) that is no longer current is refused.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|(W/)?"[0-9]{1,19}"|[0-9]{1,19})$"#, description = r#"The settings version the write is based on (`"7"`, `W/"7"` or `7`); `*` names none."#),
    ),
    request_body(content = QueueSettingsPatch),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "Replaced.", body = schemas::QueueSettings, headers(("ETag" = String, description = "The settings version, quoted."))),
        (status = 201, description = "Created.", body = schemas::QueueSettings, headers(("ETag" = String, description = "The settings version, quoted."))),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 409, description = "`version_conflict`: the version named by `If-Match` or `version` is no longer current.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the setting: an unknown field or wrong type (`field` absent), or a value out of range (e.g. `state`, `admit_per_minute`, `session_ttl_seconds`, `opens_at`, `version` for a malformed `If-Match`).", body = schemas::Error),
        (status = 503, response = schemas::QueueUnavailable),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn replace(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    EventPath(event): EventPath,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let patch = SettingsPatch::parse(&body)?;
    let expected = expected_version(&headers, patch.version)?;
    let action = "queue.settings.replace";
    let (before, after) = update(&api, &op.label, action, &event, expected, true, |_| {
        patch.apply(QueueSettings::default())
    })
    .await?;
    let status = if before.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(versioned(status, &after))
}

/// `PATCH`: change some settings live.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/events/{event}/queue",
    operation_id = "changeQueueSettings",
    tag = "admin",
    summary = "Change some queue settings live",
    description = "Needs the `operator` role. Absent fields stay as they are; `null` clears a schedule time. Every node applies the change at its next tick. A write naming a version (`If-Match` or `version`) that is no longer current is refused.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|(W/)?"[0-9]{1,19}"|[0-9]{1,19})$"#, description = r#"The settings version the write is based on (`"7"`, `W/"7"` or `7`); `*` names none."#),
    ),
    request_body(content = QueueSettingsPatch),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The settings now in force.", body = schemas::QueueSettings, headers(("ETag" = String, description = "The settings version, quoted."))),
        (status = 404, description = "`unknown_event`: no queue for this event.", body = schemas::Error),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 409, description = "`version_conflict`: the version named by `If-Match` or `version` is no longer current. Also `conflict` when the write's times are in order among themselves but not with the schedule already stored (`schedule-order`).", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the setting: an unknown field or wrong type (`field` absent), or a value out of range (e.g. `state`, `admit_per_minute`, `session_ttl_seconds`, `opens_at`, `version` for a malformed `If-Match`).", body = schemas::Error),
        (status = 503, response = schemas::QueueUnavailable),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn change(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    EventPath(event): EventPath,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let patch = SettingsPatch::parse(&body)?;
    let expected = expected_version(&headers, patch.version)?;
    let action = "queue.settings.change";
    let (_, after) = update(&api, &op.label, action, &event, expected, false, |cur| {
        patch.apply(cur.cloned().unwrap_or_default())
    })
    .await?;
    Ok(versioned(StatusCode::OK, &after))
}

/// `POST …/queue/{action}`: the live controls as verbs, for buttons and
/// scripts: `pause`, `resume` (= open), `drain` (stop joins, keep
/// admitting), `close`, `open`, `prequeue`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/events/{event}/queue/{action}",
    operation_id = "queueControl",
    tag = "admin",
    summary = "Live controls as verbs",
    description = "Needs the `operator` role. `pause`, `resume` (= `open`), `drain` (stop joins, keep admitting), `close`, `open`, `prequeue`. No request body; `If-Match` honoured.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
        ("action" = schemas::QueueAction, Path, description = "The control."),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|(W/)?"[0-9]{1,19}"|[0-9]{1,19})$"#, description = r#"The settings version the write is based on (`"7"`, `W/"7"` or `7`); `*` names none."#),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The settings now in force.", body = schemas::QueueSettings, headers(("ETag" = String, description = "The settings version, quoted."))),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`unknown_action` or `unknown_event`.", body = schemas::Error),
        (status = 409, description = "`version_conflict` (with `If-Match`).", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `version`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 503, response = schemas::QueueUnavailable),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn control(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    Path((raw, verb)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let event = event_id(&raw)?;
    let state = match verb.as_str() {
        "pause" => QueueState::Paused,
        "resume" | "open" => QueueState::Open,
        "drain" => QueueState::Draining,
        "close" => QueueState::Closed,
        "prequeue" => QueueState::Prequeue,
        _ => {
            return Err(ApiError::of(
                ErrorCode::NotFound,
                "no such action; actions: pause, resume, drain, close, open, prequeue",
            ))
        }
    };
    let expected = expected_version(&headers, None)?;
    let action = format!("queue.{verb}");
    let (_, after) = update(&api, &op.label, &action, &event, expected, false, |cur| {
        Ok(QueueSettings {
            state,
            ..cur.cloned().unwrap_or_default()
        })
    })
    .await?;
    Ok(versioned(StatusCode::OK, &after))
}

/// `GET`: the settings in force, with their version as the `ETag`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{event}/queue",
    operation_id = "getQueueSettings",
    tag = "admin",
    summary = "The queue settings in force",
    description = "Needs the `viewer` role.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "Settings; their `version` is also the `ETag`.", body = schemas::QueueSettings, headers(("ETag" = String, description = "The settings version, quoted."))),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`unknown_event`: no queue for this event.", body = schemas::Error),
        (status = 503, response = schemas::QueueUnavailable),
        schemas::AdminErrors,
    )
)]
pub async fn show(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    EventPath(event): EventPath,
) -> Result<Response, ApiError> {
    Ok(versioned(
        StatusCode::OK,
        &api.engine.settings(&event).await?,
    ))
}

/// `DELETE`: removes a closed queue whose admitted sessions have all ended,
/// so no node ticks it any more (the catalog and orders stay). 409 while
/// it is not closed, or while sessions are alive (they end within
/// `session_ttl_seconds` of closing).
#[utoipa::path(
    delete,
    path = "/api/v1/admin/events/{event}/queue",
    operation_id = "removeQueue",
    tag = "admin",
    summary = "Remove a closed queue",
    description = "Needs the `operator` role. Deletes everything the queue store holds for the event (settings, places, sessions, seed, counters) so no node ticks it any more; the booking catalog and orders stay. Only a closed queue whose admitted sessions have all ended (within `session_ttl_seconds` of closing) can be removed.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`unknown_event`: no queue for this event.", body = schemas::Error),
        (status = 409, description = "`conflict`: the queue is not closed, or admitted sessions are still alive.", body = schemas::Error),
        (status = 503, response = schemas::QueueUnavailable),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn remove(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    EventPath(event): EventPath,
) -> Result<StatusCode, ApiError> {
    let store = api.engine.store();
    let snapshot = store.snapshot(&event).await?;
    if snapshot.settings.state != QueueState::Closed {
        return Err(AdminError::Conflict("close the queue before removing it").into());
    }
    if snapshot.active > 0 {
        return Err(AdminError::Conflict(
            "admitted sessions are still alive; remove the queue once they have ended",
        )
        .into());
    }
    api.engine.remove_event(&event).await?;
    let target = format!("event:{event}");
    let before = Some(as_json(&snapshot.settings));
    audit::record(&api, &op, "queue.remove", &target, before, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
