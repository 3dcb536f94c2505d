//! Rows and commands exchanged with the repositories. Status columns are
//! text in the database and plain strings here; the constants below are
//! the only spellings used.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Hold lifecycle: `active` until released by its owner, expired by the
/// sweeper, or completed by a successful payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStatus {
    /// Holding seats.
    Active,
    /// Given up by the fan, or ended by a cancelled PaymentIntent.
    Released,
    /// Timed out.
    Expired,
    /// Paid: its seats are sold.
    Completed,
}

impl HoldStatus {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Released => "released",
            Self::Expired => "expired",
            Self::Completed => "completed",
        }
    }
}

/// An event joined with its venue.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct EventRecord {
    /// Slug.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Venue name.
    pub venue_name: String,
    /// Venue city.
    pub venue_city: String,
    /// One of [`super::CATEGORIES`].
    pub category: String,
    /// Where the event takes place (the venue's city unless changed).
    pub city: String,
    /// Doors.
    pub starts_at: DateTime<Utc>,
    /// draft / published / cancelled.
    pub status: String,
    /// Sale window start (null: open).
    pub sale_starts_at: Option<DateTime<Utc>>,
    /// Sale window end (null: open).
    pub sale_ends_at: Option<DateTime<Utc>>,
    /// ISO 4217, lowercase.
    pub currency: String,
}

/// A section of the seat map.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct SectionRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// seated / general.
    pub kind: String,
    /// Display order.
    pub position: i64,
}

/// A price tier.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct TierRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Minor units.
    pub price: i64,
}

/// A seat with its current status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SeatRow {
    /// Id.
    pub id: i64,
    /// Section.
    pub section_id: i64,
    /// Row label.
    pub row_label: String,
    /// Seat number within the row.
    pub number: i64,
    /// Tier.
    pub price_tier_id: i64,
    /// available / held / sold.
    pub status: String,
}

/// A general-admission pool with its counters.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PoolRow {
    /// Id.
    pub id: i64,
    /// Section.
    pub section_id: i64,
    /// Tier.
    pub price_tier_id: i64,
    /// Places in total.
    pub capacity: i64,
    /// Places held.
    pub held: i64,
    /// Places sold.
    pub sold: i64,
}

/// Everything needed to draw an event's seat map.
#[derive(Debug, Clone, Default)]
pub struct SeatMapData {
    /// Sections by position.
    pub sections: Vec<SectionRow>,
    /// Tiers.
    pub tiers: Vec<TierRow>,
    /// Seats by id.
    pub seats: Vec<SeatRow>,
    /// GA pools.
    pub pools: Vec<PoolRow>,
}

/// What a hold costs, per seat and per GA place, without the rest of the
/// seat map.
#[derive(Debug, Clone, Default)]
pub struct PriceList {
    /// (seat id, price) of every seat.
    pub seats: Vec<(i64, i64)>,
    /// (pool id, unit price) of every GA pool.
    pub pools: Vec<(i64, i64)>,
}

/// What is left of an event, as [`super::CatalogRepo::left`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Left {
    /// A free seat, if any.
    pub seat: Option<i64>,
    /// Whether a GA pool has a place left.
    pub places: bool,
}

impl Left {
    /// Nothing left: the waitlist takes over.
    pub fn sold_out(&self) -> bool {
        self.seat.is_none() && !self.places
    }
}

/// A new event with its seat map (seeding, admin).
#[derive(Debug, Clone)]
pub struct CatalogSeed {
    /// Venue name.
    pub venue: String,
    /// The venue's and the event's city.
    pub city: String,
    /// One of [`super::CATEGORIES`].
    pub category: String,
    /// Event slug.
    pub event_id: String,
    /// Event name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Doors.
    pub starts_at: DateTime<Utc>,
    /// Initial status.
    pub status: String,
    /// ISO currency, lowercase.
    pub currency: String,
    /// `(name, price)` per tier.
    pub tiers: Vec<(String, i64)>,
    /// Sections.
    pub sections: Vec<SeedSection>,
    /// Creation time.
    pub now: DateTime<Utc>,
}

/// A section to create.
#[derive(Debug, Clone)]
pub struct SeedSection {
    /// Name.
    pub name: String,
    /// `(row label, seats in the row, tier index)`; empty for GA.
    pub rows: Vec<(String, i64, usize)>,
    /// `(capacity, tier index)` for a general-admission section.
    pub general: Option<(i64, usize)>,
}

/// One seat to hold, with the price it is held at.
#[derive(Debug, Clone, Copy)]
pub struct HoldSeatReq {
    /// Seat id.
    pub seat_id: i64,
    /// Price (minor units).
    pub price: i64,
}

/// GA places to hold.
#[derive(Debug, Clone, Copy)]
pub struct HoldGaReq {
    /// Pool id.
    pub pool_id: i64,
    /// How many.
    pub quantity: i64,
    /// Unit price.
    pub price: i64,
}

/// A hold to place.
#[derive(Debug, Clone)]
pub struct NewHold {
    /// New hold id.
    pub id: String,
    /// Event.
    pub event_id: String,
    /// Admitted visitor.
    pub visitor_id: String,
    /// Session hash from the admission token.
    pub session_hash: String,
    /// Admission token id, consumed here.
    pub jti: String,
    /// Seats, sorted by id (the lock order).
    pub seats: Vec<HoldSeatReq>,
    /// Or GA places.
    pub ga: Option<HoldGaReq>,
    /// Sum of prices.
    pub total: i64,
    /// Event currency.
    pub currency: String,
    /// Now.
    pub now: DateTime<Utc>,
    /// When the hold lapses.
    pub expires_at: DateTime<Utc>,
}

/// What placing a hold did. Anything but `Placed` changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceOutcome {
    /// Hold created with every seat.
    Placed,
    /// The admission was already used for a hold.
    TokenUsed,
    /// These seats are held or sold by someone else.
    SeatsTaken(Vec<i64>),
    /// Not enough GA places left.
    SoldOut,
    /// The event is no longer on sale (cancelled meanwhile).
    EventClosed,
}

/// A hold row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HoldRecord {
    /// Id.
    pub id: String,
    /// Event.
    pub event_id: String,
    /// Visitor.
    pub visitor_id: String,
    /// Session hash of the admission that placed it.
    pub session_hash: String,
    /// active / released / expired / completed.
    pub status: String,
    /// Minor units.
    pub total: i64,
    /// Currency.
    pub currency: String,
    /// Lapses at.
    pub expires_at: DateTime<Utc>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

/// A hold with what it holds.
#[derive(Debug, Clone)]
pub struct HoldDetail {
    /// The hold.
    pub hold: HoldRecord,
    /// `(seat id, price)`.
    pub seats: Vec<(i64, i64)>,
    /// `(pool id, quantity, unit price)`.
    pub ga: Vec<(i64, i64, i64)>,
}

/// A hold that ended, so its admission slot can be freed in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// Hold.
    pub hold_id: String,
    /// Event.
    pub event_id: String,
    /// Visitor whose session ends.
    pub visitor_id: String,
}
