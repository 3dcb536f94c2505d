//! Authoritative queue state behind one trait, with one module per backend.
//!
//! Both backends implement exactly the same semantics and pass the same
//! conformance suite (`queue/tests/conformance.rs`). Every method that
//! changes state is atomic on its own: on Redis it is one Lua script.

pub mod memory;
pub mod redis;
pub mod waitlist;

pub use waitlist::WaitlistState;

use crate::announce::Announcement;
use crate::error::Result;
use crate::ids::{EventId, VisitorId};
use crate::settings::QueueSettings;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Names of the shared counters (`QueueStore::add_counters`).
pub mod counters {
    /// Requests for the event refused by a rate limit.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// Joins of the event without a valid CAPTCHA solution.
    pub const CAPTCHA_FAILED: &str = "captcha_failed";
    /// Joins by visitors whose earlier place had departed (they came back):
    /// departures minus these are the fans who gave up.
    pub const RETURNED: &str = "returned";
}
use tokio::sync::broadcast;

/// Milliseconds since the Unix epoch; passed in so tests control time.
pub type Millis = u64;

/// Result of a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinOutcome {
    /// Dense ticket number (1, 2, 3, … per event); 0 in the pre-queue,
    /// where tickets are only given out by the shuffle at opening.
    pub ticket: u64,
    /// `false` when the visitor already had a place and got it back.
    pub fresh: bool,
    /// `true` when that place was one they had left by absence and was
    /// kept for them (`place_ttl_seconds`).
    pub reinstated: bool,
}

/// What the store knows about one visitor of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitorRecord {
    /// Never joined this event.
    Unknown,
    /// Joined during the pre-queue; gets a ticket when the pre-queue is
    /// shuffled at opening ([`QueueStore::open_prequeue`]).
    Prequeue,
    /// In the queue, not yet admitted.
    Waiting {
        /// The visitor's ticket.
        ticket: u64,
    },
    /// Admitted; the session counts against `max_active` until it expires
    /// or is released.
    Admitted {
        /// The visitor's ticket.
        ticket: u64,
        /// When the admission tick ran.
        admitted_at: Millis,
        /// When the session stops counting as active.
        expires_at: Millis,
    },
    /// Admitted earlier; the session has expired or was released.
    Finished {
        /// The visitor's ticket.
        ticket: u64,
    },
    /// Left the queue (explicitly or by missing the grace period); skipped.
    /// A fan who missed the grace gets the ticket back on returning while
    /// the event keeps their place ([`QueueStore::reinstate`]).
    Departed {
        /// The visitor's ticket.
        ticket: u64,
    },
}

impl VisitorRecord {
    /// The visitor's ticket: `None` when unknown, 0 in the pre-queue.
    pub fn ticket(&self) -> Option<u64> {
        match self {
            Self::Unknown => None,
            Self::Prequeue => Some(0),
            Self::Waiting { ticket }
            | Self::Admitted { ticket, .. }
            | Self::Finished { ticket }
            | Self::Departed { ticket } => Some(*ticket),
        }
    }
}

/// One admitted visitor in a tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    /// Who.
    pub visitor: VisitorId,
    /// Their ticket.
    pub ticket: u64,
    /// When the session expires.
    pub expires_at: Millis,
    /// Whether this admission is a waitlist offer (the event had sold
    /// out): `expires_at` is then when the offer passes on.
    #[serde(default)]
    pub offer: bool,
}

