//! In-process store: the embedded default for a single node.
//!
//! All events live behind one `std::sync::Mutex`: every operation is a short,
//! CPU-only critical section (no `.await` while locked), which makes each
//! method trivially atomic, the same guarantee the Redis backend gets from
//! running one Lua script per operation. The semantics mirror the Redis
//! scripts step for step, including the per-tick bounds below, so both
//! backends pass one conformance suite.

use super::{
    JoinOutcome, Millis, QueueStore, RestoreFloor, Snapshot, Tick, TickGuard, TickOutcome,
    VisitorRecord, WaitlistState,
};
use crate::error::{QueueError, Result};
use crate::ids::{EventId, VisitorId};
use crate::settings::QueueSettings;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

mod announce;
mod places;
mod prequeue;
mod sharded;
mod state;
mod tick;
mod waitlist;

use state::EventState;

/// At most this many idle waiters depart per tick, so one tick stays short
/// even after a mass disconnect; the rest depart on the following ticks.
/// The Redis tick script receives the same bound as an argument.
pub(crate) const MAX_DEPARTURES_PER_TICK: usize = 1_000;

/// At most this many expired sessions are retired per tick. Sessions past
/// their expiry keep counting as active until retired, so the bound can only
/// delay admissions, never overshoot `max_active`.
pub(crate) const MAX_EXPIRIES_PER_TICK: usize = 10_000;

/// Capacity of the tick broadcast; a subscriber lagging further behind gets
/// `RecvError::Lagged` and repairs itself from a snapshot.
pub(crate) const TICK_CHANNEL_CAPACITY: usize = 1_024;

/// Capacity of the announcement broadcast: operators push a few a minute
/// at most; a lagging follower re-reads the stored one.
pub(crate) const ANNOUNCEMENT_CHANNEL_CAPACITY: usize = 64;

/// Queue state of every event, kept in this process.
pub struct MemoryStore {
    /// Events and leases; see the module docs for why one mutex suffices.
    inner: Mutex<Inner>,
    /// Every tick is sent here; `subscribe` hands out receivers.
    ticks: broadcast::Sender<Tick>,
    /// Every announcement, likewise (`subscribe_announcements`).
    announcements: broadcast::Sender<crate::announce::Announcement>,
}

/// Everything behind the mutex.
#[derive(Default)]
struct Inner {
    /// Events that have settings.
    events: HashMap<EventId, EventState>,
    /// Admitter leases; kept apart from events because a lease may be taken
    /// before (or without) the event existing, as on Redis.
    leases: HashMap<EventId, Lease>,
}

/// Who may run ticks for an event, and until when (wall clock, like the
/// Redis key's `PX` expiry, since `acquire_lease` gets no `now`).
struct Lease {
    node: String,
    until: Instant,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        let (ticks, _) = broadcast::channel(TICK_CHANNEL_CAPACITY);
        let (announcements, _) = broadcast::channel(ANNOUNCEMENT_CHANNEL_CAPACITY);
        Self {
            inner: Mutex::new(Inner::default()),
            ticks,
            announcements,
        }
    }

    /// Locks the state. A panic while locked cannot leave an event half
    /// updated in a way later calls would misread, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

/// Visitors `lookup_many` reads per hold of the store's lock.
const LOOKUPS_PER_LOCK: usize = 1_000;

/// What `lookup` answers for `visitor` in an event's `state`: an admitted
/// session past its expiry reads as finished before any tick ends it.
fn record_at(state: Option<&EventState>, visitor: &VisitorId, now: Millis) -> VisitorRecord {
    match state.and_then(|s| s.record(visitor)) {
        Some(VisitorRecord::Admitted {
            ticket, expires_at, ..
        }) if *expires_at <= now => VisitorRecord::Finished { ticket: *ticket },
        Some(record) => record.clone(),
        None => VisitorRecord::Unknown,
    }
}

fn unknown(event: &EventId) -> QueueError {
    QueueError::UnknownEvent(event.to_string())
}

