//! The dev payment provider's simulated card form (development only:
//! production refuses the provider, so these routes answer 404 there).

use super::path_id;
use crate::db::{Decline, SettleOutcome};
use crate::error::{BookingError, Result};
use crate::payment::dev;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse};
use axum::Json;
use queue::api::schemas;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

fn dev_payment_id(state: &AppState, raw: &str) -> Result<String> {
    if state.payments().provider() != "dev" {
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
    let p = state.payments().payment(&id).await?;
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
    let p = state.payments().payment(&id).await?;
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
            let outcome = state
                .payments()
                .payment_declined(&p, None, &decline)
                .await?;
            if outcome == SettleOutcome::Declined {
                return Err(BookingError::PaymentDeclined {
                    decline_code: decline.code,
                    message: message.to_owned(),
                });
            }
            outcome
        }
        None => state.payments().payment_succeeded(&p, None).await?,
    };
    let order = state.orders().order_detail(&p.order_id).await?;
    Ok(Json(json!({
        "order_id": order.order.id,
        "status": order.order.status,
        "outcome": outcome.as_str(),
    })))
}