/// The message every admission tick publishes to every node. Nodes compute
/// positions from it without asking the store about individual waiters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// The event this tick belongs to.
    pub event: EventId,
    /// Increments by one per tick of this event; a gap means a node missed
    /// a message and must reload a [`Snapshot`].
    pub seq: u64,
    /// When the tick ran.
    pub at: Millis,
    /// Admitted-through head `H`: every ticket `<= head` has been admitted
    /// or has departed.
    pub head: u64,
    /// The highest ticket issued so far.
    pub last_ticket: u64,
    /// Visitors admitted by this tick, in ticket order.
    pub admitted: Vec<Admission>,
    /// Tickets that departed since the previous tick (all `> previous head`).
    pub departed: Vec<u64>,
    /// Departed tickets whose fans came back since the previous tick; they
    /// count as waiting again. Applied before `departed` (a fan may return
    /// and leave again between two ticks).
    #[serde(default)]
    pub reinstated: Vec<u64>,
    /// Waiters at or below `head`: fans who came back after the head
    /// passed their ticket. They are admitted first, so they are ahead of
    /// every other waiter.
    #[serde(default)]
    pub returning: u64,
    /// The store's epoch for the event: a random id made with its state.
    /// Another value than before means the state was lost and recreated.
    #[serde(default)]
    pub epoch: String,
    /// When the event was last restored after a loss (ms; 0: never).
    #[serde(default)]
    pub restored_at: Millis,
    /// Active sessions after this tick.
    pub active: u32,
    /// Waiters still in the queue after this tick.
    pub waiting: u64,
    /// Whether the event has sold out: the line is the waitlist and
    /// admissions are offers of seats that came back.
    #[serde(default)]
    pub sold_out: bool,
    /// Settings in force when the tick ran, so every node sees changes
    /// within one tick.
    pub settings: QueueSettings,
}

/// Everything a node needs to compute positions from scratch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Sequence number of the last tick folded into this snapshot.
    pub seq: u64,
    /// Admitted-through head.
    pub head: u64,
    /// Highest ticket issued.
    pub last_ticket: u64,
    /// Departed tickets above `head`, ascending.
    pub departed: Vec<u64>,
    /// Waiters at or below `head` (see [`Tick::returning`]).
    pub returning: u64,
    /// See [`Tick::epoch`]; empty before the first tick.
    pub epoch: String,
    /// See [`Tick::restored_at`].
    pub restored_at: Millis,
    /// Active sessions.
    pub active: u32,
    /// Waiters in the queue.
    pub waiting: u64,
    /// See [`Tick::sold_out`].
    pub sold_out: bool,
    /// Current settings.
    pub settings: QueueSettings,
}

/// What [`QueueStore::restore`] raises an event's state to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreFloor {
    /// Identifies the loss being repaired (the lost epoch and high-water
    /// mark): restoring twice with one id changes nothing the second time.
    pub id: String,
    /// The ticket counter becomes at least this; claims of tickets up to
    /// it may be honoured ([`QueueStore::claim`]).
    pub last_ticket: u64,
    /// The admitted-through head becomes at least this.
    pub head: u64,
    /// Sessions admitted before the loss, counted against `max_active`
    /// as placeholders until `active_until`.
    pub active: u32,
    /// When those placeholders expire (ms).
    pub active_until: Millis,
}

/// What a tick must find for the store to be trusted (see
/// [`QueueStore::tick_guarded`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickGuard {
    /// The epoch last checkpointed; empty accepts any.
    pub epoch: String,
    /// The highest ticket known to have been issued.
    pub high_water: u64,
}

/// What [`QueueStore::tick_guarded`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickOutcome {
    /// Another node holds the lease.
    NotLeader,
    /// The store lost writes; nothing was changed.
    Lost,
    /// The tick ran.
    Ran(Box<Tick>),
}

impl TickOutcome {
    /// The tick, if it ran.
    pub fn into_tick(self) -> Option<Tick> {
        match self {
            Self::Ran(tick) => Some(*tick),
            Self::NotLeader | Self::Lost => None,
        }
    }
}

/// Placeholder sessions of a restore are named `restored-<n>`: visitor ids
/// come from the server, which never makes one of this form.
pub const RESTORED_SESSION_PREFIX: &str = "restored-";

