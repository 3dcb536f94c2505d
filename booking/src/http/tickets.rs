//! A fan's ticket: `GET /tickets/{ticket}` (JSON), its QR code as
//! `qr.png` and `qr.svg`, and the printable `ticket.pdf`. The ticket id is the capability: it is only in
//! the order (visible to its buyer), the QR code and the emailed links.

use super::path_id;
use crate::error::{BookingError, Result};
use crate::state::AppState;
use crate::tickets::{pdf, qr};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use queue::api::schemas;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::{Ref, RefOr, ResponseBuilder};

/// What the ticket's files (QR images, PDF) answer besides 200: a
/// malformed, unknown or revoked ticket, and the shared failures.
struct TicketFileErrors;

impl utoipa::IntoResponses for TicketFileErrors {
    fn responses() -> std::collections::BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        let error = |why: &str| {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Error")))
                .build();
            RefOr::T(
                ResponseBuilder::new()
                    .description(why)
                    .content("application/json", content)
                    .build(),
            )
        };
        let shared = |name: &str| RefOr::Ref(Ref::from_response_name(name));
        [
            ("400", error("`invalid_id`: the ticket id is malformed.")),
            ("404", error("`not_found`: no such ticket.")),
            (
                "409",
                error("`conflict`: the ticket was revoked (reissued, refunded or cancelled)."),
            ),
            ("429", shared("RateLimited")),
            ("500", shared("Internal")),
            ("503", shared("BookingUnavailable")),
        ]
        .into_iter()
        .map(|(status, response)| (status.to_owned(), response))
        .collect()
    }
}

/// Private: the QR code is the way in; shared caches must not keep it.
const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "private, no-store");

/// `GET /tickets/{ticket}`.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{ticket}",
    operation_id = "showTicket",
    tag = "booking",
    summary = "A ticket: its reference, seat, status and QR text",
    description = "The ticket id is the capability (it is only in the buyer's order, the QR code and the emailed links). `qr` is a compact JWS (`alg: EdDSA`, `typ: wr-ticket`, a `kid` published in `/.well-known/jwks.json` with `purpose: ticket`). Answered with `Cache-Control: private, no-store`.",
    params(("ticket" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Ticket id (`tkt_…`).")),
    responses(
        (status = 200, description = "The ticket.", body = crate::db::TicketRecord),
        (status = 400, description = "`invalid_id`: the ticket id is malformed.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such ticket.", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
) -> Result<impl IntoResponse> {
    let id = path_id("ticket", &ticket)?;
    Ok(([NO_STORE], Json(state.tickets().ticket(&id).await?)))
}

/// The QR code of a ticket that is not revoked, as `kind`.
async fn qr(state: &AppState, raw: &str, kind: &'static str) -> Result<Response> {
    let id = path_id("ticket", raw)?;
    let t = state.tickets().live_ticket(&id).await?;
    let body = match kind {
        "image/png" => qr::png(&t.qr)?,
        _ => qr::svg(&t.qr)?.into_bytes(),
    };
    Ok(([(header::CONTENT_TYPE, kind), NO_STORE], body).into_response())
}

/// `GET /tickets/{ticket}/qr.png`.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{ticket}/qr.png",
    operation_id = "ticketQrPng",
    tag = "booking",
    summary = "The ticket's QR code as PNG",
    params(("ticket" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Ticket id (`tkt_…`).")),
    responses(
        (status = 200, description = "The QR code of the ticket's `qr` text.", content_type = "image/png", body = String),
        TicketFileErrors,
    )
)]
pub async fn png(State(state): State<AppState>, Path(ticket): Path<String>) -> Result<Response> {
    qr(&state, &ticket, "image/png").await
}

/// `GET /tickets/{ticket}/qr.svg`.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{ticket}/qr.svg",
    operation_id = "ticketQrSvg",
    tag = "booking",
    summary = "The ticket's QR code as SVG",
    params(("ticket" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Ticket id (`tkt_…`).")),
    responses(
        (status = 200, description = "The QR code of the ticket's `qr` text.", content_type = "image/svg+xml", body = String),
        TicketFileErrors,
    )
)]
pub async fn svg(State(state): State<AppState>, Path(ticket): Path<String>) -> Result<Response> {
    qr(&state, &ticket, "image/svg+xml").await
}

/// `GET /tickets/{ticket}/ticket.pdf`: the printable ticket, refused
/// exactly as the QR images are (malformed id, unknown or revoked ticket).
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{ticket}/ticket.pdf",
    operation_id = "ticketPdf",
    tag = "booking",
    summary = "The ticket as a printable PDF",
    description = "One A4 page: the event, its date (UTC) and venue, the seat, the reference for manual entry and the QR code. Answered with `Content-Disposition: attachment` and `Cache-Control: private, no-store`.",
    params(("ticket" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Ticket id (`tkt_…`).")),
    responses(
        (status = 200, description = "The ticket as PDF.", content_type = "application/pdf", body = String),
        TicketFileErrors,
    )
)]
pub async fn pdf(State(state): State<AppState>, Path(ticket): Path<String>) -> Result<Response> {
    let id = path_id("ticket", &ticket)?;
    let t = state.tickets().live_ticket(&id).await?;
    let event = state
        .sales()
        .event(&t.event_id)
        .await?
        .ok_or(BookingError::NotFound("event"))?;
    let body = pdf::render(&[pdf::TicketPage {
        ticket: &t,
        event: &event,
    }])?;
    let disposition = format!("attachment; filename=\"{}.pdf\"", t.reference);
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (NO_STORE.0, NO_STORE.1.to_owned()),
        ],
        body,
    )
        .into_response())
}
