//! One node's picture of one event's queue, rebuilt from tick messages.

use super::fenwick::DepartureIndex;
use crate::settings::QueueSettings;
use crate::store::{Millis, Snapshot, Tick};
use std::collections::VecDeque;

/// How far back the admission rate is measured for the ETA.
const RATE_WINDOW_MS: u64 = 60_000;
/// Below this much history the measured rate is too noisy to quote.
const MIN_RATE_SPAN_MS: u64 = 3_000;

/// Where a waiting ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1 for the next to be admitted.
    pub position: u64,
    /// People ahead (`position - 1`).
    pub ahead: u64,
    /// Seconds until admission at the measured rate; `None` when unknown.
    pub eta_seconds: Option<u64>,
}

/// What applying a tick did, so the caller knows whether to fan out.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// The tick was the next in sequence and is folded in.
    Next,
    /// Already seen (duplicate or stale); ignore.
    Stale,
    /// A gap: the caller must reload a snapshot.
    Gap,
}

/// The per-event view kept by every node.
#[derive(Debug, Clone)]
pub struct EventView {
    /// Last folded tick.
    pub seq: u64,
    /// Admitted-through head.
    pub head: u64,
    /// Highest ticket issued, as of the last tick.
    pub last_ticket: u64,
    /// Active sessions, as of the last tick.
    pub active: u32,
    /// Waiters in the queue, as of the last tick.
    pub waiting: u64,
    /// Waiters at or below the head (returned after it passed them), who
    /// are admitted before everyone else.
    pub returning: u64,
    /// The store's epoch for the event (see `Tick::epoch`).
    pub epoch: String,
    /// When the event was last restored after a loss (0: never).
    pub restored_at: Millis,
    /// Settings in force at the last tick.
    pub settings: QueueSettings,
    /// When the last tick ran (0 before any).
    pub last_tick_at: Millis,
    /// Whether the event sold out (see `Tick::sold_out`).
    pub sold_out: bool,
    departures: DepartureIndex,
    /// (tick time, admitted count) over the rate window.
    admissions: VecDeque<(Millis, u64)>,
    /// What `admissions` measures, kept with it: a tick asks once per
    /// waiter (each ETA).
    rate: Option<f64>,
}

impl EventView {
    /// A view built from a store snapshot.
    pub fn from_snapshot(s: Snapshot) -> Self {
        let mut departures = DepartureIndex::new();
        for t in &s.departed {
            departures.insert(*t);
        }
        Self {
            seq: s.seq,
            head: s.head,
            last_ticket: s.last_ticket,
            active: s.active,
            waiting: s.waiting,
            returning: s.returning,
            epoch: s.epoch,
            restored_at: s.restored_at,
            settings: s.settings,
            last_tick_at: 0,
            sold_out: s.sold_out,
            departures,
            admissions: VecDeque::new(),
            rate: None,
        }
    }

    /// Replaces the state after a resync, keeping the measured rate.
    pub fn resync(&mut self, s: Snapshot) {
        let admissions = std::mem::take(&mut self.admissions);
        let last = self.last_tick_at;
        *self = Self::from_snapshot(s);
        self.admissions = admissions;
        self.rate = self.window_rate();
        self.last_tick_at = last;
    }

    /// Whether `tick` comes from state restored after a loss, or recreated,
    /// since this view was built: its sequence numbers start over, so only
    /// a snapshot can bring the view up to date.
    pub fn restored_since(&self, tick: &Tick) -> bool {
        tick.restored_at != self.restored_at
            || (!self.epoch.is_empty() && !tick.epoch.is_empty() && tick.epoch != self.epoch)
    }

    /// Folds a tick in, if it is the next one.
    pub fn apply(&mut self, tick: &Tick) -> Applied {
        if self.restored_since(tick) {
            return Applied::Gap;
        }
        if tick.seq <= self.seq {
            return Applied::Stale;
        }
        if tick.seq != self.seq + 1 {
            return Applied::Gap;
        }
        for t in &tick.reinstated {
            self.departures.remove(*t);
        }
        for t in &tick.departed {
            self.departures.insert(*t);
        }
        self.seq = tick.seq;
        self.head = tick.head;
        self.last_ticket = tick.last_ticket;
        self.active = tick.active;
        self.waiting = tick.waiting;
        self.returning = tick.returning;
        self.epoch = tick.epoch.clone();
        self.settings = tick.settings.clone();
        self.last_tick_at = tick.at;
        self.sold_out = tick.sold_out;
        if tick.settings.state.admits() {
            self.admissions
                .push_back((tick.at, tick.admitted.len() as u64));
        } else {
            // Stopped by its state (pre-queue, paused), a queue has no
            // rate; the next one is measured from the resumption. Counted
            // over the stopped minute, the rate after an opening grew every
            // tick for a minute, and with it every waiter's ETA moved far
            // enough to be sent: the whole line heard every tick.
            self.admissions.clear();
        }
        while let Some(&(at, _)) = self.admissions.front() {
            if tick.at.saturating_sub(at) > RATE_WINDOW_MS {
                self.admissions.pop_front();
            } else {
                break;
            }
        }
        self.rate = self.window_rate();
        Applied::Next
    }

