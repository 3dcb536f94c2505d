//! The operators' side of booking: editing and publishing events, the
//! sales summary, the order export as CSV, and cancelling a sale (every
//! hold released, every unpaid order cancelled, every buyer refunded and
//! told). The admin crate calls these; they are not on the public router.

use crate::catalog::SeatMapCache;
use crate::db::{
    CatalogSeed, Db, EventChanges, EventRecord, ExportCursor, HoldStatus, SalesSummary, SeedSection,
};
use crate::email::templates::decimal;
use crate::error::{BookingError, Result};
use crate::holds::Holds;
use crate::payment::checkout::order_detail;
use crate::payment::settle::{Payments, RefundKind};
use crate::state::now;
use crate::tickets::Tickets;
use queue::api::ErrorCode;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// What cancelling an event did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CancelReport {
    /// `false` when the event was cancelled before (this call resumed the
    /// work a previous one left, e.g. refunds the provider refused).
    pub newly_cancelled: bool,
    /// Active holds released.
    pub holds_released: u64,
    /// Unpaid orders cancelled.
    pub pending_cancelled: u64,
    /// Paid orders refunded and cancelled; their buyers are emailed.
    pub refunded: u64,
    /// Orders whose refund failed; cancelling again retries them.
    pub refund_failed: Vec<String>,
}

/// Refunds retried per round of [`Sales::retry_refunds`].
const REFUND_BATCH: i64 = 50;

/// Rows per database page of the CSV export.
pub const EXPORT_PAGE: i64 = 500;

/// The export's header line.
pub const CSV_HEADER: &str = "order_id,reference,status,email,created_at,confirmed_at,places,\
items,total,refunded,currency,provider,provider_ref,refund_error,dispute,tickets,checked_in\r\n";

/// The sales service: what operators do to events and their sales.
#[derive(Clone)]
pub struct Sales {
    pub(crate) db: Db,
    pub(crate) seat_maps: Arc<SeatMapCache>,
    /// Releases the holds of a cancelled event.
    pub(crate) holds: Holds,
    /// Refunds the orders of a cancelled event, and owed refunds.
    pub(crate) settlement: Payments,
    /// Check-in counts for the summary.
    pub(crate) tickets: Tickets,
}

impl Sales {
    /// Creates a venue, an event and its seat map in one transaction;
    /// `false` (nothing written) when an event with this id exists, decided
    /// by the event's primary key so concurrent creates get one winner.
    pub async fn create_event(&self, seed: &CatalogSeed) -> Result<bool> {
        self.db.catalog().insert_catalog(seed).await
    }

    /// Up to `limit` events of any status, latest date first.
    pub async fn all_events(&self, limit: i64) -> Result<Vec<EventRecord>> {
        self.db.sales().all_events(limit).await
    }

    /// Any event, any status, or `None`.
    pub async fn event(&self, id: &str) -> Result<Option<EventRecord>> {
        self.db.catalog().event(id).await
    }

    /// Any event, any status, or 404.
    async fn any_event(&self, id: &str) -> Result<EventRecord> {
        self.db
            .catalog()
            .event(id)
            .await?
            .ok_or(BookingError::NotFound("event"))
    }

    /// Changes an event's details; 409 once it is cancelled.
    pub async fn update_event(&self, id: &str, changes: &EventChanges) -> Result<EventRecord> {
        self.any_event(id).await?;
        if !self.db.sales().update_event(id, changes).await? {
            return Err(cancelled_conflict());
        }
        self.seat_maps.invalidate_event(id);
        self.any_event(id).await
    }

    /// Replaces a draft's seat map; 409 once it is on sale (fans may hold
    /// its seats) or cancelled.
    pub async fn replace_seat_map(
        &self,
        id: &str,
        tiers: &[(String, i64)],
        sections: &[SeedSection],
    ) -> Result<()> {
        let event = self.any_event(id).await?;
        if !self
            .db
            .sales()
            .replace_seat_map(id, tiers, sections)
            .await?
        {
            return Err(not_a_draft(
                &event,
                "only a draft's seat map can be replaced",
            ));
        }
        self.seat_maps.invalidate_event(id);
        Ok(())
    }

    /// Puts a draft on sale; 409 unless it is a draft.
    pub async fn publish_event(&self, id: &str) -> Result<EventRecord> {
        let before = self.any_event(id).await?;
        if !self.db.sales().publish_event(id).await? {
            return Err(not_a_draft(&before, "only a draft can be published"));
        }
        self.seat_maps.invalidate_event(id);
        self.any_event(id).await
    }

    /// The sales summary of an event (any status).
    pub async fn sales_summary(&self, id: &str) -> Result<SalesSummary> {
        let mut summary = self
            .db
            .sales()
            .summary(id)
            .await?
            .ok_or(BookingError::NotFound("event"))?;
        summary.checkins = self.tickets.checkin_counts(id).await?;
        Ok(summary)
    }

