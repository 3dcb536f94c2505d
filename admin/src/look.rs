//! An event's look on the fan pages: display name, accent colour, short
//! message and logo (see `booking::look` for the checks). Every change is
//! audited; the logo's bytes are not copied into the log, its hash is.

use crate::auth::{OperatorRole, Viewer};
use crate::error::AdminError;
use crate::{audit, now_ms, parse_json, AdminApi};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use booking::db::EventLook;
use queue::api::{schemas, ApiError};
use serde::Deserialize;
use serde_json::{json, Value};

/// `PUT …/look` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LookInput {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    accent: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// `PUT …/logo` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogoInput {
    image: String,
}

fn admin_json(event: &str, look: Option<&EventLook>) -> Value {
    let mut body = booking::look::public_json(event, look);
    body["logo_type"] = json!(look.and_then(|l| l.logo_type.clone()));
    body["logo_bytes"] = json!(look.and_then(|l| l.logo_bytes));
    body["updated_at"] = json!(look.map(|l| l.updated_at));
    body
}

/// The event id, and its look as stored (404 when there is no event).
async fn current(api: &AdminApi, raw: &str) -> Result<(String, Option<EventLook>), ApiError> {
    let event = queue::api::event_id(raw)?.to_string();
    let look = api
        .booking
        .looks
        .look(&event)
        .await
        .map_err(AdminError::from)?;
    Ok((event, look))
}

async fn reread(api: &AdminApi, event: &str) -> Result<Option<EventLook>, ApiError> {
    Ok(api
        .booking
        .looks
        .look(event)
        .await
        .map_err(AdminError::from)?)
}

/// `GET /api/v1/admin/events/{event}/look`
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{event}/look",
    operation_id = "getAdminEventLook",
    tag = "admin",
    summary = "The event's look on the fan pages",
    description = "Needs the `viewer` role.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The look, with the logo's type and size.", body = schemas::AdminEventLook),
        (status = 400, description = "`invalid_id`: the event id is malformed.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn show(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (event, look) = current(&api, &raw).await?;
    Ok(Json(admin_json(&event, look.as_ref())))
}

/// `PUT /api/v1/admin/events/{event}/look`
#[utoipa::path(
    put,
    path = "/api/v1/admin/events/{event}/look",
    operation_id = "setEventLook",
    tag = "admin",
    summary = "Set the event's display name, accent colour and message",
    description = "Needs the `operator` role. Replaces all three text fields (absent, null or blank clears one); the logo is kept. Plain text: the pages render it as text, never markup. Audited as `event.look.change`.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    request_body(content = schemas::EventLookInput),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The look now.", body = schemas::AdminEventLook),
        (status = 400, description = "`invalid_json`, or `invalid_id` (the event id is malformed).", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `display_name`, `accent`, `message`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn set(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let input: LookInput = parse_json(&body)?;
    let fields = booking::look::check_fields(
        input.display_name.as_deref(),
        input.accent.as_deref(),
        input.message.as_deref(),
    )?;
    let (event, before) = current(&api, &raw).await?;
    if !api
        .booking
        .looks
        .put_fields(&event, &fields, now_ms() as i64)
        .await
        .map_err(AdminError::from)?
    {
        return Err(AdminError::NotFound("event").into());
    }
    let after = reread(&api, &event).await?;
    let target = format!("event:{event}");
    let before = before.map(|l| json!(l.fields));
    audit::record(
        &api,
        &op,
        "event.look.change",
        &target,
        before,
        Some(json!(fields)),
    )
    .await?;
    Ok(Json(admin_json(&event, after.as_ref())))
}

/// `PUT /api/v1/admin/events/{event}/logo`
#[utoipa::path(
    put,
    path = "/api/v1/admin/events/{event}/logo",
    operation_id = "setEventLogo",
    tag = "admin",
    summary = "Upload the event's logo",
    description = "Needs the `operator` role. The image travels base64 in JSON (the dashboard's writes are JSON only); it must be a PNG, JPEG or WebP by its first bytes and at most 256 KiB. Served from this origin at the look's `logo_url`. Audited as `event.logo.change` (with the image's hash, not its bytes).",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    request_body(content = schemas::LogoUpload),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The look now.", body = schemas::AdminEventLook),
        (status = 400, description = "`invalid_json`, or `invalid_id` (the event id is malformed).", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        (status = 413, description = "`logo_too_large`: over 256 KiB; `payload_too_large`: the request is over 384 KiB.", body = schemas::Error),
        (status = 422, description = "`logo_unsupported`: not a PNG, JPEG or WebP; `validation_failed` with `field` `image` (not base64) or `body`.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn set_logo(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let input: LogoInput = parse_json(&body)?;
    let bytes = STANDARD
        .decode(input.image.trim())
        .map_err(|_| AdminError::invalid("image", "must be base64"))?;
    let logo = booking::look::check_logo(bytes)?;
    write_logo(&api, &op, &raw, Some(logo)).await
}

/// `DELETE /api/v1/admin/events/{event}/logo`
#[utoipa::path(
    delete,
    path = "/api/v1/admin/events/{event}/logo",
    operation_id = "removeEventLogo",
    tag = "admin",
    summary = "Remove the event's logo",
    description = "Needs the `operator` role. Audited as `event.logo.change`.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The look now.", body = schemas::AdminEventLook),
        (status = 400, description = "`invalid_id`: the event id is malformed.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such event.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn remove_logo(
    State(api): State<AdminApi>,
    OperatorRole(op): OperatorRole,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    write_logo(&api, &op, &raw, None).await
}

async fn write_logo(
    api: &AdminApi,
    op: &crate::Actor,
    raw: &str,
    logo: Option<booking::db::Logo>,
) -> Result<Json<Value>, ApiError> {
    let (event, before) = current(api, raw).await?;
    if !api
        .booking
        .looks
        .put_logo(&event, logo.as_ref(), now_ms() as i64)
        .await
        .map_err(AdminError::from)?
    {
        return Err(AdminError::NotFound("event").into());
    }
    let after = reread(api, &event).await?;
    let shown = |l: &Option<EventLook>| {
        l.as_ref()
            .and_then(|l| {
                l.logo_sha256
                    .as_ref()
                    .map(|sha| json!({"sha256": sha, "type": l.logo_type, "bytes": l.logo_bytes}))
            })
            .unwrap_or(Value::Null)
    };
    let target = format!("event:{event}");
    audit::record(
        api,
        op,
        "event.logo.change",
        &target,
        Some(shown(&before)),
        Some(shown(&after)),
    )
    .await?;
    Ok(Json(admin_json(&event, after.as_ref())))
}