    /// Admissions per second measured over the window; `None` while there
    /// is too little history or nobody was admitted.
    pub fn measured_rate(&self) -> Option<f64> {
        self.rate
    }

    fn window_rate(&self) -> Option<f64> {
        let first = self.admissions.front()?.0;
        let last = self.admissions.back()?.0;
        let span = last.saturating_sub(first);
        if span < MIN_RATE_SPAN_MS {
            return None;
        }
        // The first entry's admissions happened before the window opened.
        let admitted: u64 = self.admissions.iter().skip(1).map(|(_, n)| n).sum();
        if admitted == 0 {
            return None;
        }
        Some(admitted as f64 * 1000.0 / span as f64)
    }

    /// Exact position of a waiting ticket: `t − H − departed(H, t)`, behind
    /// the fans who returned after the head passed them (`returning`). One
    /// of those is next (they are admitted first, at the next tick).
    pub fn position(&self, ticket: u64) -> Position {
        let position = if ticket <= self.head {
            1
        } else {
            ticket - self.head - self.departures.count_between(self.head, ticket) + self.returning
        };
        // A sold-out event admits only as seats come back: no honest ETA.
        let eta_seconds = if self.settings.state.admits() && !self.sold_out {
            self.measured_rate()
                .map(|rate| (position as f64 / rate).ceil() as u64)
        } else {
            None
        };
        Position {
            position,
            ahead: position - 1,
            eta_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EventId;

    fn snapshot() -> Snapshot {
        Snapshot {
            seq: 0,
            head: 0,
            last_ticket: 0,
            departed: vec![],
            returning: 0,
            epoch: String::new(),
            restored_at: 0,
            active: 0,
            waiting: 0,
            sold_out: false,
            settings: QueueSettings::default(),
        }
    }

    fn tick(seq: u64, at: Millis, head: u64, admitted: u64, departed: Vec<u64>) -> Tick {
        Tick {
            event: EventId::parse("e").expect("valid"),
            seq,
            at,
            head,
            last_ticket: 100,
            admitted: (0..admitted)
                .map(|i| crate::store::Admission {
                    visitor: crate::ids::VisitorId::parse(&format!("v{i}")).expect("valid"),
                    ticket: i,
                    expires_at: 0,
                    offer: false,
                })
                .collect(),
            departed,
            reinstated: vec![],
            returning: 0,
            epoch: String::new(),
            restored_at: 0,
            active: 0,
            waiting: 0,
            sold_out: false,
            settings: QueueSettings::default(),
        }
    }

    #[test]
    fn positions_skip_departures_and_follow_the_head() {
        let mut v = EventView::from_snapshot(snapshot());
        assert_eq!(v.position(10).position, 10);
        assert_eq!(v.apply(&tick(1, 1_000, 3, 3, vec![5, 7])), Applied::Next);
        // tickets 4, 6, 8, 9 are ahead of 10 => position 5
        assert_eq!(v.position(10).position, 5);
        assert_eq!(v.position(10).ahead, 4);
        assert_eq!(v.apply(&tick(1, 1_000, 3, 3, vec![])), Applied::Stale);
        assert_eq!(v.apply(&tick(3, 3_000, 3, 3, vec![])), Applied::Gap);
    }

    #[test]
    fn eta_is_unknown_until_a_rate_is_measured() {
        let mut v = EventView::from_snapshot(snapshot());
        v.apply(&tick(1, 1_000, 0, 0, vec![]));
        assert_eq!(v.position(50).eta_seconds, None);
        for s in 2..=11 {
            v.apply(&tick(s, s * 1_000, 0, 2, vec![]));
        }
        // 2 per second measured => 50 / 2 = 25 s
        assert_eq!(v.position(50).eta_seconds, Some(25));
    }

    #[test]
    fn the_rate_is_measured_from_the_opening_not_over_the_pre_queue() {
        let mut v = EventView::from_snapshot(snapshot());
        let at_state = |seq: u64, state, admitted| {
            let mut t = tick(seq, seq * 1_000, 0, admitted, vec![]);
            t.settings.state = state;
            t
        };
        for s in 1..=60 {
            v.apply(&at_state(s, crate::QueueState::Prequeue, 0));
        }
        for s in 61..=66 {
            v.apply(&at_state(s, crate::QueueState::Open, 10));
        }
        // 10 a second since the opening, not 60 over the last minute.
        assert_eq!(v.measured_rate(), Some(10.0));
        assert_eq!(v.position(600).eta_seconds, Some(60));
        // A pause forgets it; the resumption measures afresh.
        v.apply(&at_state(67, crate::QueueState::Paused, 0));
        assert_eq!(v.measured_rate(), None);
    }
}
