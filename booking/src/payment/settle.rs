//! Applying payment outcomes (from Stripe webhooks or the dev form).

use super::checkout::order_detail;
use super::mirror::Intents;
use super::{PaymentProvider, RefundRequest};
use crate::catalog::SeatMapCache;
use crate::config::BookingConfig;
use crate::db::{
    Db, Decline, NewEmail, NewRefund, OrderDetail, PaymentRecord, Settle, SettleOutcome,
};
use crate::error::{BookingError, Result};
use crate::holds::Holds;
use crate::state::now;
use crate::tickets::Tickets;
use queue::api::ErrorCode;
use std::sync::Arc;
use tokio::sync::Notify;

/// The payments service: applies payment outcomes (this file), Stripe's
/// webhooks (`crate::webhook`), refunds, and the mirror of what happened
/// in Stripe (`mirror`).
#[derive(Clone)]
pub struct Payments {
    pub(crate) config: Arc<BookingConfig>,
    pub(crate) db: Db,
    /// Stripe or dev.
    pub(crate) payments: Arc<dyn PaymentProvider>,
    pub(crate) seat_maps: Arc<SeatMapCache>,
    /// Wakes the email worker when an email is queued.
    pub(crate) mail_wakeup: Arc<Notify>,
    /// What follows the end of a hold a settlement ends.
    pub(crate) holds: Holds,
    /// Mints the tickets of a confirmed order.
    pub(crate) tickets: Tickets,
    pub(crate) intents: Intents,
}

/// Why an order's money goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefundKind {
    /// The buyer cancelled a confirmed order.
    Cancelled,
    /// The organiser cancelled the event.
    EventCancelled,
    /// Paid after the seats were gone (the order is `refund_pending`).
    LatePayment,
}

impl RefundKind {
    fn reason(self) -> &'static str {
        match self {
            Self::Cancelled => "cancelled",
            Self::EventCancelled => "event_cancelled",
            Self::LatePayment => "late_payment",
        }
    }

    /// Whether the order is cancelled (and its seats freed) by the refund.
    fn cancels(self) -> bool {
        self != Self::LatePayment
    }
}

