//! A fan's ticket: `GET /tickets/{ticket}` (JSON), its QR code as
//! `qr.png` and `qr.svg`. The ticket id is the capability: it is only in
//! the order (visible to its buyer), the QR code and the emailed links.

use super::path_id;
use crate::error::Result;
use crate::state::AppState;
use crate::tickets::qr;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Private: the QR code is the way in; shared caches must not keep it.
const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "private, no-store");

/// `GET /tickets/{ticket}`.
pub async fn show(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
) -> Result<impl IntoResponse> {
    let id = path_id("ticket", &ticket)?;
    Ok(([NO_STORE], Json(state.ticket(&id).await?)))
}

/// The QR code of a ticket that is not revoked, as `kind`.
async fn qr(state: &AppState, raw: &str, kind: &'static str) -> Result<Response> {
    let id = path_id("ticket", raw)?;
    let t = state.live_ticket(&id).await?;
    let body = match kind {
        "image/png" => qr::png(&t.qr)?,
        _ => qr::svg(&t.qr)?.into_bytes(),
    };
    Ok(([(header::CONTENT_TYPE, kind), NO_STORE], body).into_response())
}

/// `GET /tickets/{ticket}/qr.png`.
pub async fn png(State(state): State<AppState>, Path(ticket): Path<String>) -> Result<Response> {
    qr(&state, &ticket, "image/png").await
}

/// `GET /tickets/{ticket}/qr.svg`.
pub async fn svg(State(state): State<AppState>, Path(ticket): Path<String>) -> Result<Response> {
    qr(&state, &ticket, "image/svg+xml").await
}