/// The operations the engine needs from a backend.
#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// Backend name for logs and metrics (`memory`, `redis`).
    fn backend(&self) -> &'static str;

    /// Checks the backend is reachable (readiness).
    async fn ping(&self) -> Result<()>;

    /// Creates the event's queue or replaces its settings. Queue contents
    /// (tickets, waiters, sessions) are kept.
    async fn put_settings(&self, event: &EventId, settings: &QueueSettings) -> Result<()>;

    /// Compare-and-set for operators' concurrent edits: writes `settings`
    /// (with the version it carries) only if the stored version is
    /// `expected`, where `None` means "the event has no queue yet".
    /// Returns `false`, writing nothing, when someone else wrote first.
    ///
    /// Both real backends override this atomically; the default (read,
    /// compare, write) only serves single-threaded test doubles.
    async fn put_settings_if(
        &self,
        event: &EventId,
        settings: &QueueSettings,
        expected: Option<u64>,
    ) -> Result<bool> {
        let current = self.settings(event).await?.map(|s| s.policy.version);
        if current != expected {
            return Ok(false);
        }
        self.put_settings(event, settings).await?;
        Ok(true)
    }

    /// The event's settings, `None` when the event has no queue.
    async fn settings(&self, event: &EventId) -> Result<Option<QueueSettings>>;

    /// Every event that has a queue.
    async fn events(&self) -> Result<Vec<EventId>>;

    /// Gives the visitor a place, or returns the place they already have
    /// (waiting or admitted, or kept for them after an absence: see
    /// [`QueueStore::reinstate`]). A visitor who left explicitly, whose
    /// kept place expired, or whose admitted session ended, gets a new
    /// ticket at the back. Fails with `UnknownEvent` or `NotJoinable`.
    async fn join(&self, event: &EventId, visitor: &VisitorId, now: Millis) -> Result<JoinOutcome>;

    /// Puts a visitor who departed by absence back at their ticket, if the
    /// event still keeps their place (`place_ttl_seconds` since they
    /// departed), marking them present at `now`. Their ticket waits again:
    /// behind the head it is admitted before every other waiter. Returns
    /// the ticket, or `None` (changing nothing) when there is no kept
    /// place. Works in every queue state, like returning to a place.
    async fn reinstate(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        now: Millis,
    ) -> Result<Option<u64>>;

    /// The visitor's record.
    async fn lookup(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        now: Millis,
    ) -> Result<VisitorRecord>;

    /// [`Self::lookup`] of each of `visitors`, in their order: what a tick
    /// left unsure (at opening, every pre-queue waiter on this node) read
    /// in a few round trips instead of one per visitor.
    async fn lookup_many(
        &self,
        event: &EventId,
        visitors: &[VisitorId],
        now: Millis,
    ) -> Result<Vec<VisitorRecord>>;

    /// Marks waiters as still present (an open socket or a poll), so they
    /// do not depart. Visitors not waiting are ignored.
    async fn touch(&self, event: &EventId, visitors: &[VisitorId], now: Millis) -> Result<()>;

    /// [`Self::lookup`], and a waiter found is marked present as of `now`
    /// ([`Self::touch`]): what a socket attaching or a status poll needs. A
    /// store may do both in one round trip; a connect storm then waits on
    /// half as many.
    async fn lookup_present(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        now: Millis,
    ) -> Result<VisitorRecord> {
        let record = self.lookup(event, visitor, now).await?;
        if matches!(record, VisitorRecord::Waiting { .. }) {
            self.touch(event, std::slice::from_ref(visitor), now)
                .await?;
        }
        Ok(record)
    }

    /// The visitor leaves the queue now (explicit departure). Their place
    /// is given up: it is not kept for a return.
    /// Returns whether they were waiting.
    async fn leave(&self, event: &EventId, visitor: &VisitorId) -> Result<bool>;

    /// Ends an admitted session early (booking finished or hold released),
    /// freeing its slot under `max_active`. Returns whether it was active.
    async fn release(&self, event: &EventId, visitor: &VisitorId) -> Result<bool>;

    /// Takes or renews the admitter lease for `node`; returns whether
    /// `node` holds it now.
    async fn acquire_lease(&self, event: &EventId, node: &str, ttl_ms: u64) -> Result<bool>;

    /// Runs one admission tick atomically, if `node` holds the lease:
    /// expires sessions, departs waiters idle past the grace period,
    /// admits `min(rate budget, max_active - active)` waiters in ticket
    /// order, advances the head, and publishes the resulting [`Tick`] to
    /// every subscriber. `None` when `node` does not hold the lease.
    async fn tick(&self, event: &EventId, node: &str, now: Millis) -> Result<Option<Tick>>;

    /// [`QueueStore::tick`], unless the store has lost writes the ledger
    /// knows of: a ticket counter below `guard.high_water` or another epoch
    /// than `guard.epoch` answers [`TickOutcome::Lost`], changing nothing,
    /// so nobody is admitted before the event is restored. The default
    /// (for test doubles) checks nothing.
    async fn tick_guarded(
        &self,
        event: &EventId,
        node: &str,
        now: Millis,
        _guard: &TickGuard,
    ) -> Result<TickOutcome> {
        Ok(match self.tick(event, node, now).await? {
            Some(tick) => TickOutcome::Ran(Box::new(tick)),
            None => TickOutcome::NotLeader,
        })
    }

    /// State for computing positions from scratch.
    async fn snapshot(&self, event: &EventId) -> Result<Snapshot>;

    /// Repairs an event after the store lost data, atomically: stores
    /// `settings` if the event has none, raises the ticket counter and the
    /// head to the floor, counts the floor's sessions as placeholders
    /// against `max_active`, allows claims up to `floor.last_ticket`, and
    /// marks the event restored at `now`. Repeating it with the same
    /// `floor.id` (several processes noticing one loss) changes nothing.
    /// The default (for test doubles) refuses.
    async fn restore(
        &self,
        _event: &EventId,
        _settings: &QueueSettings,
        _floor: &RestoreFloor,
        _now: Millis,
    ) -> Result<()> {
        Err(crate::QueueError::Corrupt(
            "this store cannot restore events".to_owned(),
        ))
    }

    /// Gives a visitor the store does not know (lost with the data) the
    /// ticket their verified credential claims, if a restore covers it
    /// (`ticket <= floor.last_ticket`). They wait again at that ticket;
    /// behind the head they are admitted first, in ticket order. `None`,
    /// changing nothing, when the store knows the visitor or no restore
    /// covers the ticket. The default (for test doubles) places nobody.
    async fn claim(
        &self,
        _event: &EventId,
        _visitor: &VisitorId,
        _ticket: u64,
        _now: Millis,
    ) -> Result<Option<u64>> {
        Ok(None)
    }

    /// Ticks of every event, as published by whichever node ran them.
    fn subscribe(&self) -> broadcast::Receiver<Tick>;

    /// Visitors in the pre-queue and when each joined (ms), in join order.
    /// The default (for test doubles) has none.
    async fn prequeue(&self, _event: &EventId) -> Result<Vec<(VisitorId, Millis)>> {
        Ok(Vec::new())
    }

    /// The fair start, atomically, if the stored settings version is
    /// `expected`: gives tickets to the pre-queue, first to the visitors in
    /// `order` that are still in it (in that order: the shuffled ones),
    /// then to any other pre-queue visitor by join time (FIFO), marks them
    /// present at `now`, empties the pre-queue and stores `settings` (the
    /// opened state). Returns how many tickets were given, or `None`,
    /// changing nothing, when the version differs.
    async fn open_prequeue(
        &self,
        _event: &EventId,
        _order: &[VisitorId],
        _settings: &QueueSettings,
        _expected: u64,
        _now: Millis,
    ) -> Result<Option<u64>> {
        Err(crate::QueueError::Corrupt(
            "this store has no pre-queue".to_owned(),
        ))
    }

    /// Stores the event's shuffle seed (hex) unless one exists; returns the
    /// seed in force, so concurrent callers agree. Kept apart from the
    /// settings, which every tick publishes.
    async fn init_seed(&self, _event: &EventId, _seed: &str) -> Result<String> {
        Err(crate::QueueError::Corrupt(
            "this store keeps no seeds".to_owned(),
        ))
    }

    /// The event's shuffle seed, if one was made.
    async fn seed(&self, _event: &EventId) -> Result<Option<String>> {
        Ok(None)
    }

    /// Deletes everything stored for the event (settings, places, sessions,
    /// seed, counters, lease) and stops every node ticking it. Repeating it
    /// is harmless. The default (for test doubles) refuses.
    async fn remove_event(&self, _event: &EventId) -> Result<()> {
        Err(crate::QueueError::Corrupt(
            "this store cannot remove events".to_owned(),
        ))
    }

    /// Adds `deltas` to the event's shared counters (the edge's rejections),
    /// so the counts of every node meet in one place. The default (for
    /// test doubles) keeps nothing.
    async fn add_counters(&self, _event: &EventId, _deltas: &[(&str, u64)]) -> Result<()> {
        Ok(())
    }

    /// The event's shared counters by name; absent names are zero.
    async fn counters(&self, _event: &EventId) -> Result<BTreeMap<String, u64>> {
        Ok(BTreeMap::new())
    }

    /// The event sold out (booking found no seat or place left): from the
    /// next tick the line is the waitlist, and admissions are offers of
    /// seats that come back ([`QueueStore::return_seats`]), at most one
    /// outstanding offer per free seat. Returns whether this call made the
    /// change (`false`: already sold out, or no such queue). The default
    /// (for test doubles) keeps no waitlist.
    async fn mark_sold_out(&self, _event: &EventId) -> Result<bool> {
        Ok(false)
    }

    /// `seats` came back on sale (a hold expired or was released, an order
    /// was cancelled or refunded): once sold out, each is offered to the
    /// next waitlisted fan. Ignored before the event sold out.
    async fn return_seats(&self, _event: &EventId, _seats: u64) -> Result<()> {
        Ok(())
    }

    /// `visitor` held `seats`: once sold out they are no longer free, and
    /// the visitor's outstanding offer (if any) is used up.
    async fn take_seats(&self, _event: &EventId, _visitor: &VisitorId, _seats: u64) -> Result<()> {
        Ok(())
    }

    /// The event's waitlist at `now`, and `visitor`'s outstanding offer.
    async fn waitlist(
        &self,
        _event: &EventId,
        _visitor: Option<&VisitorId>,
        _now: Millis,
    ) -> Result<WaitlistState> {
        Ok(WaitlistState::default())
    }

    /// Sets (or, with an empty message, clears) the event's announcement
    /// and publishes it to every subscriber of every node. Fails with
    /// `UnknownEvent` when the event has no queue. The default (for test
    /// doubles) refuses.
    async fn announce(&self, _announcement: &Announcement) -> Result<()> {
        Err(crate::QueueError::Corrupt(
            "this store keeps no announcements".to_owned(),
        ))
    }

    /// The event's announcement in force, `None` when there is none.
    async fn announcement(&self, _event: &EventId) -> Result<Option<Announcement>> {
        Ok(None)
    }

    /// Keeps `contact` (opaque to the store: the fan's "tell me when it is
    /// my turn" address) for a visitor the event knows, replacing any
    /// earlier one; `false`, storing nothing, when the event has no record
    /// of the visitor. Removed with the event. The default (for test
    /// doubles) refuses.
    async fn set_contact(
        &self,
        _event: &EventId,
        _visitor: &VisitorId,
        _contact: &str,
    ) -> Result<bool> {
        Err(crate::QueueError::Corrupt(
            "this store keeps no contacts".to_owned(),
        ))
    }

    /// The contacts of those of `visitors` who left one, in any order.
    async fn contacts(
        &self,
        _event: &EventId,
        _visitors: &[VisitorId],
    ) -> Result<Vec<(VisitorId, String)>> {
        Ok(Vec::new())
    }

    /// Announcements of every event, as published by whichever node set
    /// them (cleared ones carry an empty message). The default (for test
    /// doubles) never yields one.
    fn subscribe_announcements(&self) -> broadcast::Receiver<Announcement> {
        broadcast::channel(1).1
    }
}

/// Tick state a backend keeps per event between ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TickClock {
    /// When the previous tick ran (0: never).
    pub last: Millis,
    /// Fraction of a visitor carried from the previous tick, in [0, 1).
    pub carry: f64,
}

/// How many visitors the rate allows since the last tick, carrying the
/// fraction so the long-run rate is exact. Shared by both backends' tests;
/// the Redis script implements the same arithmetic in Lua.
pub fn rate_budget(clock: TickClock, now: Millis, per_minute: u32) -> (u64, TickClock) {
    if clock.last == 0 || now <= clock.last {
        return (
            0,
            TickClock {
                last: now.max(clock.last),
                carry: clock.carry,
            },
        );
    }
    // Cap the elapsed time so a long pause or a lost lease does not release
    // a burst of pent-up budget at once.
    let elapsed = (now - clock.last).min(5_000) as f64;
    let budget = clock.carry + elapsed * f64::from(per_minute) / 60_000.0;
    let whole = budget.floor();
    (
        whole as u64,
        TickClock {
            last: now,
            carry: budget - whole,
        },
    )
}
