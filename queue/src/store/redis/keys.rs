//! Redis key names.
//!
//! Every key of one event carries the hash tag `{evt:<event>}`, so Redis
//! Cluster keeps them in one slot and a single Lua script may touch them
//! all. Event ids are validated slugs (`[A-Za-z0-9_-]`), so they cannot
//! break out of the tag.

use crate::ids::EventId;

/// The set of every event that has a queue. Global (not tagged): it is only
/// written next to, never inside, a script.
pub(super) const EVENTS: &str = "wr:events";

/// The pub/sub channel carrying every event's ticks as JSON.
pub(super) const TICKS_CHANNEL: &str = "wr:ticks";

/// The pub/sub channel carrying every event's announcements as JSON.
pub(super) const ANNOUNCEMENTS_CHANNEL: &str = "wr:announcements";

/// Key names of one event.
pub(super) struct EventKeys {
    /// `wr:{evt:<event>}:`, shared by every key below.
    prefix: String,
}

impl EventKeys {
    // Joined, not `format!`ted: a join names seven keys, and the
    // formatting machinery was a sixteenth of its instructions on Redis.
    pub(super) fn new(event: &EventId) -> Self {
        Self {
            prefix: ["wr:{evt:", event.as_str(), "}:"].concat(),
        }
    }

    fn key(&self, name: &str) -> String {
        [self.prefix.as_str(), name].concat()
    }

    /// STRING, `INCR`ed per join: the last ticket issued.
    pub(super) fn seq(&self) -> String {
        self.key("seq")
    }

    /// ZSET member = waiting visitor, score = ticket.
    pub(super) fn fifo(&self) -> String {
        self.key("fifo")
    }

    /// HASH visitor → record (`t`, `t|a|admitted_ms|expires_ms`, `t|f`,
    /// `t|d` left, `t|d|departed_ms` departed by absence).
    pub(super) fn visitors(&self) -> String {
        self.key("visitors")
    }

    /// ZSET waiting visitor → last seen ms; holds exactly the FIFO's members.
    pub(super) fn seen(&self) -> String {
        self.key("seen")
    }

    /// ZSET of reported departed tickets above the head (member = score).
    pub(super) fn departed(&self) -> String {
        self.key("departed")
    }

    /// LIST of tickets `leave` departed, drained and reported by the next tick.
    pub(super) fn pending_departed(&self) -> String {
        self.key("pending_departed")
    }

    /// LIST of tickets `join`/`reinstate` gave back to returning fans,
    /// drained and reported by the next tick.
    pub(super) fn pending_reinstated(&self) -> String {
        self.key("pending_reinstated")
    }

    /// ZSET active visitor → session expiry ms.
    pub(super) fn active(&self) -> String {
        self.key("active")
    }

    /// HASH of the `QueueSettings` fields.
    pub(super) fn settings(&self) -> String {
        self.key("settings")
    }

    /// HASH `last`, `carry` (the `TickClock`), `seq` (tick sequence) and
    /// `head` (admitted-through head).
    pub(super) fn clock(&self) -> String {
        self.key("clock")
    }

    /// ZSET pre-queue visitor → join ms; emptied by the shuffle at opening.
    pub(super) fn prequeue(&self) -> String {
        self.key("prequeue")
    }

    /// STRING: the shuffle seed (hex); never published in ticks.
    pub(super) fn seed(&self) -> String {
        self.key("seed")
    }

    /// HASH of shared counters (the edge's rejections), name → count.
    pub(super) fn counters(&self) -> String {
        self.key("counters")
    }

    /// HASH `sold_out` (`1` once sold out) and `free` (seats that came
    /// back and are not taken again).
    pub(super) fn waitlist(&self) -> String {
        self.key("waitlist")
    }

    /// ZSET visitor → offer expiry ms: offers neither taken nor expired.
    pub(super) fn offers(&self) -> String {
        self.key("offers")
    }

    /// HASH visitor → contact left for "it's your turn" (opaque text).
    pub(super) fn contacts(&self) -> String {
        self.key("contacts")
    }

    /// STRING: the announcement in force, as JSON; absent when none.
    pub(super) fn announcement(&self) -> String {
        self.key("announcement")
    }

    /// STRING holding the admitter node's id, with a `PX` expiry.
    pub(super) fn lease(&self) -> String {
        self.key("lease")
    }

    /// Every key above, for deleting an event whole.
    pub(super) fn all(&self) -> Vec<String> {
        [
            self.seq(),
            self.fifo(),
            self.visitors(),
            self.seen(),
            self.departed(),
            self.pending_departed(),
            self.pending_reinstated(),
            self.active(),
            self.settings(),
            self.clock(),
            self.prequeue(),
            self.seed(),
            self.counters(),
            self.announcement(),
            self.contacts(),
            self.lease(),
            self.waitlist(),
            self.offers(),
        ]
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_events_hash_tag() {
        // Stored data outlives builds: the names must not drift.
        let k = EventKeys::new(&EventId::parse("summer-tour_2").expect("a valid id"));
        assert_eq!(k.seq(), "wr:{evt:summer-tour_2}:seq");
        assert_eq!(k.fifo(), "wr:{evt:summer-tour_2}:fifo");
        assert_eq!(
            k.pending_reinstated(),
            "wr:{evt:summer-tour_2}:pending_reinstated"
        );
    }
}
