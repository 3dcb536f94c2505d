//! The sold-out waitlist: the line a sold-out event keeps, fed by seats
//! that come back.
//!
//! Booking tells the store when an event sells out and whenever seats come
//! back or are taken; the store keeps a count of free seats and the
//! outstanding offers (admissions made while sold out, each with its own
//! expiry). A tick admits at most `free − outstanding offers` waiters, so
//! one released seat is offered to one fan at a time; an offer that
//! expires unaccepted frees its slot and the next tick offers the seat to
//! the next fan in line. Both backends implement these rules step for
//! step (`memory/waitlist.rs`, `redis/waitlist.lua` and the tick).

use super::Millis;

/// What the store knows about an event's waitlist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitlistState {
    /// Whether the event sold out (the line is the waitlist).
    pub sold_out: bool,
    /// Seats that came back and are not taken again.
    pub free: u64,
    /// Offers made and neither taken nor expired.
    pub offers: u64,
    /// When the asked-about visitor's outstanding offer expires, if any.
    pub offer_expires_at: Option<Millis>,
}

impl WaitlistState {
    /// Offers a tick may still make.
    pub fn room(&self) -> u64 {
        self.free.saturating_sub(self.offers)
    }
}
