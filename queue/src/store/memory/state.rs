//! One event's state in the in-process store.

use super::sharded::{Sharded, VisitorMap};
use crate::ids::VisitorId;
use crate::settings::QueueSettings;
use crate::store::{Millis, TickClock, VisitorRecord};
use std::collections::{BTreeMap, BTreeSet};

/// One event's queue; field by field the counterpart of the Redis keys.
#[derive(Default)]
pub(super) struct EventState {
    pub(super) settings: QueueSettings,
    /// Pre-queue visitors by (join time, visitor) (`…:prequeue`).
    pub(super) prequeue: BTreeSet<(Millis, VisitorId)>,
    /// The shuffle seed, hex (`…:seed`).
    pub(super) seed: Option<String>,
    /// Shared counters (`…:counters`).
    pub(super) counters: BTreeMap<String, u64>,
    /// Highest ticket issued (`…:seq` on Redis).
    pub(super) last_ticket: u64,
    /// Waiting visitors by ticket (`…:fifo`).
    pub(super) fifo: BTreeMap<u64, VisitorId>,
    /// Every visitor who ever joined (`…:visitors`), with when each waiter
    /// was last seen (`…:seen`): one table, not two, so a join looks a
    /// visitor up once less and stores one entry less.
    pub(super) visitors: Sharded<Place>,
    /// The waiters by when they were last seen, so the idle scan reads
    /// only the oldest.
    pub(super) seen_order: BTreeSet<(Millis, VisitorId)>,
    /// Reported departed tickets above the head (`…:departed`).
    pub(super) departed: BTreeSet<u64>,
    /// Tickets departed by `leave`, reported by the next tick.
    pub(super) pending_departed: Vec<u64>,
    /// When each visitor who departed by absence left (the `|d|<ms>` suffix
    /// of their Redis record); explicit leavers have none: no kept place.
    pub(super) departed_at: VisitorMap<Millis>,
    /// Tickets given back by `reinstate`, reported by the next tick.
    pub(super) pending_reinstated: Vec<u64>,
    /// Active sessions by expiry (`…:active`); ties break by visitor id,
    /// exactly like a Redis sorted set.
    pub(super) active: BTreeSet<(Millis, VisitorId)>,
    pub(super) clock: TickClock,
    pub(super) seq: u64,
    pub(super) head: u64,
    /// Random id made at the first tick (`…:clock` `epoch`).
    pub(super) epoch: String,
    /// Last restore: when, what it covered, and its id (`…:clock`
    /// `restored_at`, `restored_through`, `restored_from`).
    pub(super) restored_at: Millis,
    pub(super) restored_through: u64,
    pub(super) restored_from: String,
    /// The waitlist (`…:waitlist` `sold_out`, `free`; `…:offers`).
    pub(super) sold_out: bool,
    pub(super) free: u64,
    pub(super) offers: VisitorMap<Millis>,
    /// Contacts left by visitors (`…:contacts`).
    pub(super) contacts: VisitorMap<String>,
    /// The announcement in force (`…:announcement`).
    pub(super) announcement: Option<crate::announce::Announcement>,
}

/// A visitor's record, and when they were last seen while they wait.
pub(super) struct Place {
    record: VisitorRecord,
    seen: Option<Millis>,
}

impl EventState {
    /// The record of `visitor`; `None` for one who never joined.
    pub(super) fn record(&self, visitor: &VisitorId) -> Option<&VisitorRecord> {
        self.visitors.get(visitor).map(|p| &p.record)
    }

    /// Whether `visitor` ever joined.
    pub(super) fn knows(&self, visitor: &VisitorId) -> bool {
        self.visitors.contains_key(visitor)
    }

    pub(super) fn set(&mut self, visitor: &VisitorId, record: VisitorRecord) {
        self.visitors
            .get_or_insert_with(visitor, Place::unknown)
            .record = record;
    }

    /// Puts `visitor` in line at `ticket`, seen from `now`: the `…:fifo`
    /// entry, the record and the presence, with one look-up in the
    /// visitors' table (a join's busiest structure: at a million visitors
    /// each look-up is a cache miss).
    pub(super) fn wait(&mut self, visitor: &VisitorId, ticket: u64, now: Millis) {
        self.fifo.insert(ticket, visitor.clone());
        let place = self.visitors.get_or_insert_with(visitor, Place::unknown);
        place.record = VisitorRecord::Waiting { ticket };
        see(&mut self.seen_order, &mut place.seen, visitor, now);
    }

    /// Stops tracking a waiter's presence (admitted or departed).
    pub(super) fn forget_seen(&mut self, visitor: &VisitorId) {
        if let Some(at) = self.visitors.get_mut(visitor).and_then(|p| p.seen.take()) {
            self.seen_order.remove(&(at, visitor.clone()));
        }
    }

    /// Moves a current waiter's "last seen" to `now`. Only waiters are
    /// tracked, and like `ZADD XX GT` an older time never moves it back.
    pub(super) fn seen_again(&mut self, visitor: &VisitorId, now: Millis) {
        if let Some(place) = self.visitors.get_mut(visitor) {
            if place.seen.is_some_and(|seen| now > seen) {
                see(&mut self.seen_order, &mut place.seen, visitor, now);
            }
        }
    }
}

impl Place {
    fn unknown() -> Self {
        Self {
            record: VisitorRecord::Unknown,
            seen: None,
        }
    }
}

/// Moves `visitor`, last seen at `seen`, to `now` in `order`.
fn see(
    order: &mut BTreeSet<(Millis, VisitorId)>,
    seen: &mut Option<Millis>,
    visitor: &VisitorId,
    now: Millis,
) {
    if let Some(at) = seen.replace(now) {
        order.remove(&(at, visitor.clone()));
    }
    order.insert((now, visitor.clone()));
}
