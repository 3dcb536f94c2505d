//! The waitlist of the in-process store (mirrors `redis/waitlist.lua` and
//! the waitlist steps of `redis/tick.lua`); see `store/waitlist.rs`.

use super::EventState;
use crate::ids::VisitorId;
use crate::store::{Millis, WaitlistState};

impl EventState {
    /// See `QueueStore::mark_sold_out`.
    pub(super) fn mark_sold_out(&mut self) -> bool {
        if self.sold_out {
            return false;
        }
        self.sold_out = true;
        self.free = 0;
        true
    }

    /// See `QueueStore::return_seats`.
    pub(super) fn return_seats(&mut self, seats: u64) {
        if self.sold_out {
            self.free = self.free.saturating_add(seats);
        }
    }

    /// See `QueueStore::take_seats`.
    pub(super) fn take_seats(&mut self, visitor: &VisitorId, seats: u64) {
        if self.sold_out {
            self.free = self.free.saturating_sub(seats);
            self.offers.remove(visitor);
        }
    }

    /// See `QueueStore::waitlist`.
    pub(super) fn waitlist(&self, visitor: Option<&VisitorId>, now: Millis) -> WaitlistState {
        WaitlistState {
            sold_out: self.sold_out,
            free: self.free,
            offers: self.offers.values().filter(|&&at| at > now).count() as u64,
            offer_expires_at: visitor
                .and_then(|v| self.offers.get(v))
                .copied()
                .filter(|&at| at > now),
        }
    }

    /// The tick's waitlist step before admitting: expired offers pass on.
    /// Returns how many offers the tick may make and their expiry, or
    /// `None` when the event has not sold out (ordinary admission).
    pub(super) fn offer_room(&mut self, now: Millis) -> Option<(u64, Millis)> {
        if !self.sold_out {
            return None;
        }
        self.offers.retain(|_, at| *at > now);
        let room = self.free.saturating_sub(self.offers.len() as u64);
        let ttl = u64::from(self.settings.policy.offer_ttl_seconds) * 1_000;
        Some((room, now + ttl))
    }
}
