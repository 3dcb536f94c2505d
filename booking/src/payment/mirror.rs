//! Keeping Stripe and waitroom in step outside the happy path: cancelling
//! the PaymentIntent of every order that ended unpaid, and mirroring
//! refunds and disputes made in Stripe's Dashboard.

use super::settle::Payments;
use super::{IntentCancel, PaymentProvider};
use crate::db::{Db, Mirror, MirrorChange, PaymentRecord};
use crate::error::Result;
use crate::state::now;
use serde_json::Value;
use std::sync::Arc;

/// PaymentIntents cancelled per round of the retry worker.
const CANCEL_BATCH: i64 = 50;

/// Cancelling the PaymentIntents of orders that ended unpaid: what every
/// hold's end needs from the payment side, so holds depend on this and
/// not on the whole payments service.
#[derive(Clone)]
pub struct Intents {
    pub(crate) db: Db,
    /// Stripe or dev.
    pub(crate) payments: Arc<dyn PaymentProvider>,
}

impl Intents {
    /// Cancels at the provider the PaymentIntents of orders that ended
    /// unpaid (of the order of `hold`, or any), so an old client secret can
    /// no longer take money. Returns how many were settled; failures stay
    /// due and the refund worker tries them again.
    pub async fn cancel_due_intents(&self, hold: Option<&str>) -> Result<usize> {
        let due = self
            .db
            .payments()
            .intents_to_cancel(hold, CANCEL_BATCH)
            .await?;
        let mut done = 0;
        for (payment, provider_ref) in due {
            let answer = self
                .payments
                .cancel_intent(&provider_ref, &format!("cancel_{payment}"))
                .await;
            let (outcome, request_id) = match answer {
                Ok(IntentCancel::Canceled { request_id }) => ("done", request_id),
                Ok(IntentCancel::TooLate { request_id }) => {
                    tracing::warn!(%payment, "PaymentIntent succeeded before it could be cancelled; its webhook refunds it");
                    ("refused", request_id)
                }
                Err(e) => {
                    tracing::warn!(%payment, error = %e, "cancelling the PaymentIntent failed; will retry");
                    continue;
                }
            };
            self.db
                .payments()
                .record_intent_cancel(&payment, outcome, request_id.as_deref(), now())
                .await?;
            done += 1;
        }
        Ok(done)
    }

    /// Cancels the PaymentIntent of the order of a hold that just ended,
    /// logging (not returning) failures: the worker retries them.
    pub(crate) async fn cancel_intent_of_hold(&self, hold: &str) {
        if let Err(e) = self.cancel_due_intents(Some(hold)).await {
            tracing::warn!(%hold, error = %e, "PaymentIntent cancellation deferred");
        }
    }
}

impl Payments {
    /// See [`Intents::cancel_due_intents`].
    pub async fn cancel_due_intents(&self, hold: Option<&str>) -> Result<usize> {
        self.intents.cancel_due_intents(hold).await
    }

    /// Applies a refund or dispute event (`charge.refunded`,
    /// `charge.refund.updated`, `charge.dispute.*`) to `payment`; `false`
    /// when the event was seen before. `None` for a body that lacks what
    /// the type promises.
    pub(crate) async fn mirror_event(
        &self,
        payment: &PaymentRecord,
        event: (String, String),
        object: &Value,
    ) -> Result<Option<bool>> {
        let Some(change) = change_of(&event.1, object) else {
            return Ok(None);
        };
        let fresh = self
            .db
            .payments()
            .mirror(&Mirror {
                payment_id: payment.id.clone(),
                webhook: Some(event),
                change,
                now: now(),
            })
            .await?;
        Ok(Some(fresh))
    }
}

/// The PaymentIntent id a Charge, Refund or Dispute object belongs to.
pub(crate) fn intent_of(object: &Value) -> Option<&str> {
    match object.get("payment_intent") {
        Some(Value::String(id)) => Some(id),
        // Expanded.
        Some(Value::Object(pi)) => pi.get("id").and_then(Value::as_str),
        _ => None,
    }
}

fn change_of(kind: &str, o: &Value) -> Option<MirrorChange> {
    let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
    match kind {
        "charge.refunded" => Some(MirrorChange::ChargeRefunded {
            amount_refunded: o.get("amount_refunded")?.as_i64()?,
        }),
        "charge.refund.updated" | "refund.updated" | "refund.failed" => {
            Some(MirrorChange::Refund {
                provider_ref: text("id")?,
                amount: o.get("amount")?.as_i64()?,
                status: text("status")?,
                failure_reason: text("failure_reason"),
            })
        }
        k if k.starts_with("charge.dispute.") => Some(MirrorChange::Dispute {
            status: text("status")?,
        }),
        _ => None,
    }
}
