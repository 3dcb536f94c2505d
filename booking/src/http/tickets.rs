//! A fan's ticket: `GET /tickets/{ticket}` (JSON), its QR code as
//! `qr.png` and `qr.svg`. The ticket id is the capability: it is only in
//! the order (visible to its buyer), the QR code and the emailed links.

use super::path_id;
use crate::error::{BookingError, Result};
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

/// `GET /tickets/{ticket}/qr.png` and `…/qr.svg`: the QR code of a ticket
/// that is not revoked.
pub async fn qr(
    State(state): State<AppState>,
    Path((ticket, file)): Path<(String, String)>,
) -> Result<Response> {
    let id = path_id("ticket", &ticket)?;
    let kind = match file.as_str() {
        "qr.png" => "image/png",
        "qr.svg" => "image/svg+xml",
        _ => return Err(BookingError::NotFound("ticket file")),
    };
    let t = state.live_ticket(&id).await?;
    let body = match kind {
        "image/png" => qr::png(&t.qr)?,
        _ => qr::svg(&t.qr)?.into_bytes(),
    };
    Ok(([(header::CONTENT_TYPE, kind), NO_STORE], body).into_response())
}
