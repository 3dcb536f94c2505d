//! Storage: a [`Db`] facade with one small repository per aggregate, each a
//! trait with one implementation per backend (`postgres`, `sqlite`).
//!
//! The SQL is the same lowercase text on both backends (both accept `$n`
//! placeholders and `returning`); it is written once in `sql/` as macros
//! that [`for_each_backend!`](crate::for_each_backend) instantiates for
//! each backend store. What differs between dialects (how a write
//! transaction starts, `for update skip locked`, pool setup) lives in the
//! backend module. Another crate sharing the database (admin) writes its
//! SQL the same way, on the same stores: [`Db::store`].

mod account_model;
mod look_model;
pub mod migrate;
mod model;
mod order_model;
mod payment_model;
mod sales_model;
mod search_model;
mod ticket_model;
#[macro_use]
mod sql;
mod place;
mod postgres;
pub mod seed;
mod sqlite;
mod store;

pub use account_model::*;
pub use look_model::*;
pub use model::*;
pub use order_model::*;
pub use payment_model::*;
pub use postgres::PgStore;
pub use sales_model::*;
pub use search_model::*;
pub use sqlite::SqliteStore;
pub use store::Store;
pub use ticket_model::*;

use crate::config::HoldCommit;
use crate::error::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Events, venues, sections, seats and pools (read mostly).
#[async_trait]
pub trait CatalogRepo: Send + Sync {
    /// Published events matching the query's filters, in its order, after
    /// its cursor.
    async fn list_events(&self, query: &EventQuery) -> Result<Vec<EventListing>>;
    /// One event, any status.
    async fn event(&self, id: &str) -> Result<Option<EventRecord>>;
    /// Sections, tiers, seats and pools of an event, with availability.
    async fn seat_map(&self, event: &str) -> Result<SeatMapData>;
    /// Seat and pool prices of an event: what a hold needs of its seat map.
    async fn prices(&self, event: &str) -> Result<PriceList> {
        let map = self.seat_map(event).await?;
        let tier = |id: i64| map.tiers.iter().find(|t| t.id == id).map_or(0, |t| t.price);
        Ok(PriceList {
            seats: map
                .seats
                .iter()
                .map(|s| (s.id, tier(s.price_tier_id)))
                .collect(),
            pools: map
                .pools
                .iter()
                .map(|p| (p.id, tier(p.price_tier_id)))
                .collect(),
        })
    }
    /// How many events exist (seeding runs only on an empty database).
    async fn event_count(&self) -> Result<i64>;
    /// Seats and GA places of the event neither held nor sold: 0 means
    /// sold out (the waitlist takes over). The default counts the seat
    /// map; the SQL backends count in the database.
    async fn available(&self, event: &str) -> Result<i64> {
        let map = self.seat_map(event).await?;
        let seats = map.seats.iter().filter(|s| s.status == "available").count();
        let places: i64 = map
            .pools
            .iter()
            .map(|p| (p.capacity - p.held - p.sold).max(0))
            .sum();
        Ok(seats as i64 + places)
    }
    /// Whether nothing of the event is left: [`Self::left`] finds no free
    /// seat and no GA place.
    async fn sold_out(&self, event: &str) -> Result<bool> {
        Ok(self.left(event, 0).await?.sold_out())
    }
    /// Whether anything of the event is left, for the waitlist after each
    /// hold: a free seat (the first at or after seat id `from`, else the
    /// first of all) and whether GA places are. Looking from the last free
    /// seat found passes over the seats taken since; looking from the
    /// event's first seat passes over every seat taken before the last
    /// vacuum.
    async fn left(&self, event: &str, from: i64) -> Result<Left> {
        let map = self.seat_map(event).await?;
        let free = map.seats.iter().filter(|s| s.status == "available");
        let after = free.clone().filter(|s| s.id >= from).map(|s| s.id).min();
        Ok(Left {
            seat: after.or_else(|| free.map(|s| s.id).min()),
            places: map.pools.iter().any(|p| p.capacity > p.held + p.sold),
        })
    }
    /// Creates a venue, an event and its seat map in one transaction;
    /// `false` (and nothing written) when an event with this id exists,
    /// decided by the event's primary key so concurrent creates get one
    /// winner.
    async fn insert_catalog(&self, seed: &CatalogSeed) -> Result<bool>;
}

