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
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

/// `POST /holds/{hold}/checkout`.
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
