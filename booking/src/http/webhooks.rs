//! Stripe's webhook: the signed deliveries that settle payments.

use crate::error::Result;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use queue::api::schemas;
use serde_json::json;

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
    let outcome = state.payments().stripe_webhook(signature, &body).await?;
    Ok(Json(json!({"received": true, "status": outcome.as_str()})))
}
