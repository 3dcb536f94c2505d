//! A fan's ticket: `GET /tickets/{ticket}` (JSON), its QR code as
//! `qr.png` and `qr.svg`. The ticket id is the capability: it is only in
//! the order (visible to its buyer), the QR code and the emailed links.

use super::path_id;
use crate::error::Result;
use crate::state::AppState;
use crate::tickets::qr;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
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

/// `GET /tickets/{ticket}/qr.png`.
pub async fn png(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
) -> Result<impl IntoResponse> {
    let id = path_id("ticket", &ticket)?;
    let t = state.live_ticket(&id).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/png"), NO_STORE],
        qr::png(&t.qr)?,
    ))
}

/// `GET /tickets/{ticket}/qr.svg`.
pub async fn svg(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
) -> Result<impl IntoResponse> {
    let id = path_id("ticket", &ticket)?;
    let t = state.live_ticket(&id).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml"), NO_STORE],
        qr::svg(&t.qr)?,
    ))
}