#[async_trait]
impl QueueStore for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn put_settings(&self, event: &EventId, settings: &QueueSettings) -> Result<()> {
        settings.validate()?;
        // Creates the event on first use; an existing queue keeps its contents.
        let mut inner = self.lock();
        inner.events.entry(event.clone()).or_default().settings = settings.clone();
        Ok(())
    }

    async fn put_settings_if(
        &self,
        event: &EventId,
        settings: &QueueSettings,
        expected: Option<u64>,
    ) -> Result<bool> {
        settings.validate()?;
        let mut inner = self.lock();
        let current = inner.events.get(event).map(|s| s.settings.policy.version);
        if current != expected {
            return Ok(false);
        }
        inner.events.entry(event.clone()).or_default().settings = settings.clone();
        Ok(true)
    }

    async fn prequeue(&self, event: &EventId) -> Result<Vec<(VisitorId, Millis)>> {
        let inner = self.lock();
        let state = inner.events.get(event).ok_or_else(|| unknown(event))?;
        Ok(state
            .prequeue
            .iter()
            .map(|(at, v)| (v.clone(), *at))
            .collect())
    }

    async fn open_prequeue(
        &self,
        event: &EventId,
        order: &[VisitorId],
        settings: &QueueSettings,
        expected: u64,
        now: Millis,
    ) -> Result<Option<u64>> {
        settings.validate()?;
        let mut inner = self.lock();
        let state = inner.events.get_mut(event).ok_or_else(|| unknown(event))?;
        Ok(state.open_prequeue(order, settings, expected, now))
    }

    async fn init_seed(&self, event: &EventId, seed: &str) -> Result<String> {
        let mut inner = self.lock();
        let state = inner.events.get_mut(event).ok_or_else(|| unknown(event))?;
        Ok(state.seed.get_or_insert_with(|| seed.to_owned()).clone())
    }

    async fn seed(&self, event: &EventId) -> Result<Option<String>> {
        Ok(self.lock().events.get(event).and_then(|s| s.seed.clone()))
    }

    async fn remove_event(&self, event: &EventId) -> Result<()> {
        let mut inner = self.lock();
        inner.events.remove(event);
        inner.leases.remove(event);
        Ok(())
    }

    async fn add_counters(&self, event: &EventId, deltas: &[(&str, u64)]) -> Result<()> {
        if let Some(state) = self.lock().events.get_mut(event) {
            for (name, n) in deltas.iter().filter(|(_, n)| *n > 0) {
                *state.counters.entry((*name).to_owned()).or_default() += n;
            }
        }
        Ok(())
    }

    async fn counters(&self, event: &EventId) -> Result<BTreeMap<String, u64>> {
        Ok(self
            .lock()
            .events
            .get(event)
            .map(|s| s.counters.clone())
            .unwrap_or_default())
    }

    async fn settings(&self, event: &EventId) -> Result<Option<QueueSettings>> {
        Ok(self.lock().events.get(event).map(|s| s.settings.clone()))
    }

    async fn events(&self) -> Result<Vec<EventId>> {
        let mut events: Vec<EventId> = self.lock().events.keys().cloned().collect();
        events.sort();
        Ok(events)
    }

    async fn join(&self, event: &EventId, visitor: &VisitorId, now: Millis) -> Result<JoinOutcome> {
        let mut inner = self.lock();
        let state = inner.events.get_mut(event).ok_or_else(|| unknown(event))?;
        state.join(visitor, now)
    }

    async fn reinstate(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        now: Millis,
    ) -> Result<Option<u64>> {
        let mut inner = self.lock();
        let state = inner.events.get_mut(event).ok_or_else(|| unknown(event))?;
        Ok(state.reinstate(visitor, now))
    }

    async fn lookup(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        now: Millis,
    ) -> Result<VisitorRecord> {
        let inner = self.lock();
        Ok(record_at(inner.events.get(event), visitor, now))
    }

    async fn lookup_many(
        &self,
        event: &EventId,
        visitors: &[VisitorId],
        now: Millis,
    ) -> Result<Vec<VisitorRecord>> {
        // The lock is let go between chunks: 100,000 look-ups took 4–7 ms
        // (`loadgen store-lookups`), a chunk about a hundredth of that,
        // which is all a join waits for.
        let mut records = Vec::with_capacity(visitors.len());
        for chunk in visitors.chunks(LOOKUPS_PER_LOCK) {
            let inner = self.lock();
            let state = inner.events.get(event);
            records.extend(chunk.iter().map(|v| record_at(state, v, now)));
        }
        Ok(records)
    }

    async fn touch(&self, event: &EventId, visitors: &[VisitorId], now: Millis) -> Result<()> {
        let mut inner = self.lock();
        let Some(state) = inner.events.get_mut(event) else {
            return Ok(());
        };
        for visitor in visitors {
            state.seen_again(visitor, now);
        }
        Ok(())
    }

    async fn leave(&self, event: &EventId, visitor: &VisitorId) -> Result<bool> {
        let mut inner = self.lock();
        let Some(state) = inner.events.get_mut(event) else {
            return Ok(false);
        };
        let Some(VisitorRecord::Waiting { ticket }) = state.record(visitor).cloned() else {
            return Ok(false);
        };
        state.fifo.remove(&ticket);
        state.forget_seen(visitor);
        state.set(visitor, VisitorRecord::Departed { ticket });
        state.pending_departed.push(ticket);
        Ok(true)
    }

    async fn release(&self, event: &EventId, visitor: &VisitorId) -> Result<bool> {
        let mut inner = self.lock();
        let Some(state) = inner.events.get_mut(event) else {
            return Ok(false);
        };
        let Some(VisitorRecord::Admitted {
            ticket, expires_at, ..
        }) = state.record(visitor).cloned()
        else {
            return Ok(false);
        };
        if !state.active.remove(&(expires_at, visitor.clone())) {
            return Ok(false);
        }
        // An offer given back unused frees its seat for the next fan now.
        state.offers.remove(visitor);
        state.set(visitor, VisitorRecord::Finished { ticket });
        Ok(true)
    }

    async fn acquire_lease(&self, event: &EventId, node: &str, ttl_ms: u64) -> Result<bool> {
        let now = Instant::now();
        let mut inner = self.lock();
        let free = match inner.leases.get(event) {
            None => true,
            Some(lease) => lease.until <= now || lease.node == node,
        };
        if free {
            let lease = Lease {
                node: node.to_owned(),
                until: now + Duration::from_millis(ttl_ms),
            };
            inner.leases.insert(event.clone(), lease);
        }
        Ok(free)
    }

    async fn tick(&self, event: &EventId, node: &str, now: Millis) -> Result<Option<Tick>> {
        let unguarded = TickGuard::default();
        let outcome = self.tick_guarded(event, node, now, &unguarded).await?;
        Ok(outcome.into_tick())
    }

    async fn tick_guarded(
        &self,
        event: &EventId,
        node: &str,
        now: Millis,
        guard: &TickGuard,
    ) -> Result<TickOutcome> {
        let mut inner = self.lock();
        let outcome = inner.tick_guarded(event, node, now, guard)?;
        if let TickOutcome::Ran(tick) = &outcome {
            // Sent while locked so subscribers see ticks in `seq` order; an
            // error only means nobody is subscribed right now.
            let _ = self.ticks.send(tick.as_ref().clone());
        }
        Ok(outcome)
    }

    async fn snapshot(&self, event: &EventId) -> Result<Snapshot> {
        let inner = self.lock();
        let state = inner.events.get(event).ok_or_else(|| unknown(event))?;
        Ok(Snapshot {
            seq: state.seq,
            head: state.head,
            last_ticket: state.last_ticket,
            departed: state.departed.iter().copied().collect(),
            returning: state.returning(),
            epoch: state.epoch.clone(),
            restored_at: state.restored_at,
            active: state.active.len() as u32,
            waiting: state.fifo.len() as u64,
            sold_out: state.sold_out,
            settings: state.settings.clone(),
        })
    }

    async fn restore(
        &self,
        event: &EventId,
        settings: &QueueSettings,
        floor: &RestoreFloor,
        now: Millis,
    ) -> Result<()> {
        settings.validate()?;
        let mut inner = self.lock();
        let state = inner
            .events
            .entry(event.clone())
            .or_insert_with(|| EventState {
                settings: settings.clone(),
                ..EventState::default()
            });
        state.restore(floor, now);
        Ok(())
    }

    async fn claim(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        ticket: u64,
        now: Millis,
    ) -> Result<Option<u64>> {
        let mut inner = self.lock();
        let state = inner.events.get_mut(event).ok_or_else(|| unknown(event))?;
        Ok(state.claim(visitor, ticket, now))
    }

    fn subscribe(&self) -> broadcast::Receiver<Tick> {
        self.ticks.subscribe()
    }

    async fn mark_sold_out(&self, event: &EventId) -> Result<bool> {
        Ok(self
            .lock()
            .events
            .get_mut(event)
            .is_some_and(EventState::mark_sold_out))
    }

    async fn return_seats(&self, event: &EventId, seats: u64) -> Result<()> {
        if let Some(state) = self.lock().events.get_mut(event) {
            state.return_seats(seats);
        }
        Ok(())
    }

    async fn take_seats(&self, event: &EventId, visitor: &VisitorId, seats: u64) -> Result<()> {
        if let Some(state) = self.lock().events.get_mut(event) {
            state.take_seats(visitor, seats);
        }
        Ok(())
    }

    async fn waitlist(
        &self,
        event: &EventId,
        visitor: Option<&VisitorId>,
        now: Millis,
    ) -> Result<WaitlistState> {
        let inner = self.lock();
        let state = inner.events.get(event).ok_or_else(|| unknown(event))?;
        Ok(state.waitlist(visitor, now))
    }

    async fn announce(&self, announcement: &crate::announce::Announcement) -> Result<()> {
        self.set_announcement(announcement)
    }

    async fn announcement(&self, event: &EventId) -> Result<Option<crate::announce::Announcement>> {
        Ok(self.announcement_of(event))
    }

    fn subscribe_announcements(&self) -> broadcast::Receiver<crate::announce::Announcement> {
        self.announcements.subscribe()
    }

    async fn set_contact(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        contact: &str,
    ) -> Result<bool> {
        self.keep_contact(event, visitor, contact)
    }

    async fn contacts(
        &self,
        event: &EventId,
        visitors: &[VisitorId],
    ) -> Result<Vec<(VisitorId, String)>> {
        Ok(self.contacts_of(event, visitors))
    }
}
