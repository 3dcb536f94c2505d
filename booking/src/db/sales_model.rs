//! Rows and commands of the operators' side of booking: editing events,
//! the sales summary, the order export, and the work of cancelling a sale.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Fields an operator may change on an event; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct EventChanges {
    /// Display name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// When the event takes place.
    pub starts_at: Option<DateTime<Utc>>,
    /// One of [`super::CATEGORIES`].
    pub category: Option<String>,
    /// Where it takes place.
    pub city: Option<String>,
}

/// What an event has sold, holds and has given back, at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SalesSummary {
    /// Event.
    pub event_id: String,
    /// ISO code, lowercase.
    pub currency: String,
    /// Seats plus general-admission places.
    pub capacity: i64,
    /// Places sold (paid and not refunded).
    pub sold: i64,
    /// Places in active holds.
    pub held: i64,
    /// Places neither sold nor held.
    pub available: i64,
    /// Holds not yet ended.
    pub active_holds: i64,
    /// Orders by status.
    pub orders: OrderCounts,
    /// Minor units kept: the totals of confirmed orders.
    pub revenue: i64,
    /// Minor units given back (also refunds made in Stripe's Dashboard).
    pub refunded: i64,
    /// Orders whose refund Stripe refused (see the export's `refund_error`).
    pub refunds_refused: i64,
    /// Orders whose payment is disputed (any dispute status).
    pub disputed: i64,
    /// Tickets at the door: sold, arrived, by gate and by minute.
    pub checkins: super::CheckinCounts,
}

/// Orders of an event by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OrderCounts {
    /// Awaiting payment.
    pub pending: i64,
    /// Paid.
    pub confirmed: i64,
    /// Payment failed.
    pub failed: i64,
    /// Cancelled (before payment, or after with a refund).
    pub cancelled: i64,
    /// A refund is owed and not yet through.
    pub refund_pending: i64,
    /// Refunded without being cancelled: paid after the seats were gone,
    /// or refunded in full in Stripe's Dashboard (seats stay sold).
    pub refunded: i64,
}

impl OrderCounts {
    /// Adds `n` orders in `status`; unknown statuses are ignored.
    pub fn add(&mut self, status: &str, n: i64) {
        let slot = match status {
            "pending" => &mut self.pending,
            "confirmed" => &mut self.confirmed,
            "failed" => &mut self.failed,
            "cancelled" => &mut self.cancelled,
            "refund_pending" => &mut self.refund_pending,
            "refunded" => &mut self.refunded,
            _ => return,
        };
        *slot += n;
    }
}

/// One order as the CSV export shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderExportRow {
    /// Id.
    pub id: String,
    /// Booking reference.
    pub reference: String,
    /// Status.
    pub status: String,
    /// Buyer's email.
    pub email: String,
    /// Minor units.
    pub total: i64,
    /// Currency.
    pub currency: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Paid.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// `stripe` or `dev`.
    pub provider: Option<String>,
    /// The provider's payment id.
    pub provider_ref: Option<String>,
    /// Minor units refunded.
    pub refunded: i64,
    /// Stripe's code when it refused the refund.
    pub refund_error: Option<String>,
    /// Stripe's dispute status, if the charge is disputed.
    pub dispute_status: Option<String>,
    /// Live tickets.
    pub tickets: i64,
    /// Tickets checked in.
    pub checked_in: i64,
}

/// An order line of an exported order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportLine {
    /// Order.
    pub order_id: String,
    /// `Section A, row 3, seat 12`.
    pub description: String,
    /// Places.
    pub quantity: i64,
}

/// Keyset cursor of the export: the last `(created_at, id)` returned.
pub type ExportCursor = (DateTime<Utc>, String);

/// What is still open on an event being cancelled.
#[derive(Debug, Clone, Default)]
pub struct OpenSales {
    /// Orders awaiting payment.
    pub pending: Vec<String>,
    /// Paid orders to refund.
    pub confirmed: Vec<String>,
    /// Orders owed a refund already (late payments).
    pub refund_pending: Vec<String>,
    /// Active holds with no pending order.
    pub holds: Vec<String>,
}
