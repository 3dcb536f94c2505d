//! Rows and commands of orders, payments, refunds, customers and the email
//! outbox (see `model.rs` for the conventions).

use super::Released;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Checkout of a hold.
#[derive(Debug, Clone)]
pub struct NewCheckout {
    /// Hold.
    pub hold_id: String,
    /// New order id (unused when the hold already has an order).
    pub order_id: String,
    /// Human booking reference.
    pub reference: String,
    /// New payment id.
    pub payment_id: String,
    /// New customer id if the email is new.
    pub customer_id: String,
    /// Lowercased email.
    pub email: String,
    /// Payment provider name.
    pub provider: String,
    /// Now.
    pub now: DateTime<Utc>,
    /// The page's language (`en`, `fr`, …), for the order's emails.
    pub lang: String,
}

/// Result of a checkout.
#[derive(Debug, Clone)]
pub enum CheckoutOutcome {
    /// The order (new or from an earlier call) and its payment.
    Order(Box<OrderDetail>),
    /// The hold is not active any more (expired, released, completed).
    HoldNotActive,
    /// No such hold.
    NoHold,
}

/// An order row.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct OrderRecord {
    /// Id.
    pub id: String,
    /// Booking reference.
    pub reference: String,
    /// Hold.
    pub hold_id: String,
    /// Event.
    pub event_id: String,
    /// Customer.
    pub customer_id: String,
    /// Email.
    pub email: String,
    /// Session hash of the checkout session.
    #[serde(skip)]
    pub session_hash: String,
    /// pending / confirmed / failed / cancelled / refund_pending / refunded.
    pub status: String,
    /// Minor units.
    pub total: i64,
    /// Currency.
    pub currency: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The page's language at checkout (`en`, `fr`, …): the order's emails
    /// are written in it.
    pub lang: String,
}

/// An order line.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct OrderLineRecord {
    /// Seat, for seated lines.
    pub seat_id: Option<i64>,
    /// Pool, for GA lines.
    pub ga_pool_id: Option<i64>,
    /// e.g. "Stalls row B seat 7".
    pub description: String,
    /// Places.
    pub quantity: i64,
    /// Minor units.
    pub unit_price: i64,
}

/// A payment row.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct PaymentRecord {
    /// Id (also the provider idempotency key).
    pub id: String,
    /// Order.
    pub order_id: String,
    /// dev / stripe.
    pub provider: String,
    /// PaymentIntent id.
    pub provider_ref: Option<String>,
    /// For Stripe.js.
    #[serde(skip)]
    pub client_secret: Option<String>,
    /// Minor units.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// pending / succeeded / failed / refunded.
    pub status: String,
    /// Declined attempts so far (each one left the order payable).
    pub failed_attempts: i64,
    /// The last decline: Stripe's `decline_code` (or `code`).
    pub last_error_code: Option<String>,
    /// The last decline, as Stripe words it for the cardholder.
    pub last_error_message: Option<String>,
    /// Minor units given back (ours and any made in Stripe's Dashboard).
    pub amount_refunded: i64,
    /// Stripe's code when it refused our refund; never retried after.
    pub refund_error: Option<String>,
    /// Stripe's Dispute status when the charge is disputed.
    pub dispute_status: Option<String>,
    /// Cancelling the provider-side payment: `due`, `done` or `refused`.
    pub intent_cancel: Option<String>,
    /// Stripe `Request-Id` of the PaymentIntent creation.
    pub create_request_id: Option<String>,
    /// Stripe `Request-Id` of the PaymentIntent cancellation.
    pub cancel_request_id: Option<String>,
    /// Stripe `Request-Id` of the refund.
    pub refund_request_id: Option<String>,
}

/// An order with lines, payment and event name.
#[derive(Debug, Clone, Serialize)]
pub struct OrderDetail {
    /// The order.
    #[serde(flatten)]
    pub order: OrderRecord,
    /// Event name, for receipts.
    pub event_name: String,
    /// Lines.
    pub lines: Vec<OrderLineRecord>,
    /// Payment.
    pub payment: Option<PaymentRecord>,
    /// Tickets (issued when the order is confirmed).
    pub tickets: Vec<super::TicketRecord>,
}

/// A payment outcome to apply.
#[derive(Debug, Clone)]
pub struct Settle {
    /// Payment.
    pub payment_id: String,
    /// Webhook event `(id, type)` to claim in the same transaction.
    pub webhook: Option<(String, String)>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// What applying a payment outcome did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleOutcome {
    /// This webhook event was handled before.
    Duplicate,
    /// The order was already past this point; nothing changed.
    AlreadySettled,
    /// Confirmed; the hold is completed and its session can end.
    Confirmed(Released),
    /// Paid but the seats are gone (or the order was cancelled): the order
    /// is `refund_pending` and the money must go back.
    RefundDue,
    /// Failed; the hold was released if it was still active.
    Failed(Option<Released>),
    /// A declined attempt: recorded, the order stays payable and its seats
    /// held until the hold ends.
    Declined,
}

impl SettleOutcome {
    /// A stable name for clients (the variants' data stays internal).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::AlreadySettled => "already_settled",
            Self::Confirmed(_) => "confirmed",
            Self::RefundDue => "refund_due",
            Self::Failed(_) => "failed",
            Self::Declined => "declined",
        }
    }
}

/// A refund to record.
#[derive(Debug, Clone)]
pub struct NewRefund {
    /// Refund id.
    pub id: String,
    /// Order.
    pub order_id: String,
    /// Payment.
    pub payment_id: String,
    /// Provider's refund id.
    pub provider_ref: Option<String>,
    /// Provider's refund status (`succeeded`, `pending`, …).
    pub status: String,
    /// Provider's id of the refund call.
    pub request_id: Option<String>,
    /// Minor units.
    pub amount: i64,
    /// `cancelled` (customer) or `late_payment`.
    pub reason: String,
    /// Cancellation: the order's sold seats go back on sale.
    pub cancel: bool,
    /// Now.
    pub now: DateTime<Utc>,
}

/// A customer's order in a list.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct OrderSummary {
    /// Id.
    pub id: String,
    /// Reference.
    pub reference: String,
    /// Event.
    pub event_id: String,
    /// Event name.
    pub event_name: String,
    /// Status.
    pub status: String,
    /// Minor units.
    pub total: i64,
    /// Currency.
    pub currency: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// An email to queue.
#[derive(Debug, Clone)]
pub struct NewEmail {
    /// confirmation / cancellation / refund.
    pub kind: String,
    /// To.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Plain text body.
    pub body_text: String,
    /// HTML body.
    pub body_html: String,
}

/// An outbox row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailRecord {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// To.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Text.
    pub body_text: String,
    /// HTML.
    pub body_html: String,
    /// Attempts so far (including this one).
    pub attempts: i64,
}
