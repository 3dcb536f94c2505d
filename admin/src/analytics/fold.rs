//! Each process's view of the published ticks of each event: per tick,
//! what the sale analytics need, kept until written (see `db`, which adds
//! each tick once however many processes saw it).
//!
//! The time from join to admission is measured from the first tick that
//! showed the ticket (its `last_ticket` reached it) to the tick that
//! admitted it, so it is exact to one tick interval; tickets issued before
//! this process saw the event's first tick have no known join time and are
//! counted apart (`waits_known`). Pre-queue tickets are issued by the
//! shuffle at opening, so their wait starts there.

use queue::store::Tick;
use queue::EventId;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Most ticks kept per event while the database cannot be written (about
/// a day at one tick a second); older ones are dropped first.
const MAX_PENDING: usize = 100_000;

/// What one tick contributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickFigures {
    /// The tick's sequence number (each is written once).
    pub seq: u64,
    /// When it ran (ms).
    pub at: u64,
    /// Highest ticket issued by then (joins are differences of these).
    pub last_ticket: u64,
    /// When the queue store last restored the event after a loss (ms; 0:
    /// never). A restore raises the ticket counter by a safety margin, a
    /// jump that is not joins.
    pub restored_at: u64,
    /// Admissions.
    pub admitted: u64,
    /// Departures.
    pub departed: u64,
    /// Waiters after the tick.
    pub waiting: u64,
    /// Active sessions after the tick.
    pub active: u64,
    /// Wait buckets (see [`wait_bucket`]) of the admissions whose join
    /// this process saw.
    pub waits: Vec<u64>,
}

impl TickFigures {
    /// Start of the tick's minute (ms).
    pub fn minute(&self) -> u64 {
        self.at - self.at % 60_000
    }
}

/// The bucket (seconds) of a wait: whole seconds up to ten minutes, then
/// ten seconds up to an hour, then minutes, so a minute's histogram stays
/// small however long the queue.
pub fn wait_bucket(ms: u64) -> u64 {
    let s = ms / 1_000;
    match s {
        0..600 => s,
        600..3_600 => s - s % 10,
        _ => s - s % 60,
    }
}

/// What a batch of ticks adds to one minute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Minute {
    /// Start of the minute (ms since the epoch).
    pub start: u64,
    /// Ticks.
    pub ticks: u64,
    /// Tickets issued.
    pub joins: u64,
    /// Admissions.
    pub admitted: u64,
    /// Departures.
    pub departed: u64,
    /// Waiters after the batch's last tick of the minute.
    pub waiting: u64,
    /// Active sessions after it.
    pub active: u64,
    /// Known waits by bucket.
    pub waits: BTreeMap<u64, u64>,
    /// How many waits that is.
    pub waits_known: u64,
}

/// Groups consecutive `ticks` (oldest first) by minute; joins count from
/// `last_ticket`, the highest ticket before the first of them, which ran
/// at `last_at`. The first tick after a restore adds no joins: its counter
/// was raised past every ticket the lost state might have issued, and who
/// joined between the loss and the restore is not known.
pub fn by_minute(ticks: &[TickFigures], mut last_ticket: u64, mut last_at: u64) -> Vec<Minute> {
    let mut out: Vec<Minute> = Vec::new();
    for t in ticks {
        if t.restored_at > last_at {
            last_ticket = last_ticket.max(t.last_ticket);
        }
        last_at = t.at;
        if out.last().is_none_or(|m| m.start != t.minute()) {
            out.push(Minute {
                start: t.minute(),
                ..Minute::default()
            });
        }
        let Some(m) = out.last_mut() else { continue };
        m.ticks += 1;
        m.joins += t.last_ticket.saturating_sub(last_ticket);
        last_ticket = last_ticket.max(t.last_ticket);
        m.admitted += t.admitted;
        m.departed += t.departed;
        (m.waiting, m.active) = (t.waiting, t.active);
        for &w in &t.waits {
            *m.waits.entry(w).or_default() += 1;
        }
        m.waits_known += t.waits.len() as u64;
    }
    out
}

