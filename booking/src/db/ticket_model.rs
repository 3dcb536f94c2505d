//! Rows and commands of tickets and check-ins (see `model.rs` for the
//! conventions).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A ticket to store when its order is confirmed (or reissued).
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Id (`tkt_…`), also the JWS `jti`.
    pub id: String,
    /// Manual-entry code.
    pub reference: String,
    /// `s:<seat id>` or `g:<pool id>:<n>`.
    pub place: String,
    /// What the door shows.
    pub seat: String,
    /// 1, then one more per reissue.
    pub version: i64,
    /// The signed QR text.
    pub jws: String,
    /// Now.
    pub issued_at: DateTime<Utc>,
}

/// A ticket as the fan, the door and the operators see it. `status` is
/// derived, never stored: `revoked` when the ticket was reissued or its
/// order is no longer confirmed (refunded, cancelled, event cancelled),
/// `used` once checked in, else `valid`.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct TicketRecord {
    /// Id.
    pub id: String,
    /// Manual-entry code.
    pub reference: String,
    /// Order.
    #[serde(skip)]
    pub order_id: String,
    /// Event.
    #[serde(skip)]
    pub event_id: String,
    /// Seat or place.
    pub seat: String,
    /// valid / used / revoked.
    pub status: String,
    /// Why it was revoked (`reissued`, or the order's status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<String>,
    /// Version.
    #[serde(skip)]
    pub version: i64,
    /// The text in the QR code: a compact JWS.
    pub qr: String,
    /// First admitted scan.
    #[serde(skip)]
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Its gate.
    #[serde(skip)]
    pub checked_in_gate: Option<String>,
}

/// How to find a ticket presented at the door.
#[derive(Debug, Clone, Copy)]
pub enum TicketKey<'a> {
    /// By id (from a verified QR).
    Id(&'a str),
    /// By manual-entry reference.
    Reference(&'a str),
}

/// A scan to record.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The ticket id.
    pub ticket_id: String,
    /// Gate name.
    pub gate: String,
    /// When it is recorded.
    pub at: DateTime<Utc>,
}

/// What recording a scan did.
#[derive(Debug, Clone)]
pub enum ScanOutcome {
    /// This scan admitted the ticket.
    Admitted(TicketRecord),
    /// Not admitted: the ticket as it is now (used, revoked, or unknown
    /// when `None`).
    Refused(Option<TicketRecord>),
}

/// Arrivals at one gate.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, Eq)]
pub struct GateCount {
    /// Gate name.
    pub gate: String,
    /// Tickets first admitted there.
    pub arrived: i64,
}

/// Check-in totals of an event.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct CheckinCounts {
    /// Live tickets of confirmed orders.
    pub sold: i64,
    /// Of which checked in.
    pub arrived: i64,
    /// Arrivals per gate, by name.
    pub by_gate: Vec<GateCount>,
    /// Arrivals per minute over the last hour, oldest first (minutes
    /// without any left out).
    pub per_minute: Vec<MinuteCount>,
}

/// Arrivals in one minute.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MinuteCount {
    /// Start of the minute.
    pub minute: DateTime<Utc>,
    /// Tickets first admitted in it.
    pub arrived: i64,
}