    /// Cancels the event: no more holds can be placed (the place
    /// transaction checks the event row), active holds are released,
    /// unpaid orders cancelled, and paid ones refunded through the payment
    /// provider with an email to each buyer. Safe to call again: it
    /// resumes with whatever is still open, so a refund the provider
    /// refused is retried by cancelling again.
    pub async fn cancel_event(&self, id: &str, reason: &str) -> Result<CancelReport> {
        self.any_event(id).await?;
        let mut report = CancelReport {
            newly_cancelled: self.db.sales().cancel_event(id, reason).await?,
            ..CancelReport::default()
        };
        self.seat_maps.invalidate_event(id);
        let open = self.db.sales().open_sales(id).await?;
        for order in &open.pending {
            if let Some(released) = self.db.orders().cancel_pending(order, now()).await? {
                self.holds.after_release(&released).await;
                report.pending_cancelled += 1;
            }
        }
        for hold in &open.holds {
            let released = self
                .db
                .holds()
                .release(hold, HoldStatus::Released, now())
                .await?;
            if let Some(released) = released {
                self.holds.after_release(&released).await;
                report.holds_released += 1;
            }
        }
        for order in open.confirmed.iter().chain(&open.refund_pending) {
            match self.refund_for_cancellation(order, reason).await {
                Ok(()) => report.refunded += 1,
                Err(e) => {
                    tracing::warn!(order = %order, error = %e, "refund for a cancelled event failed");
                    report.refund_failed.push(order.clone());
                }
            }
        }
        tracing::info!(event = %id, ?report, "event cancelled");
        Ok(report)
    }

    /// Refunds what is still owed: late payments, and paid orders of
    /// cancelled events whose refund failed (the provider was down during
    /// the cancellation). Returns how many went through; the rest are
    /// tried again next time. Safe on several nodes at once: the provider
    /// call is idempotent per order and the record is guarded by status.
    pub async fn retry_refunds(&self) -> Result<usize> {
        // PaymentIntents of orders that ended unpaid while Stripe was
        // unreachable: cancelled here too.
        if let Err(e) = self.settlement.cancel_due_intents(None).await {
            tracing::warn!(error = %e, "PaymentIntent cancellation round failed");
        }
        let due = self.db.sales().refunds_due(REFUND_BATCH).await?;
        let mut done = 0;
        for (order, reason) in due {
            match self.refund_for_cancellation(&order, &reason).await {
                Ok(()) => done += 1,
                Err(e) => tracing::warn!(order = %order, error = %e, "refund retry failed"),
            }
        }
        Ok(done)
    }

    async fn refund_for_cancellation(&self, order_id: &str, reason: &str) -> Result<()> {
        let detail = order_detail(&self.db, order_id).await?;
        let payment = detail
            .payment
            .as_ref()
            .ok_or_else(|| BookingError::internal("paid order without payment"))?;
        if detail.order.status == "refund_pending" {
            return self.settlement.refund_late_payment(&detail, payment).await;
        }
        let email = crate::email::templates::event_cancelled(&detail, reason);
        self.settlement
            .refund_order(&detail, payment, RefundKind::EventCancelled, &email)
            .await
    }

    /// One page of the event's orders as CSV lines (no header), and the
    /// cursor of the next page; `None` after the last page.
    pub async fn export_page(
        &self,
        id: &str,
        after: Option<&ExportCursor>,
    ) -> Result<(String, Option<ExportCursor>)> {
        let (orders, lines) = self
            .db
            .sales()
            .export_orders(id, after, EXPORT_PAGE)
            .await?;
        let mut items: HashMap<&str, (i64, Vec<&str>)> = HashMap::new();
        for line in &lines {
            let entry = items.entry(line.order_id.as_str()).or_default();
            entry.0 += line.quantity;
            entry.1.push(&line.description);
        }
        let mut out = String::new();
        for o in &orders {
            let (places, descriptions) = items
                .get(o.id.as_str())
                .map_or((0, String::new()), |(n, d)| (*n, d.join("; ")));
            let fields = [
                csv_field(&o.id),
                csv_field(&o.reference),
                csv_field(&o.status),
                csv_field(&o.email),
                o.created_at.to_rfc3339(),
                o.confirmed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                places.to_string(),
                csv_field(&descriptions),
                decimal(o.total),
                decimal(o.refunded),
                csv_field(&o.currency.to_uppercase()),
                csv_field(o.provider.as_deref().unwrap_or("")),
                csv_field(o.provider_ref.as_deref().unwrap_or("")),
                csv_field(o.refund_error.as_deref().unwrap_or("")),
                csv_field(o.dispute_status.as_deref().unwrap_or("")),
                o.tickets.to_string(),
                o.checked_in.to_string(),
            ];
            let _ = write!(out, "{}\r\n", fields.join(","));
        }
        let next = if orders.len() as i64 == EXPORT_PAGE {
            orders.last().map(|o| (o.created_at, o.id.clone()))
        } else {
            None
        };
        Ok((out, next))
    }
}

fn not_a_draft(event: &EventRecord, what: &str) -> BookingError {
    BookingError::Conflict {
        code: ErrorCode::NotADraft,
        message: format!("{what}; this event is {}", event.status),
    }
}

fn cancelled_conflict() -> BookingError {
    BookingError::Conflict {
        code: ErrorCode::EventCancelled,
        message: "the event is cancelled and can no longer be changed".to_owned(),
    }
}

/// One CSV field (RFC 4180 quoting). Text a spreadsheet would run as a
/// formula (leading `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`,
/// since buyers choose their own email addresses.
pub fn csv_field(raw: &str) -> String {
    let mut v = String::with_capacity(raw.len() + 2);
    if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        v.push('\'');
    }
    v.push_str(raw);
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// The refund worker: every `period`, refunds what is owed. Runs until its
/// task is aborted.
pub async fn run_refunds(state: Sales, period: std::time::Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.retry_refunds().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(refunded = n, "owed refunds paid"),
            Err(e) => tracing::warn!(error = %e, "refund retry round failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{csv_field, decimal};

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal(0), "0.00");
        assert_eq!(decimal(1250), "12.50");
        assert_eq!(decimal(-5), "-0.05");
    }
}