/// What this process knows of one event.
#[derive(Debug, Default)]
struct EventFold {
    /// The previous tick's `seq`.
    last_seq: u64,
    /// The previous tick's `last_ticket` (none before the first tick seen).
    last_ticket: Option<u64>,
    /// Tickets up to this one were issued before this process watched.
    known_from: u64,
    /// `(last_ticket, at)` of each tick that issued tickets: the tickets
    /// above the previous entry's up to this one were first seen at `at`.
    seen: VecDeque<(u64, u64)>,
    /// Ticks not yet known to be written, by `seq`.
    pending: VecDeque<TickFigures>,
}

impl EventFold {
    fn join_time(&self, ticket: u64) -> Option<u64> {
        if ticket <= self.known_from {
            return None;
        }
        let i = self.seen.partition_point(|&(last, _)| last < ticket);
        self.seen.get(i).map(|&(_, at)| at)
    }

    fn fold(&mut self, tick: &Tick) {
        if tick.seq < self.last_seq {
            // The queue was removed and made again: a new sale, counted
            // afresh (its watermark went with the old queue).
            *self = Self::default();
        }
        self.last_seq = tick.seq;
        let previous = match self.last_ticket {
            Some(t) => t,
            // The event's very first tick: every ticket is new. Otherwise
            // this process arrived mid-sale and knows no join time so far.
            None if tick.seq <= 1 => 0,
            None => {
                self.known_from = tick.last_ticket;
                tick.last_ticket
            }
        };
        self.last_ticket = Some(tick.last_ticket);
        if tick.last_ticket > previous {
            self.seen.push_back((tick.last_ticket, tick.at));
        }
        let waits = tick
            .admitted
            .iter()
            .filter_map(|a| self.join_time(a.ticket))
            .map(|joined| wait_bucket(tick.at.saturating_sub(joined)))
            .collect();
        // Tickets at or below the head are admitted or gone: keep only the
        // entry that still covers the first ticket above it.
        while self.seen.len() > 1 && self.seen[0].0 <= tick.head {
            self.seen.pop_front();
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(TickFigures {
            seq: tick.seq,
            at: tick.at,
            last_ticket: tick.last_ticket,
            restored_at: tick.restored_at,
            admitted: tick.admitted.len() as u64,
            departed: tick.departed.len() as u64,
            waiting: tick.waiting,
            active: u64::from(tick.active),
            waits,
        });
    }
}

/// Every event's ticks in this process.
#[derive(Debug, Default)]
pub struct Folds {
    events: std::sync::Mutex<HashMap<EventId, EventFold>>,
}

impl Folds {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EventId, EventFold>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Folds one tick in.
    pub fn record(&self, tick: &Tick) {
        self.lock()
            .entry(tick.event.clone())
            .or_default()
            .fold(tick);
    }

    /// Each event's ticks not yet known to be written, oldest first.
    pub fn pending(&self) -> Vec<(EventId, Vec<TickFigures>)> {
        self.lock()
            .iter()
            .filter(|(_, f)| !f.pending.is_empty())
            .map(|(e, f)| (e.clone(), f.pending.iter().cloned().collect()))
            .collect()
    }