impl Payments {
    /// Which provider takes payments (`stripe` or `dev`).
    pub fn provider(&self) -> &'static str {
        self.payments.name()
    }

    /// A payment by our id, or 404.
    pub async fn payment(&self, id: &str) -> Result<PaymentRecord> {
        self.db
            .orders()
            .payment(id)
            .await?
            .ok_or(BookingError::NotFound("payment"))
    }

    /// The payment succeeded: confirm, or refund if the seats are gone.
    pub async fn payment_succeeded(
        &self,
        payment: &PaymentRecord,
        webhook: Option<(String, String)>,
    ) -> Result<SettleOutcome> {
        let detail = order_detail(&self.db, &payment.order_id).await?;
        let tickets = self.tickets.mint_tickets(&detail)?;
        let email =
            crate::email::templates::confirmation(&detail, &tickets, &self.config.public_base_url);
        let settle = Settle {
            payment_id: payment.id.clone(),
            webhook,
            now: now(),
        };
        let outcome = self
            .db
            .orders()
            .settle_success(&settle, &email, &tickets)
            .await?;
        count_settlement(&outcome);
        let refund_due = match &outcome {
            SettleOutcome::Confirmed(released) => {
                tracing::info!(order = %detail.order.id, "order confirmed");
                self.holds.after_release(released).await;
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
            SettleOutcome::Failed(_) | SettleOutcome::Declined => false,
        };
        if refund_due {
            self.refund_late_payment(&detail, payment).await?;
        }
        Ok(outcome)
    }

    /// Gives back a payment that arrived when the seats were gone. Safe to
    /// repeat: see [`refund_order`](Self::refund_order).
    pub(crate) async fn refund_late_payment(
        &self,
        detail: &OrderDetail,
        payment: &PaymentRecord,
    ) -> Result<()> {
        tracing::warn!(order = %detail.order.id, "paid after the seats were gone; refunding");
        let email = crate::email::templates::late_refund(detail);
        self.refund_order(detail, payment, RefundKind::LatePayment, &email)
            .await
    }

    /// Refunds an order's whole payment through the provider and records
    /// it with `email` to the buyer. A cancellation (`confirmed` →
    /// `cancelled`) puts the seats back on sale; a late payment
    /// (`refund_pending` → `refunded`) had none. Safe to repeat: the
    /// provider call is idempotent per order and the record is guarded by
    /// the order's status.
    pub(crate) async fn refund_order(
        &self,
        detail: &OrderDetail,
        payment: &PaymentRecord,
        kind: RefundKind,
        email: &NewEmail,
    ) -> Result<()> {
        let order_id = &detail.order.id;
        if let Some(code) = &payment.refund_error {
            return Err(refund_refused(code));
        }
        let provider_ref = payment
            .provider_ref
            .clone()
            .ok_or_else(|| BookingError::internal("paid payment without provider id"))?;
        // What a refund made in Stripe's Dashboard left; Stripe refuses to
        // refund more than that.
        let owed = payment.amount - payment.amount_refunded;
        let made = if owed > 0 {
            let made = self
                .payments
                .refund(&RefundRequest {
                    provider_ref,
                    amount: owed,
                    idempotency_key: format!("refund_{order_id}"),
                })
                .await;
            match made {
                Ok(made) => Some(made),
                Err(BookingError::PaymentProvider {
                    kind,
                    code,
                    request_id,
                    detail,
                }) if kind == "invalid_request_error" => {
                    // A refusal (already refunded, disputed, …) is final:
                    // recorded for operators and never retried.
                    let code = code.unwrap_or(kind);
                    tracing::warn!(order = %order_id, %code, ?request_id, %detail, "stripe refused the refund");
                    self.db
                        .payments()
                        .record_refund_refused(&payment.id, &code, request_id.as_deref(), now())
                        .await?;
                    return Err(refund_refused(&code));
                }
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        self.db
            .orders()
            .record_refund(
                &NewRefund {
                    id: format!("refund_{order_id}"),
                    order_id: order_id.clone(),
                    payment_id: payment.id.clone(),
                    provider_ref: made.as_ref().map(|m| m.provider_ref.clone()),
                    status: made
                        .as_ref()
                        .map_or_else(|| "succeeded".to_owned(), |m| m.status.clone()),
                    request_id: made.and_then(|m| m.request_id),
                    amount: owed.max(0),
                    reason: kind.reason().to_owned(),
                    cancel: kind.cancels(),
                    now: now(),
                },
                Some(email),
            )
            .await?;
        if kind.cancels() {
            self.seat_maps.invalidate(&detail.order.event_id);
            self.holds.waitlist_after_cancel(detail).await;
        }
        self.mail_wakeup.notify_one();
        Ok(())
    }

    /// A declined attempt (Stripe `payment_intent.payment_failed`): the
    /// order stays payable and its seats held until the hold ends; the
    /// decline is kept for the checkout page.
    pub async fn payment_declined(
        &self,
        payment: &PaymentRecord,
        webhook: Option<(String, String)>,
        decline: &Decline,
    ) -> Result<SettleOutcome> {
        let settle = Settle {
            payment_id: payment.id.clone(),
            webhook,
            now: now(),
        };
        let outcome = self.db.payments().settle_decline(&settle, decline).await?;
        count_settlement(&outcome);
        if outcome == SettleOutcome::Declined {
            tracing::info!(payment = %payment.id, code = ?decline.code, "payment attempt declined");
        }
        Ok(outcome)
    }

    /// The PaymentIntent was canceled (at Stripe): the order fails and its
    /// hold is released.
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
        count_settlement(&outcome);
        if let SettleOutcome::Failed(Some(released)) = &outcome {
            self.holds.after_release(released).await;
        }
        Ok(outcome)
    }
}

fn count_settlement(outcome: &SettleOutcome) {
    crate::metrics::count_named("waitroom_payments_total", outcome.as_str());
}

/// The answer to a refund Stripe refused (now or before).
pub(crate) fn refund_refused(code: &str) -> BookingError {
    if code == "charge_already_refunded" {
        BookingError::Conflict {
            code: ErrorCode::AlreadyRefunded,
            message: "this order was refunded already".to_owned(),
        }
    } else {
        BookingError::Conflict {
            code: ErrorCode::RefundRefused,
            message: format!("the payment provider refused the refund ({code})"),
        }
    }
}
