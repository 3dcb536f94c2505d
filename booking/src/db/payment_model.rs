//! Commands of the payment side that follow Stripe's objects: declined
//! attempts, and refunds and disputes made outside waitroom.

use chrono::{DateTime, Utc};

/// A declined attempt (Stripe `payment_intent.payment_failed`).
#[derive(Debug, Clone)]
pub struct Decline {
    /// Stripe's `decline_code`, or its `code` when there is none.
    pub code: Option<String>,
    /// Stripe's message for the cardholder.
    pub message: Option<String>,
}

/// A webhook that changes a payment's mirror of Stripe's state. `webhook`
/// is the event `(id, type)` claimed in the same transaction.
#[derive(Debug, Clone)]
pub struct Mirror {
    /// Our payment.
    pub payment_id: String,
    /// The event to claim.
    pub webhook: Option<(String, String)>,
    /// What changed.
    pub change: MirrorChange,
    /// Now.
    pub now: DateTime<Utc>,
}

/// What a mirrored event says.
#[derive(Debug, Clone)]
pub enum MirrorChange {
    /// `charge.refunded`: the charge's cumulative `amount_refunded`.
    ChargeRefunded {
        /// Minor units refunded so far, per Stripe.
        amount_refunded: i64,
    },
    /// `charge.refund.updated`: one refund and its state.
    Refund {
        /// `re_…`.
        provider_ref: String,
        /// Minor units.
        amount: i64,
        /// `pending`, `succeeded`, `failed`, `canceled`, `requires_action`.
        status: String,
        /// Why it failed, when it did.
        failure_reason: Option<String>,
    },
    /// `charge.dispute.*`: the dispute's status.
    Dispute {
        /// `needs_response`, `under_review`, `won`, `lost`, …
        status: String,
    },
}
