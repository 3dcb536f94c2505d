//! The pre-queue of the in-process store: arrivals before opening wait
//! without a ticket, and the shuffle at opening gives them tickets in one
//! critical section (mirrors `redis/join.lua` and `redis/open_prequeue.lua`).

use super::EventState;
use crate::settings::{QueueSettings, QueueState};
use crate::store::{JoinOutcome, Millis, VisitorRecord};
use crate::VisitorId;
use std::collections::HashSet;

impl EventState {
    /// A join while the queue is in pre-queue: no ticket yet. `None` when
    /// the queue is not in pre-queue (the caller issues a ticket).
    pub(super) fn join_prequeue(
        &mut self,
        visitor: &VisitorId,
        now: Millis,
    ) -> Option<JoinOutcome> {
        if self.settings.state != QueueState::Prequeue {
            return None;
        }
        if self.record(visitor) == Some(&VisitorRecord::Prequeue) {
            return Some(JoinOutcome {
                ticket: 0,
                fresh: false,
                reinstated: false,
            });
        }
        self.prequeue.insert((now, visitor.clone()));
        self.set(visitor, VisitorRecord::Prequeue);
        Some(JoinOutcome {
            ticket: 0,
            fresh: true,
            reinstated: false,
        })
    }

    /// See `QueueStore::open_prequeue`.
    pub(super) fn open_prequeue(
        &mut self,
        order: &[VisitorId],
        settings: &QueueSettings,
        expected: u64,
        now: Millis,
    ) -> Option<u64> {
        if self.settings.policy.version != expected {
            return None;
        }
        let members: HashSet<VisitorId> = self.prequeue.iter().map(|(_, v)| v.clone()).collect();
        let mut given: HashSet<&VisitorId> = HashSet::new();
        let shuffled = order.iter().filter(|v| members.contains(*v));
        let mut sequence: Vec<VisitorId> = Vec::with_capacity(members.len());
        for v in shuffled {
            if given.insert(v) {
                sequence.push(v.clone());
            }
        }
        // Everyone else (joined after the order was computed) by join time.
        for (_, v) in &self.prequeue {
            if !given.contains(v) {
                sequence.push(v.clone());
            }
        }
        let count = sequence.len() as u64;
        for visitor in sequence {
            self.last_ticket += 1;
            let ticket = self.last_ticket;
            self.wait(&visitor, ticket, now);
        }
        self.prequeue.clear();
        self.settings = settings.clone();
        Some(count)
    }
}