    /// Forgets the event's ticks up to `seq` (written, by this process or
    /// another).
    pub fn written(&self, event: &EventId, seq: u64) {
        if let Some(f) = self.lock().get_mut(event) {
            while f.pending.front().is_some_and(|t| t.seq <= seq) {
                f.pending.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use queue::store::Admission;
    use queue::{QueueSettings, VisitorId};

    fn tick(seq: u64, at: u64, last_ticket: u64, head: u64, admitted: &[u64]) -> Tick {
        Tick {
            event: EventId::parse("fold").expect("event id"),
            seq,
            at,
            head,
            last_ticket,
            admitted: admitted
                .iter()
                .map(|&ticket| Admission {
                    visitor: VisitorId::random(),
                    ticket,
                    expires_at: at + 60_000,
                    offer: false,
                })
                .collect(),
            departed: Vec::new(),
            reinstated: Vec::new(),
            returning: 0,
            epoch: String::new(),
            restored_at: 0,
            sold_out: false,
            active: admitted.len() as u32,
            waiting: last_ticket - head,
            settings: QueueSettings::default(),
        }
    }

    #[test]
    fn waits_are_measured_from_the_tick_that_first_showed_the_ticket() {
        let folds = Folds::default();
        folds.record(&tick(1, 60_000, 2, 0, &[]));
        folds.record(&tick(2, 61_000, 3, 0, &[]));
        folds.record(&tick(3, 65_000, 3, 2, &[1, 2]));
        folds.record(&tick(4, 120_500, 3, 3, &[3]));
        let pending = folds.pending().remove(0).1;
        let waits: Vec<Vec<u64>> = pending.iter().map(|t| t.waits.clone()).collect();
        assert_eq!(waits, [vec![], vec![], vec![5, 5], vec![59]]);
        assert_eq!(pending[3].minute(), 120_000);
        folds.written(&EventId::parse("fold").expect("event id"), 3);
        let left = folds.pending().remove(0).1;
        assert_eq!(left.iter().map(|t| t.seq).collect::<Vec<_>>(), [4]);
    }

    #[test]
    fn a_process_that_arrives_mid_sale_does_not_invent_waits() {
        let folds = Folds::default();
        folds.record(&tick(40, 60_000, 10, 0, &[]));
        folds.record(&tick(41, 61_000, 12, 0, &[]));
        folds.record(&tick(42, 62_000, 12, 11, &[10, 11]));
        let pending = folds.pending().remove(0).1;
        assert_eq!(pending[2].admitted, 2);
        assert_eq!(
            pending[2].waits,
            [1],
            "ticket 10 was issued before it watched"
        );
    }

    #[test]
    fn ticks_group_by_minute_with_joins_from_the_last_ticket_before() {
        let folds = Folds::default();
        folds.record(&tick(7, 59_000, 5, 0, &[]));
        folds.record(&tick(8, 60_000, 8, 0, &[]));
        folds.record(&tick(9, 61_000, 9, 1, &[1]));
        let pending = folds.pending().remove(0).1;
        let minutes = by_minute(&pending, 4, 58_000);
        assert_eq!(minutes.len(), 2);
        assert_eq!(
            (minutes[0].start, minutes[0].joins, minutes[0].ticks),
            (0, 1, 1)
        );
        assert_eq!((minutes[1].start, minutes[1].joins), (60_000, 4));
        assert_eq!((minutes[1].admitted, minutes[1].waiting), (1, 8));
        assert_eq!(
            minutes[1].waits_known, 0,
            "ticket 1 joined before it watched"
        );
    }

    #[test]
    fn a_restore_raises_the_counter_without_counting_joins() {
        let folds = Folds::default();
        folds.record(&tick(7, 61_000, 10, 0, &[]));
        let mut restored = tick(8, 62_000, 1_012, 0, &[]);
        restored.restored_at = 61_500;
        folds.record(&restored);
        folds.record(&tick(9, 63_000, 1_015, 0, &[]));
        let mut later = tick(10, 64_000, 1_016, 0, &[]);
        later.restored_at = 61_500;
        folds.record(&later);
        let pending = folds.pending().remove(0).1;
        let minutes = by_minute(&pending, 4, 60_000);
        assert_eq!(minutes.len(), 1);
        assert_eq!(
            minutes[0].joins,
            6 + 3 + 1,
            "the restore's margin (10 -> 1,012) is not joins; the joins around it are"
        );
        let resumed = by_minute(&pending[1..], 10, 61_000);
        assert_eq!(resumed[0].joins, 4, "a batch that starts at the restore");
    }

    #[test]
    fn a_queue_made_again_starts_a_new_count() {
        let folds = Folds::default();
        folds.record(&tick(90, 60_000, 40, 40, &[]));
        folds.record(&tick(1, 200_000, 2, 0, &[]));
        folds.record(&tick(2, 201_000, 2, 1, &[1]));
        let pending = folds.pending().remove(0).1;
        assert_eq!(pending.iter().map(|t| t.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(pending[1].waits, [1], "ticket 1 of the new queue");
    }

    #[test]
    fn long_waits_fall_in_coarser_buckets() {
        assert_eq!(wait_bucket(599_999), 599);
        assert_eq!(wait_bucket(605_000), 600);
        assert_eq!(wait_bucket(3_659_000), 3_600);
    }
}
