//! Checkout, orders, the Stripe webhook, the dev payment form.

use super::{path_id, ApiJson};
use crate::admission::Credentials;
use crate::db::{Decline, SettleOutcome};
use crate::error::{BookingError, Result};
use crate::payment::checkout::CheckoutRequest;
use crate::payment::dev;
use crate::state::AppState;
use crate::webhook::WebhookOutcome;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse};
use axum::Json;
use queue::api::schemas;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

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
    ApiJson(req): ApiJson<CheckoutRequest>,
) -> Result<impl IntoResponse> {
    let id = path_id("hold", &hold)?;
    let creds = Credentials::from_headers(&headers);
    Ok(Json(state.checkout(&id, &creds, &req).await?))
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
    Ok(Json(state.order_for(&id, &creds).await?))
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
    Ok(Json(state.cancel_order(&id, &creds).await?))
}

/// `POST /webhooks/stripe`: 400 on a bad signature, 200 otherwise
/// (including ignored types and duplicates, so Stripe stops retrying).
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/stripe",
    operation_id = "stripeWebhook",
    tag = "payments",
    summary = "Signed Stripe payment events",
    description = "Verifies `Stripe-Signature` (HMAC-SHA256, 300 s tolerance). Acts on `payment_intent.succeeded`, `payment_intent.payment_failed` and `payment_intent.canceled`; other types are acknowledged and ignored. Idempotent per Stripe event id. Acted on: `payment_intent.succeeded` (confirms, or refunds if the order already ended), `payment_intent.payment_failed` (a declined attempt: the order stays payable), `payment_intent.canceled` (ends an unpaid order), `charge.refunded` and `charge.refund.updated` (refunds made in Stripe's Dashboard), `charge.dispute.*` (marks the payment disputed). Other types are answered 200 and ignored.",
    request_body(content = schemas::StripeEvent, description = "The raw Stripe event, exactly as signed."),
    security(("stripeSignature" = [])),
    responses(
        (status = 200, description = "Received (also for ignored types and duplicates, so Stripe stops retrying).", body = schemas::WebhookAck),
        (status = 400, description = "`invalid_id` (missing or bad `Stripe-Signature`; `error.message` says which) or `invalid_json`.", body = schemas::Error),
        (status = 404, description = "`not_found`: no webhook secret is configured.", body = schemas::Error),
        (status = 422, description = "`validation_failed`: a refund or dispute event whose object lacks the fields its type promises.", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let outcome = state.stripe_webhook(signature, &body).await?;
    let status = match outcome {
        WebhookOutcome::Ignored => "ignored",
        WebhookOutcome::Duplicate => "duplicate",
        WebhookOutcome::Handled(_) => "handled",
    };
    Ok(Json(json!({"received": true, "status": status})))
}

fn dev_payment_id(state: &AppState, raw: &str) -> Result<String> {
    if state.payments.name() != "dev" {
        return Err(BookingError::NotFound("payment"));
    }
    path_id("payment", raw)
}

/// `GET /dev-payments/{payment}/confirm`: the simulated card form.
#[utoipa::path(
    get,
    path = "/api/v1/dev-payments/{payment}/confirm",
    operation_id = "devPaymentForm",
    tag = "payments",
    summary = "The dev provider's simulated card form",
    description = "Only with the dev payment provider; otherwise 404.",
    params(
        ("payment" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Payment id (`pay_…`)."),
    ),
    responses(
        (status = 200, description = "An HTML page with Pay and Decline buttons.", content_type = "text/html", body = String),
        (status = 400, description = "`invalid_id`.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such payment, or not the dev provider.", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn dev_form(
    State(state): State<AppState>,
    Path(payment): Path<String>,
) -> Result<impl IntoResponse> {
    let id = dev_payment_id(&state, &payment)?;
    let p = state
        .db
        .orders()
        .payment(&id)
        .await?
        .ok_or(BookingError::NotFound("payment"))?;
    let amount = crate::email::templates::money(p.amount, &p.currency);
    Ok(Html(format!(
        "<!doctype html><meta charset=utf-8><title>Test payment</title>\
         <h1>Test payment: {amount}</h1><p>No money moves: this is the dev provider.</p>\
         <form method=post><button>Pay</button></form>\
         <form method=post action=\"?outcome=fail\"><button>Decline</button></form>"
    )))
}

/// Body of `POST /dev-payments/{payment}/confirm`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevConfirm {
    /// A test card number: Stripe's decline test cards decline.
    card: Option<String>,
}

/// `POST /dev-payments/{payment}/confirm[?outcome=fail]`: behaves like a
/// Stripe confirmation and its webhook. A test card that declines (or
/// `outcome=fail`) is a declined attempt: 402 `payment_declined` with the
/// decline code, and the order stays payable; anything else pays.
#[utoipa::path(
    post,
    path = "/api/v1/dev-payments/{payment}/confirm",
    operation_id = "devPaymentConfirm",
    tag = "payments",
    summary = "Settle a dev payment as Stripe's webhook would",
    description = r#"Only with the dev payment provider; otherwise 404. Optional JSON body `{"card": "…"}`: Stripe's decline test cards (`4000000000000002` generic decline, `4000000000009995` insufficient funds, `4000000000009987` lost card, `4000000000000069` expired card) decline, any other number pays. A decline is an attempt, as on Stripe: 402 and the order stays payable."#,
    params(
        ("payment" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Payment id (`pay_…`)."),
        ("outcome" = Option<schemas::DevPaymentOutcome>, Query, description = "`succeed` (default: the card decides) or `fail` (the generic decline test card)."),
    ),
    responses(
        (status = 200, description = "The order's status after settling.", body = schemas::DevPaymentResult),
        (status = 400, description = "`invalid_id`, or `invalid_json` (malformed body).", body = schemas::Error),
        (status = 402, description = "`payment_declined` with `error.decline_code`: the test card declined; the order stays payable and its seats held.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such payment or order, or not the dev provider.", body = schemas::Error),
        (status = 422, description = "`validation_failed` (`error.field` is `outcome` or `query`).", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn dev_confirm(
    State(state): State<AppState>,
    Path(payment): Path<String>,
    query: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
    body: Bytes,
) -> Result<impl IntoResponse> {
    let Query(params) = query.map_err(|e| BookingError::validation("query", e.body_text()))?;
    let id = dev_payment_id(&state, &payment)?;
    // The built-in form posts an empty body; the checkout page sends JSON.
    let req: DevConfirm = if body.iter().all(u8::is_ascii_whitespace) {
        DevConfirm::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| BookingError::InvalidJson(e.to_string()))?
    };
    let p = state
        .db
        .orders()
        .payment(&id)
        .await?
        .ok_or(BookingError::NotFound("payment"))?;
    let decline = match params.get("outcome").map(String::as_str) {
        None | Some("succeed") => req.card.as_deref().and_then(dev::test_card),
        Some("fail") => dev::test_card("4000000000000002"),
        Some(_) => {
            return Err(BookingError::validation(
                "outcome",
                "must be succeed or fail",
            ))
        }
    };
    let outcome = match decline {
        Some((code, message)) => {
            let decline = Decline {
                code: Some(code.to_owned()),
                message: Some(message.to_owned()),
            };
            let outcome = state.payment_declined(&p, None, &decline).await?;
            if outcome == SettleOutcome::Declined {
                return Err(BookingError::PaymentDeclined {
                    decline_code: decline.code,
                    message: message.to_owned(),
                });
            }
            outcome
        }
        None => state.payment_succeeded(&p, None).await?,
    };
    let order = state.order_detail(&p.order_id).await?;
    Ok(Json(json!({
        "order_id": order.order.id,
        "status": order.order.status,
        "outcome": outcome.as_str(),
    })))
}
