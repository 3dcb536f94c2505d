//! Fans coming back to a place they left by absence (mirrors the
//! reinstatement in `redis/join.lua`).

use super::EventState;
use crate::store::{Millis, VisitorRecord};
use crate::VisitorId;

impl EventState {
    /// See `QueueStore::reinstate`.
    pub(super) fn reinstate(&mut self, visitor: &VisitorId, now: Millis) -> Option<u64> {
        let Some(&VisitorRecord::Departed { ticket }) = self.visitors.get(visitor) else {
            return None;
        };
        let departed_at = *self.departed_at.get(visitor)?;
        if !self.settings.keeps_place(departed_at, now) {
            return None;
        }
        self.departed_at.remove(visitor);
        self.fifo.insert(ticket, visitor.clone());
        self.set(visitor, VisitorRecord::Waiting { ticket });
        self.mark_seen(visitor, now);
        self.pending_reinstated.push(ticket);
        Some(ticket)
    }

    /// Waiters at or below the head: returned after it passed them.
    pub(super) fn returning(&self) -> u64 {
        self.fifo.range(..=self.head).count() as u64
    }
}
