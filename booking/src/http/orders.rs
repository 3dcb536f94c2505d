//! Checkout and the customer's view of an order: show, cancel.

use super::{path_id, ApiJson};
use crate::admission::Credentials;
use crate::error::Result;
use crate::payment::checkout::CheckoutRequest;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use queue::api::schemas;

/// `POST /holds/{hold}/checkout`.
#[utoipa::path(
    post,
    path = "/api/v1/holds/{hold}/checkout",
    operation_id = "checkout",
    tag = "payments",
    summary = "Start (or resume) payment for your hold",
    description = "Visible to the session that placed the hold only (`X-Queue-Token` or the `wr_queue_{event}` cookie). Returns the order and what the payment provider's client needs: `client_secret` and `publishable_key` for Stripe, `confirm_url` for the dev provider.",
    params(
        ("hold" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Hold id (`hold_…`)."),
    ),
    request_body(content = CheckoutRequest),
    security(("queueToken" = [])),
    responses(
        (status = 200, description = "The order and the provider's client data.", body = schemas::Checkout),
        (status = 400, description = "`invalid_json` or `invalid_id`.", body = schemas::Error),
        (status = 402, description = "`payment_declined`: Stripe answered a card error; `error.decline_code` and a message for the fan. The hold stays.", body = schemas::Error),
        (status = 403, description = "`forbidden`: the hold belongs to another session.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such hold.", body = schemas::Error),
        (status = 409, description = "`hold_not_active`: the hold has expired or was released.", body = schemas::Error),
        (status = 422, description = "`validation_failed` (`error.field` is `body` or `email`).", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 502, description = "`payment_provider_error`: Stripe refused the request (`invalid_request_error`, …); logged with Stripe's request id.", body = schemas::Error),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn checkout(
    State(state): State<AppState>,
    Path(hold): Path<String>,
    headers: HeaderMap,
    ApiJson(mut req): ApiJson<CheckoutRequest>,
) -> Result<impl IntoResponse> {
    let id = path_id("hold", &hold)?;
    req.lang = super::page_lang(req.lang.take(), &headers)?;
    let creds = Credentials::from_headers(&headers);
    Ok(Json(state.orders().checkout(&id, &creds, &req).await?))
}

/// `GET /orders/{order}`.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{order}",
    operation_id = "getOrder",
    tag = "payments",
    summary = "An order with its lines and payment",
    description = "Visible to the session that checked out (`X-Queue-Token` or the `wr_queue_{event}` cookie) or to the signed-in customer who owns it (`Authorization: Bearer <session token>`); anyone else gets 404.",
    params(
        ("order" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Order id (`ord_…`)."),
    ),
    security(("queueToken" = []), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "The order.", body = schemas::Order),
        (status = 400, description = "`invalid_id`.", body = schemas::Error),
        (status = 404, description = "`not_found`.", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Path(order): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse> {
    let id = path_id("order", &order)?;
    let creds = Credentials::from_headers(&headers);
    Ok(Json(state.orders().order_for(&id, &creds).await?))
}

/// `POST /orders/{order}/cancel`.
#[utoipa::path(
    post,
    path = "/api/v1/orders/{order}/cancel",
    operation_id = "cancelOrder",
    tag = "payments",
    summary = "Cancel an order (an unpaid one releases its hold; a paid one is refunded)",
    description = "Visible to the session that checked out (`X-Queue-Token` or the `wr_queue_{event}` cookie) or to the signed-in customer who owns it (`Authorization: Bearer <session token>`); anyone else gets 404. No request body.",
    params(
        ("order" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Order id (`ord_…`)."),
    ),
    security(("queueToken" = []), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "The order after cancellation.", body = schemas::Order),
        (status = 400, description = "`invalid_id`.", body = schemas::Error),
        (status = 404, description = "`not_found`.", body = schemas::Error),
        (status = 409, description = "`order_not_cancellable`: the order is neither pending nor confirmed; `already_refunded`: it was refunded already (also in Stripe's Dashboard); `refund_refused`: Stripe refused the refund (its code is in the message and on the order).", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 502, description = "`payment_provider_error`: Stripe refused the refund request for another reason than the order's state.", body = schemas::Error),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    Path(order): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse> {
    let id = path_id("order", &order)?;
    let creds = Credentials::from_headers(&headers);
    Ok(Json(state.orders().cancel_order(&id, &creds).await?))
}
