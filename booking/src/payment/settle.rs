//! Applying payment outcomes (from Stripe webhooks or the dev form).

use super::RefundRequest;
use crate::db::{NewRefund, OrderDetail, PaymentRecord, Settle, SettleOutcome};
use crate::error::{BookingError, Result};
use crate::state::{now, AppState};

impl AppState {
    /// The payment succeeded: confirm, or refund if the seats are gone.
    pub async fn payment_succeeded(
        &self,
        payment: &PaymentRecord,
        webhook: Option<(String, String)>,
    ) -> Result<SettleOutcome> {
        let detail = self
            .db
            .orders()
            .order(&payment.order_id)
            .await?
            .ok_or(BookingError::NotFound("order"))?;
        let email = crate::email::templates::confirmation(&detail);
        let settle = Settle {
            payment_id: payment.id.clone(),
            webhook,
            now: now(),
        };
        let outcome = self.db.orders().settle_success(&settle, &email).await?;
        let refund_due = match &outcome {
            SettleOutcome::Confirmed(released) => {
                tracing::info!(order = %detail.order.id, "order confirmed");
                self.after_release(released).await;
                self.mail_wakeup.notify_one();
                false
            }
            SettleOutcome::RefundDue => true,
            // A redelivery after a refund attempt failed: the event id is
            // already claimed, so the retry must come from the order state.
            SettleOutcome::Duplicate | SettleOutcome::AlreadySettled => self
                .db
                .orders()
                .order(&payment.order_id)
                .await?
                .is_some_and(|d| d.order.status == "refund_pending"),
            SettleOutcome::Failed(_) => false,
        };
        if refund_due {
            self.refund_late_payment(&detail, payment).await?;
        }
        Ok(outcome)
    }

    /// Gives back a payment that arrived when the seats were gone. Safe to
    /// repeat: the provider call is idempotent per order and the record is
    /// guarded by the order's status.
    async fn refund_late_payment(
        &self,
        detail: &OrderDetail,
        payment: &PaymentRecord,
    ) -> Result<()> {
        tracing::warn!(order = %detail.order.id, "paid after the seats were gone; refunding");
        let provider_ref = payment
            .provider_ref
            .clone()
            .ok_or_else(|| BookingError::internal("paid payment without provider id"))?;
        let refund_ref = self
            .payments
            .refund(&RefundRequest {
                provider_ref,
                amount: payment.amount,
                idempotency_key: format!("refund_{}", detail.order.id),
            })
            .await?;
        let email = crate::email::templates::late_refund(detail);
        self.db
            .orders()
            .record_refund(
                &NewRefund {
                    id: format!("refund_{}", detail.order.id),
                    order_id: detail.order.id.clone(),
                    payment_id: payment.id.clone(),
                    provider_ref: Some(refund_ref),
                    amount: payment.amount,
                    reason: "late_payment".to_owned(),
                    cancel: false,
                    now: now(),
                },
                Some(&email),
            )
            .await?;
        self.mail_wakeup.notify_one();
        Ok(())
    }

    /// The payment failed or was canceled: the order fails and its hold is
    /// released.
    pub async fn payment_failed(
        &self,
        payment: &PaymentRecord,
        webhook: Option<(String, String)>,
    ) -> Result<SettleOutcome> {
        let settle = Settle {
            payment_id: payment.id.clone(),
            webhook,
            now: now(),
        };
        let outcome = self.db.orders().settle_failure(&settle).await?;
        if let SettleOutcome::Failed(Some(released)) = &outcome {
            self.after_release(released).await;
        }
        Ok(outcome)
    }
}
