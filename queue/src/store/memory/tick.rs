//! The admission tick of the in-process store, under the store's one
//! lock: the same steps, bounds and order as the Redis `tick.lua`, so both
//! backends pass one conformance suite.

use super::{unknown, EventState, Inner, MAX_DEPARTURES_PER_TICK, MAX_EXPIRIES_PER_TICK};
use crate::error::Result;
use crate::ids::{EventId, VisitorId};
use crate::store::{rate_budget, Admission, Millis, Tick, TickGuard, TickOutcome, VisitorRecord};
use std::time::Instant;

impl Inner {
    /// See `QueueStore::tick_guarded`: the lease, then the guard, then
    /// the tick.
    pub(super) fn tick_guarded(
        &mut self,
        event: &EventId,
        node: &str,
        now: Millis,
        guard: &TickGuard,
    ) -> Result<TickOutcome> {
        let held = self
            .leases
            .get(event)
            .is_some_and(|l| l.node == node && l.until > Instant::now());
        if !held {
            return Ok(TickOutcome::NotLeader);
        }
        let state = self.events.get_mut(event).ok_or_else(|| unknown(event))?;
        let other_epoch =
            !guard.epoch.is_empty() && !state.epoch.is_empty() && state.epoch != guard.epoch;
        if state.last_ticket < guard.high_water || other_epoch {
            return Ok(TickOutcome::Lost);
        }
        Ok(TickOutcome::Ran(Box::new(state.tick(event, now))))
    }
}

impl EventState {
    /// Steps 1–6 of the tick (see the trait and the Redis `tick.lua`).
    pub(super) fn tick(&mut self, event: &EventId, now: Millis) -> Tick {
        // 1. Retire expired sessions.
        let expired: Vec<(Millis, VisitorId)> = self
            .active
            .iter()
            .take_while(|(expires, _)| *expires <= now)
            .take(MAX_EXPIRIES_PER_TICK)
            .cloned()
            .collect();
        for entry in expired {
            self.active.remove(&entry);
            if let Some(VisitorRecord::Admitted { ticket, .. }) = self.record(&entry.1) {
                self.set(&entry.1, VisitorRecord::Finished { ticket: *ticket });
            }
        }

        // 2. Returns first, so a fan who came back and left again since the
        //    last tick ends up departed; then idle waiters (seen + grace <=
        //    now) depart, then leaves are collected.
        let reinstated = std::mem::take(&mut self.pending_reinstated);
        for ticket in &reinstated {
            self.departed.remove(ticket);
        }
        let grace_ms = u64::from(self.settings.departure_grace_seconds) * 1_000;
        let mut departed = std::mem::take(&mut self.pending_departed);
        if let Some(cutoff) = now.checked_sub(grace_ms) {
            let idle: Vec<VisitorId> = self
                .seen_order
                .iter()
                .take_while(|(seen, _)| *seen <= cutoff)
                .take(MAX_DEPARTURES_PER_TICK)
                .map(|(_, visitor)| visitor.clone())
                .collect();
            for visitor in idle {
                self.forget_seen(&visitor);
                if let Some(&VisitorRecord::Waiting { ticket }) = self.record(&visitor) {
                    self.set(&visitor, VisitorRecord::Departed { ticket });
                    self.departed_at.insert(visitor.clone(), now);
                    self.fifo.remove(&ticket);
                    departed.push(ticket);
                }
            }
        }
        departed.sort_unstable();
        self.departed.extend(departed.iter().copied());

        // 3. Budget; when not admitting only the clock's `last` moves (the
        //    carry is kept), so resuming releases no pent-up burst.
        let budget = if self.settings.state.admits() {
            let (budget, clock) = rate_budget(self.clock, now, self.settings.admit_per_minute);
            self.clock = clock;
            budget
        } else {
            self.clock.last = self.clock.last.max(now);
            0
        };

        // 4. Admit in ticket order; once sold out, only as many as there
        //    are free seats without an outstanding offer, as offers.
        let free = u64::from(self.settings.max_active).saturating_sub(self.active.len() as u64);
        let mut n = budget.min(free).min(self.fifo.len() as u64);
        let mut expires_at = now + u64::from(self.settings.session_ttl_seconds) * 1_000;
        let offering = self.offer_room(now);
        if let Some((room, offer_expires)) = offering {
            n = n.min(room);
            expires_at = offer_expires;
        }
        let mut admitted = Vec::new();
        for _ in 0..n {
            let Some((ticket, visitor)) = self.fifo.pop_first() else {
                break;
            };
            self.forget_seen(&visitor);
            let record = VisitorRecord::Admitted {
                ticket,
                admitted_at: now,
                expires_at,
            };
            self.set(&visitor, record);
            self.active.insert((expires_at, visitor.clone()));
            if offering.is_some() {
                self.offers.insert(visitor.clone(), expires_at);
            }
            admitted.push(Admission {
                visitor,
                ticket,
                expires_at,
                offer: offering.is_some(),
            });
        }

        // 5. Advance the head past admitted and departed tickets.
        let head = match self.fifo.first_key_value() {
            Some((first, _)) => first - 1,
            None => self.last_ticket,
        };
        self.head = self.head.max(head);
        self.departed = self.departed.split_off(&(self.head + 1));

        // 6. Sequence and message; the epoch is made with the first tick.
        self.seq += 1;
        if self.epoch.is_empty() {
            self.epoch = uuid::Uuid::new_v4().simple().to_string();
        }
        Tick {
            event: event.clone(),
            seq: self.seq,
            at: now,
            head: self.head,
            last_ticket: self.last_ticket,
            admitted,
            departed,
            reinstated,
            returning: self.returning(),
            epoch: self.epoch.clone(),
            restored_at: self.restored_at,
            // Never above a `max_active: u32`, so the cast is lossless.
            active: self.active.len() as u32,
            waiting: self.fifo.len() as u64,
            sold_out: self.sold_out,
            settings: self.settings.clone(),
        }
    }
}
