//! Stripe webhooks: `Stripe-Signature` verification exactly as Stripe
//! documents it, and event handling that is idempotent per event id and
//! tolerant of duplicates and any order. A `payment_intent.payment_failed`
//! is a declined attempt (the intent returns to `requires_payment_method`
//! and the fan may try another card); only `payment_intent.canceled` ends
//! the order from Stripe's side.

use crate::db::{Decline, SettleOutcome};
use crate::error::{BookingError, Result};
use crate::payment::settle::Payments;
use crate::state::now;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Stripe's default tolerance for the signed timestamp.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `t=` or no `v1=` in the header.
    #[error("malformed Stripe-Signature header")]
    Malformed,
    /// Signed more than the tolerance ago.
    #[error("Stripe-Signature timestamp outside the tolerance")]
    Stale,
    /// No `v1` signature matches.
    #[error("no Stripe-Signature v1 signature matches")]
    Mismatch,
}

fn expected(secret: &str, timestamp: &str, payload: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac.finalize().into_bytes().to_vec()
}

/// Checks `header` (`t=…,v1=…[,v1=…]`) against `payload`: HMAC-SHA256 with
/// `secret` over `"{t}.{payload}"`, any `v1` may match (secret rotation),
/// and `t` must be no older than `tolerance` seconds before `now_unix`.
pub fn verify_signature(
    payload: &[u8],
    header: &str,
    secret: &str,
    now_unix: i64,
    tolerance: i64,
) -> std::result::Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = Some(v),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    let t: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let want = expected(secret, timestamp, payload);
    let matched = signatures.iter().any(|sig| {
        hex::decode(sig).is_ok_and(|bytes| bool::from(bytes.as_slice().ct_eq(want.as_slice())))
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if t < now_unix - tolerance {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Builds a valid `Stripe-Signature` header (tests, local tooling).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let t = timestamp.to_string();
    format!("t={t},v1={}", hex::encode(expected(secret, &t, payload)))
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// The event types acted on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Succeeded,
    Declined,
    Canceled,
    /// Refunds and disputes made at Stripe.
    Mirror,
}

/// What handling a webhook did, for the response and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// An event type we do not act on.
    Ignored,
    /// Seen before.
    Duplicate,
    /// Applied (or nothing to do for its state).
    Handled(Option<SettleOutcome>),
}

impl WebhookOutcome {
    /// A stable name, for the response to Stripe and the metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Ignored => "ignored",
            Self::Duplicate => "duplicate",
            Self::Handled(_) => "handled",
        }
    }
}

impl Payments {
    /// Verifies and applies one Stripe webhook delivery.
    pub async fn stripe_webhook(
        &self,
        signature: Option<&str>,
        payload: &[u8],
    ) -> Result<WebhookOutcome> {
        let result = self.apply_stripe_webhook(signature, payload).await;
        let outcome = result
            .as_ref()
            .map_or_else(|e| e.code(), WebhookOutcome::as_str);
        crate::metrics::count_named("waitroom_webhooks_total", outcome);
        result
    }

    async fn apply_stripe_webhook(
        &self,
        signature: Option<&str>,
        payload: &[u8],
    ) -> Result<WebhookOutcome> {
        // The header is required whether or not the webhook is set up, so
        // a request without one is malformed everywhere (400), never 404.
        let header = signature.ok_or_else(|| BookingError::InvalidId {
            field: "Stripe-Signature",
            message: "missing".to_owned(),
        })?;
        let secret = self
            .config
            .stripe_webhook_secret
            .as_ref()
            .ok_or(BookingError::NotFound("webhook"))?;
        verify_signature(
            payload,
            header,
            secret.expose(),
            now().timestamp(),
            TOLERANCE_SECONDS,
        )
        .map_err(|e| BookingError::InvalidId {
            field: "Stripe-Signature",
            message: e.to_string(),
        })?;
        let event: Event = serde_json::from_slice(payload)
            .map_err(|e| BookingError::InvalidJson(e.to_string()))?;
        let kind = match event.kind.as_str() {
            "payment_intent.succeeded" => Kind::Succeeded,
            "payment_intent.payment_failed" => Kind::Declined,
            "payment_intent.canceled" => Kind::Canceled,
            "charge.refunded"
            | "charge.refund.updated"
            | "refund.updated"
            | "refund.failed"
            | "charge.dispute.created"
            | "charge.dispute.updated"
            | "charge.dispute.closed" => Kind::Mirror,
            _ => return Ok(WebhookOutcome::Ignored),
        };
        let object = &event.data.object;
        // PaymentIntent events carry the intent; charges, refunds and
        // disputes point at it.
        let intent = match kind {
            Kind::Mirror => crate::payment::mirror::intent_of(object),
            _ => object.get("id").and_then(|v| v.as_str()),
        }
        .unwrap_or_default();
        let mut payment = self.db.orders().payment_by_provider_ref(intent).await?;
        if payment.is_none() && kind != Kind::Mirror {
            // The intent id is stored right after creation; should the
            // event overtake that, our payment id is in the metadata.
            let ours = object
                .pointer("/metadata/payment_id")
                .and_then(|v| v.as_str());
            if let Some(id) = ours {
                payment = self.db.orders().payment(id).await?;
            }
        }
        let Some(payment) = payment else {
            // Not ours (or created by another system on the account).
            let fresh = self
                .db
                .orders()
                .claim_webhook(&event.id, &event.kind, now())
                .await?;
            return Ok(if fresh {
                WebhookOutcome::Handled(None)
            } else {
                WebhookOutcome::Duplicate
            });
        };
        let claim = Some((event.id.clone(), event.kind.clone()));
        let outcome = match kind {
            Kind::Succeeded => self.payment_succeeded(&payment, claim).await?,
            Kind::Canceled => self.payment_failed(&payment, claim).await?,
            Kind::Declined => {
                let error = object.get("last_payment_error");
                let text = |k: &str| {
                    error
                        .and_then(|e| e.get(k))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                };
                let decline = Decline {
                    code: text("decline_code").or_else(|| text("code")),
                    message: text("message"),
                };
                self.payment_declined(&payment, claim, &decline).await?
            }
            Kind::Mirror => {
                let claim = (event.id.clone(), event.kind.clone());
                return Ok(match self.mirror_event(&payment, claim, object).await? {
                    Some(true) => WebhookOutcome::Handled(None),
                    Some(false) => WebhookOutcome::Duplicate,
                    None => {
                        return Err(BookingError::validation(
                            "data.object",
                            format!("is not a complete {} object", event.kind),
                        ))
                    }
                });
            }
        };
        Ok(match outcome {
            SettleOutcome::Duplicate => WebhookOutcome::Duplicate,
            other => WebhookOutcome::Handled(Some(other)),
        })
    }
}
