//! Places in the in-process store: joining (mirrors `redis/join.lua`),
//! coming back to a place left by absence, and places given back after
//! the store lost them (`redis/restore.lua`, `redis/claim.lua`).

use super::EventState;
use crate::error::{QueueError, Result};
use crate::store::{JoinOutcome, Millis, RestoreFloor, VisitorRecord, RESTORED_SESSION_PREFIX};
use crate::VisitorId;

fn outcome(ticket: u64, fresh: bool, reinstated: bool) -> JoinOutcome {
    JoinOutcome {
        ticket,
        fresh,
        reinstated,
    }
}

impl EventState {
    /// See `QueueStore::join`.
    pub(super) fn join(&mut self, visitor: &VisitorId, now: Millis) -> Result<JoinOutcome> {
        // A visitor who already has a place gets it back even once the queue
        // stops accepting *new* visitors (a reload must not lose a place),
        // and so does one whose place was kept through an absence. Leavers
        // and finished visitors have none left: they start again.
        let departed = match self.record(visitor) {
            Some(&VisitorRecord::Waiting { ticket } | &VisitorRecord::Admitted { ticket, .. }) => {
                return Ok(outcome(ticket, false, false));
            }
            Some(VisitorRecord::Departed { .. }) => {
                if let Some(ticket) = self.reinstate(visitor, now) {
                    return Ok(outcome(ticket, false, true));
                }
                true
            }
            _ => false,
        };
        if !self.settings.state.accepts_joins() {
            return Err(QueueError::NotJoinable(self.settings.state));
        }
        if let Some(joined) = self.join_prequeue(visitor, now) {
            return Ok(joined);
        }
        if departed {
            // A place kept through an absence, and not taken back in time,
            // is gone: the visitor starts again at the back.
            self.departed_at.remove(visitor);
        }
        self.last_ticket += 1;
        let ticket = self.last_ticket;
        self.wait(visitor, ticket, now);
        Ok(outcome(ticket, true, false))
    }

    /// See `QueueStore::reinstate`.
    pub(super) fn reinstate(&mut self, visitor: &VisitorId, now: Millis) -> Option<u64> {
        let Some(&VisitorRecord::Departed { ticket }) = self.record(visitor) else {
            return None;
        };
        let departed_at = *self.departed_at.get(visitor)?;
        if !self.settings.keeps_place(departed_at, now) {
            return None;
        }
        self.departed_at.remove(visitor);
        self.wait(visitor, ticket, now);
        self.pending_reinstated.push(ticket);
        Some(ticket)
    }

    /// Waiters at or below the head: returned after it passed them.
    pub(super) fn returning(&self) -> u64 {
        self.fifo.range(..=self.head).count() as u64
    }
}

impl EventState {
    /// See `QueueStore::restore`.
    pub(super) fn restore(&mut self, floor: &RestoreFloor, now: Millis) {
        if self.restored_from == floor.id {
            return;
        }
        self.restored_from = floor.id.clone();
        self.last_ticket = self.last_ticket.max(floor.last_ticket);
        self.head = self.head.max(floor.head);
        self.restored_through = self.restored_through.max(floor.last_ticket);
        for n in 1..=floor.active {
            let name = format!("{RESTORED_SESSION_PREFIX}{n}");
            if let Ok(placeholder) = VisitorId::parse(&name) {
                // Like `ZADD`: one entry per member, the new expiry wins.
                self.active.retain(|(_, v)| *v != placeholder);
                self.active.insert((floor.active_until, placeholder));
            }
        }
        self.restored_at = now;
    }

    /// See `QueueStore::claim`.
    pub(super) fn claim(&mut self, visitor: &VisitorId, ticket: u64, now: Millis) -> Option<u64> {
        let covered = ticket > 0 && ticket <= self.restored_through;
        if !covered || self.knows(visitor) || self.fifo.contains_key(&ticket) {
            return None;
        }
        self.wait(visitor, ticket, now);
        Some(ticket)
    }
}