/// Seat holds: the all-or-nothing heart of the service.
#[async_trait]
pub trait HoldRepo: Send + Sync {
    /// In one transaction: consumes the admission `jti`, creates the hold
    /// and takes every seat (in id order) or nothing.
    async fn place(&self, hold: &NewHold) -> Result<PlaceOutcome>;
    /// [`Self::place`], and what was left of the event once it committed,
    /// when the backend found that out in the same call; `None`: ask
    /// [`CatalogRepo::left`].
    async fn place_then_left(&self, hold: &NewHold) -> Result<(PlaceOutcome, Option<Left>)> {
        Ok((self.place(hold).await?, None))
    }
    /// A hold with its seats and GA places.
    async fn get(&self, id: &str) -> Result<Option<HoldDetail>>;
    /// Ends an active hold (`released` or `expired`) and frees its seats.
    /// `None` when it was not active.
    async fn release(
        &self,
        id: &str,
        status: HoldStatus,
        now: DateTime<Utc>,
    ) -> Result<Option<Released>>;
    /// Expires up to `limit` active holds past their expiry; safe to run on
    /// several nodes at once.
    async fn expire_due(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Released>>;
}

/// Orders, their lines, payments, refunds and webhook idempotency.
#[async_trait]
pub trait OrderRepo: Send + Sync {
    /// Creates the pending order and payment for an active hold, or returns
    /// the ones a previous checkout of the same hold created.
    async fn checkout(&self, new: &NewCheckout) -> Result<CheckoutOutcome>;
    /// Stores the provider's payment reference once it exists.
    async fn set_provider_ref(
        &self,
        payment_id: &str,
        provider_ref: &str,
        client_secret: Option<&str>,
        request_id: Option<&str>,
    ) -> Result<()>;
    /// An order with its lines and payment.
    async fn order(&self, id: &str) -> Result<Option<OrderDetail>>;
    /// A payment by our id.
    async fn payment(&self, id: &str) -> Result<Option<PaymentRecord>>;
    /// A payment by the provider's id (PaymentIntent id).
    async fn payment_by_provider_ref(&self, provider_ref: &str) -> Result<Option<PaymentRecord>>;
    /// Payment succeeded: confirms the order, sells the seats and issues
    /// `tickets`, queuing `email`, all in one transaction; or reports that
    /// a refund is due.
    async fn settle_success(
        &self,
        settle: &Settle,
        email: &NewEmail,
        tickets: &[NewTicket],
    ) -> Result<SettleOutcome>;
    /// The PaymentIntent was canceled: fails a pending order and releases
    /// its hold.
    async fn settle_failure(&self, settle: &Settle) -> Result<SettleOutcome>;
    /// Records a refund; `cancel` also returns the order's sold seats.
    async fn record_refund(&self, refund: &NewRefund, email: Option<&NewEmail>) -> Result<()>;
    /// Cancels a pending (unpaid) order and releases its hold; its
    /// PaymentIntent is then due for cancelling.
    async fn cancel_pending(&self, order_id: &str, now: DateTime<Utc>) -> Result<Option<Released>>;
    /// Claims a webhook event id; `false` when it was seen before.
    async fn claim_webhook(&self, id: &str, kind: &str, now: DateTime<Utc>) -> Result<bool>;
    /// A customer's orders, newest first.
    async fn orders_for_customer(&self, customer_id: &str) -> Result<Vec<OrderSummary>>;
}

/// The payment side that follows Stripe: declined attempts, cancelling
/// PaymentIntents of orders that ended unpaid, refunds Stripe refused, and
/// refunds and disputes made outside waitroom.
#[async_trait]
pub trait PaymentRepo: Send + Sync {
    /// Records a declined attempt on a pending order, which stays payable
    /// with its seats held; claims the webhook event in the same
    /// transaction.
    async fn settle_decline(&self, settle: &Settle, decline: &Decline) -> Result<SettleOutcome>;
    /// `(payment id, provider ref)` of PaymentIntents to cancel at the
    /// provider: of the order of `hold` only, or any (up to `limit`).
    async fn intents_to_cancel(
        &self,
        hold: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, String)>>;
    /// The provider answered a cancellation: `done` (cancelled) or
    /// `refused` (too late: it succeeded).
    async fn record_intent_cancel(
        &self,
        payment_id: &str,
        outcome: &str,
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The provider refused our refund with `code`; it is not tried again.
    async fn record_refund_refused(
        &self,
        payment_id: &str,
        code: &str,
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Applies a refund or dispute event; `false` when the event was seen
    /// before.
    async fn mirror(&self, m: &Mirror) -> Result<bool>;
}

/// Customer accounts and the verification of their email.
#[async_trait]
pub trait CustomerRepo: Send + Sync {
    /// A customer by (lowercased) email.
    async fn by_email(&self, email: &str) -> Result<Option<CustomerRecord>>;
    /// A customer by id.
    async fn by_id(&self, id: &str) -> Result<Option<CustomerRecord>>;
    /// Counts one account mail to `email` against `limit` per `window`
    /// (one atomic upsert, so concurrent requests cannot overshoot).
    async fn spend_mail_budget(
        &self,
        email: &str,
        limit: i64,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<MailBudget>;
    /// Stores a pending registration and queues its link, in one
    /// transaction.
    async fn add_verification(&self, pending: &VerificationRecord, mail: &NewEmail) -> Result<()>;
    /// A pending registration by token hash, if unused and unexpired.
    async fn verification(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<VerificationRecord>>;
    /// The newest unused, unexpired registration of `email`.
    async fn latest_verification(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<VerificationRecord>>;
    /// Uses the token (once) and makes its email an account with its
    /// password, creating the customer row if no guest order made one; the
    /// email's other pending links die, and `welcome` is queued. `None`
    /// (nothing queued) when the token was already used or expired (a
    /// concurrent use won).
    async fn complete_verification(
        &self,
        token_hash: &str,
        new_customer_id: &str,
        now: DateTime<Utc>,
        welcome: &NewEmail,
    ) -> Result<Option<CustomerRecord>>;
    /// Gives an order to an account (checked out while signed in).
    async fn assign_order(&self, order_id: &str, customer_id: &str) -> Result<()>;
}

/// The email outbox.
#[async_trait]
pub trait OutboxRepo: Send + Sync {
    /// Queues an email on its own.
    async fn enqueue(&self, email: &NewEmail, now: DateTime<Utc>) -> Result<()>;
    /// Queues an email unless one with the same `key` was ever queued
    /// (several processes may see the same cause); `true` when queued.
    async fn enqueue_once(&self, email: &NewEmail, key: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Claims up to `limit` due emails, leasing them until `lease_until`
    /// so another worker does not send them meanwhile.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<EmailRecord>>;
    /// Sent.
    async fn mark_sent(&self, id: i64, now: DateTime<Utc>) -> Result<()>;
    /// Failed: retry at `retry_at`, or give up when `None`.
    async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// How many emails wait, and how many were given up on.
    async fn backlog(&self) -> Result<OutboxBacklog>;
}

/// The outbox's size, for the on-call gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxBacklog {
    /// Queued: due now or backing off after a failure.
    pub pending: i64,
    /// Given up after the last attempt.
    pub failed: i64,
}

/// The operators' side: event edits, reports, cancellation work.
#[async_trait]
pub trait SalesRepo: Send + Sync {
    /// Applies `changes` unless the event is cancelled; `false` when no
    /// such event is open to edits.
    async fn update_event(&self, id: &str, changes: &EventChanges) -> Result<bool>;
    /// Up to `limit` events of any status, latest date first.
    async fn all_events(&self, limit: i64) -> Result<Vec<EventRecord>>;
    /// Replaces a draft's tiers, sections, seats and pools in one
    /// transaction; `false` (nothing changed) unless the event is a draft.
    async fn replace_seat_map(
        &self,
        id: &str,
        tiers: &[(String, i64)],
        sections: &[SeedSection],
    ) -> Result<bool>;
    /// `draft` → `published`; `false` when the event was not a draft.
    async fn publish_event(&self, id: &str) -> Result<bool>;
    /// Any status → `cancelled`, keeping `reason` for the buyers' emails;
    /// `false` when it was cancelled already.
    async fn cancel_event(&self, id: &str, reason: &str) -> Result<bool>;
    /// Capacity, sales, holds, orders and money of an event; `None` when
    /// there is no such event.
    async fn summary(&self, event: &str) -> Result<Option<SalesSummary>>;
    /// Up to `limit` orders after the cursor in `(created_at, id)` order,
    /// with the lines of exactly those orders.
    async fn export_orders(
        &self,
        event: &str,
        after: Option<&ExportCursor>,
        limit: i64,
    ) -> Result<(Vec<OrderExportRow>, Vec<ExportLine>)>;
    /// Up to `limit` orders owed a refund, with the cancellation reason
    /// (empty for late payments): `refund_pending` ones, and paid orders of
    /// cancelled events whose refund failed.
    async fn refunds_due(&self, limit: i64) -> Result<Vec<(String, String)>>;
    /// Orders and holds a cancellation still has to end.
    async fn open_sales(&self, event: &str) -> Result<OpenSales>;
}

/// Tickets and the door.
#[async_trait]
pub trait TicketRepo: Send + Sync {
    /// One ticket, with its derived status.
    async fn ticket(&self, key: TicketKey<'_>) -> Result<Option<TicketRecord>>;
    /// Admits the ticket unless it was admitted before or is not live, in
    /// one atomic step; says which, with the ticket as it now is.
    async fn check_in(&self, scan: &Scan) -> Result<ScanOutcome>;
    /// Revokes ticket `old_id` (still at `old_version`, live and unused)
    /// and stores `new` for the same place (`new.place` is taken from the
    /// old row), in one transaction; `None` when the old one was not in
    /// that state.
    async fn reissue(
        &self,
        old_id: &str,
        old_version: i64,
        new: &NewTicket,
    ) -> Result<Option<TicketRecord>>;
    /// Every ticket of an event (the scanners' offline list).
    async fn event_tickets(&self, event: &str) -> Result<Vec<TicketRecord>>;
    /// Sold and arrived, by gate (`per_minute` left empty).
    async fn checkin_counts(&self, event: &str) -> Result<CheckinCounts>;
    /// Up to `limit` confirmed orders of published events starting in
    /// `(after, until]` that have not been reminded.
    async fn reminders_due(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<String>>;
    /// Marks the order reminded and queues `email`, in one transaction;
    /// `false` (nothing queued) when it was reminded already.
    async fn queue_reminder(
        &self,
        order_id: &str,
        email: &NewEmail,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// When each ticket admitted since `since` was admitted.
    async fn arrivals_since(&self, event: &str, since: DateTime<Utc>)
        -> Result<Vec<DateTime<Utc>>>;
}

/// Everything a backend provides.
trait Backend:
    CatalogRepo
    + HoldRepo
    + OrderRepo
    + PaymentRepo
    + CustomerRepo
    + OutboxRepo
    + SalesRepo
    + TicketRepo
    + LookRepo
{
    fn kind(&self) -> BackendKind;
}

/// Which database is behind the facade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// PostgreSQL (production, several nodes).
    Postgres,
    /// SQLite (embedded default, one node).
    Sqlite,
}

/// The storage facade: `db.holds().place(…)`.
#[derive(Clone)]
pub struct Db {
    backend: Arc<dyn BackendDyn>,
    store: Store,
}

crate::for_each_backend!(
    impl_catalog_repo,
    impl_event_search,
    impl_hold_repo,
    impl_order_repo,
    impl_settle,
    impl_account_repos,
    impl_sales_repo,
    impl_payment_repo,
    impl_ticket_repo,
    impl_look_repo,
);

/// Object-safe view of a backend with one accessor per repository.
trait BackendDyn: Send + Sync {
    fn catalog(&self) -> &dyn CatalogRepo;
    fn holds(&self) -> &dyn HoldRepo;
    fn orders(&self) -> &dyn OrderRepo;
    fn payments(&self) -> &dyn PaymentRepo;
    fn customers(&self) -> &dyn CustomerRepo;
    fn outbox(&self) -> &dyn OutboxRepo;
    fn sales(&self) -> &dyn SalesRepo;
    fn tickets(&self) -> &dyn TicketRepo;
    fn looks(&self) -> &dyn LookRepo;
    fn kind(&self) -> BackendKind;
}

impl<T: Backend + 'static> BackendDyn for T {
    fn catalog(&self) -> &dyn CatalogRepo {
        self
    }
    fn holds(&self) -> &dyn HoldRepo {
        self
    }
    fn orders(&self) -> &dyn OrderRepo {
        self
    }
    fn payments(&self) -> &dyn PaymentRepo {
        self
    }
    fn customers(&self) -> &dyn CustomerRepo {
        self
    }
    fn outbox(&self) -> &dyn OutboxRepo {
        self
    }
    fn sales(&self) -> &dyn SalesRepo {
        self
    }
    fn tickets(&self) -> &dyn TicketRepo {
        self
    }
    fn looks(&self) -> &dyn LookRepo {
        self
    }
    fn kind(&self) -> BackendKind {
        Backend::kind(self)
    }
}

impl Db {
    /// Connects to `url` (`postgres://…` or `sqlite://…`) and applies the
    /// migrations of that backend.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        Self::connect_with(url, max_connections, HoldCommit::default()).await
    }

    /// [`Self::connect`], with holds committed as `hold_commit` says
    /// (PostgreSQL only).
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        hold_commit: HoldCommit,
    ) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let store =
                Arc::new(postgres::PgStore::connect(url, max_connections, hold_commit).await?);
            Ok(Self {
                backend: store.clone(),
                store: Store::Postgres(store),
            })
        } else if url.starts_with("sqlite:") {
            let store = Arc::new(sqlite::SqliteStore::connect(url).await?);
            Ok(Self {
                backend: store.clone(),
                store: Store::Sqlite(store),
            })
        } else {
            Err(crate::error::BookingError::internal(
                "database_url must start with postgres:// or sqlite:",
            ))
        }
    }

    /// The backend store, for repositories of another crate on this pool.
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// `synchronous_commit` as the hold workers' sessions have it, then as
    /// the main pool's have it (PostgreSQL only): what
    /// [`HoldCommit`] set, seen from the server.
    #[doc(hidden)]
    pub async fn synchronous_commit(&self) -> Result<Option<(String, String)>> {
        match &self.store {
            Store::Postgres(pg) => Ok(Some(pg.synchronous_commit().await?)),
            Store::Sqlite(_) => Ok(None),
        }
    }

    /// Events, seats, pools.
    pub fn catalog(&self) -> &dyn CatalogRepo {
        self.backend.catalog()
    }
    /// Holds.
    pub fn holds(&self) -> &dyn HoldRepo {
        self.backend.holds()
    }
    /// Orders, payments, refunds, webhooks.
    pub fn orders(&self) -> &dyn OrderRepo {
        self.backend.orders()
    }
    /// Declines, PaymentIntent cancellation, mirrored refunds and disputes.
    pub fn payments(&self) -> &dyn PaymentRepo {
        self.backend.payments()
    }
    /// Customers.
    pub fn customers(&self) -> &dyn CustomerRepo {
        self.backend.customers()
    }
    /// Email outbox.
    pub fn outbox(&self) -> &dyn OutboxRepo {
        self.backend.outbox()
    }
    /// Event edits, reports, cancellation work.
    pub fn sales(&self) -> &dyn SalesRepo {
        self.backend.sales()
    }
    /// Tickets and check-ins.
    pub fn tickets(&self) -> &dyn TicketRepo {
        self.backend.tickets()
    }
    /// Events' fan-facing looks.
    pub fn looks(&self) -> &dyn LookRepo {
        self.backend.looks()
    }
    /// Which backend.
    pub fn kind(&self) -> BackendKind {
        self.backend.kind()
    }

    /// Readiness: one trivial query.
    pub async fn ping(&self) -> Result<()> {
        self.catalog().event_count().await.map(|_| ())
    }
}
