//! `PUT`/`PATCH`/`GET /api/v1/admin/events/{event}/queue`: live admission
//! controls. Every node applies a change at its next tick, because ticks
//! carry the settings in force.

use crate::{AdminApi, Operator};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use queue::api::{event_id, ApiError};
use queue::{QueueError, QueueSettings, QueueState};
use serde::Deserialize;

/// Fields an operator may change live; absent fields stay as they are.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    state: Option<String>,
    admit_per_minute: Option<i64>,
    max_active: Option<i64>,
    session_ttl_seconds: Option<i64>,
    departure_grace_seconds: Option<i64>,
}

fn invalid(field: &'static str, message: &str) -> ApiError {
    ApiError::from(QueueError::Invalid {
        field,
        message: message.to_owned(),
    })
}

fn non_negative(field: &'static str, v: i64) -> Result<u32, ApiError> {
    u32::try_from(v).map_err(|_| invalid(field, "must be a whole number from 0 to 4294967295"))
}

impl SettingsPatch {
    fn parse(body: &Bytes) -> Result<Self, ApiError> {
        serde_json::from_slice(body).map_err(|e| {
            if e.is_data() {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_settings",
                    e.to_string(),
                )
            } else {
                ApiError::invalid_json(e)
            }
        })
    }

    fn apply(self, mut s: QueueSettings) -> Result<QueueSettings, ApiError> {
        if let Some(state) = self.state {
            s.state = QueueState::parse(&state).ok_or_else(|| {
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
        s.validate()?;
        Ok(s)
    }
}

/// `PUT`: create the queue or replace its settings (absent fields take
/// their defaults).
pub async fn replace(
    State(api): State<AdminApi>,
    op: Operator,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let event = event_id(&raw)?;
    let settings = SettingsPatch::parse(&body)?.apply(QueueSettings::default())?;
    let existed = api.engine.store().settings(&event).await?.is_some();
    api.engine.put_settings(&event, &settings).await?;
    tracing::info!(event = %event, via = op.via, ?settings, "queue settings replaced");
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(settings)).into_response())
}

/// `PATCH`: change some settings live.
pub async fn change(
    State(api): State<AdminApi>,
    op: Operator,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<QueueSettings>, ApiError> {
    let event = event_id(&raw)?;
    let patch = SettingsPatch::parse(&body)?;
    let current = api.engine.settings(&event).await?;
    let settings = patch.apply(current)?;
    api.engine.put_settings(&event, &settings).await?;
    tracing::info!(event = %event, via = op.via, ?settings, "queue settings changed");
    Ok(Json(settings))
}

/// `GET`: the settings in force.
pub async fn show(
    State(api): State<AdminApi>,
    _op: Operator,
    Path(raw): Path<String>,
) -> Result<Json<QueueSettings>, ApiError> {
    let event = event_id(&raw)?;
    Ok(Json(api.engine.settings(&event).await?))
}
