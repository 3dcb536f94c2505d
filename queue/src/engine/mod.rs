//! The per-node engine: follows ticks, keeps exact positions for the
//! waiters connected here, runs admission ticks while holding the lease,
//! and serves joins and status lookups.

mod announce;
pub mod cadence;
#[cfg(test)]
mod cadence_tests;
mod connect;
pub mod contact;
mod fanout;
pub mod fenwick;
mod loops;
pub mod mailbox;
mod pace;
pub mod recovery;
mod sold_out;
pub mod view;
pub mod waiters;

pub use connect::Attachment;
pub use sold_out::in_line_state;

use crate::admission::AdmissionIssuer;
use crate::error::{QueueError, Result};
use crate::ids::{EventId, VisitorId};
use crate::protocol::{ServerMsg, WaiterState};
use crate::settings::{QueueSettings, QueueState};
use crate::store::{JoinOutcome, Millis, QueueStore, VisitorRecord};
use crate::visitor::{CredentialCodec, VisitorCredential};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use view::{EventView, Position};
use waiters::Waiters;

/// Tries of a place lookup that times out (see `lookup_place`), and the
/// pause before the second (doubled before the third).
const LOOKUP_TRIES: u32 = 3;
const LOOKUP_BACKOFF: Duration = Duration::from_millis(250);

/// Tunables of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This process's id in the admitter lease.
    pub node_id: String,
    /// How often admission ticks run (and how often leases are renewed).
    pub tick_interval: Duration,
    /// How long a lease lives without renewal: the takeover delay when the
    /// admitting process dies.
    pub lease_ttl: Duration,
    /// Where an admitted fan goes next; `{event}` is replaced.
    pub next_path: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            node_id: format!("node-{}", uuid::Uuid::new_v4().simple()),
            tick_interval: Duration::from_millis(1_000),
            lease_ttl: Duration::from_millis(3_000),
            next_path: "/events/{event}/book".to_owned(),
        }
    }
}

/// One event as seen by this node: the position view and local sockets.
#[derive(Debug)]
pub struct EventHub {
    /// The event.
    pub event: EventId,
    /// Positions and settings as of the last tick (read through
    /// [`EventHub::view`]; only the engine changes it).
    pub(crate) view: Mutex<EventView>,
    /// Sockets connected to this node.
    pub(crate) waiters: Mutex<Waiters>,
    /// The operator's announcement in force (see `announce`).
    pub(crate) announcement: Mutex<announce::AnnouncementCache>,
}

/// Read access to an event's view as of the last tick: the guard derefs to
/// the view but never mutably, so code outside the engine cannot change
/// positions or settings behind a tick's back. Hold it briefly (it is the
/// view's lock).
pub struct ViewRef<'a>(std::sync::MutexGuard<'a, EventView>);

impl std::ops::Deref for ViewRef<'_> {
    type Target = EventView;

    fn deref(&self) -> &EventView {
        &self.0
    }
}

impl EventHub {
    /// The view as of the last tick, read-only.
    pub fn view(&self) -> ViewRef<'_> {
        ViewRef(lock(&self.view))
    }

    /// The operator's announcement in force on this node.
    pub fn announcement(&self) -> Option<crate::announce::Announcement> {
        lock(&self.announcement).current.clone()
    }
}

/// Lock helper: a poisoned mutex only means another task panicked while
/// holding it; the data is plain counters and maps, still usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a join or status call returns to the fan.
#[derive(Debug, Clone)]
pub struct VisitorStatus {
    /// Who.
    pub visitor: VisitorId,
    /// The encoded visitor credential (`queue_token`).
    pub queue_token: String,
    /// Ticket number.
    pub ticket: u64,
    /// Whether a join created the place.
    pub fresh: bool,
    /// Whether the fan just came back to a place kept during an absence.
    pub kept_place: bool,
    /// Whether `queue_token` differs from the presented credential (it now
    /// claims a new or first ticket), so the cookie must be replaced.
    pub reissued: bool,
    /// The waiter's state.
    pub state: WaiterState,
    /// The queue's state.
    pub queue_state: QueueState,
    /// Position when waiting.
    pub position: Option<Position>,
    /// Waiters in the queue.
    pub waiting: u64,
    /// Admission token and expiry (ms) when admitted.
    pub admission: Option<(String, Millis)>,
    /// When admitted with a waitlist offer: when the offer passes on.
    pub offer_expires_at: Option<Millis>,
    /// The operator's announcement in force.
    pub announcement: Option<crate::announce::Announcement>,
}

/// The engine. Cheap to share behind an `Arc`.
pub struct Engine {
    store: Arc<dyn QueueStore>,
    config: EngineConfig,
    codec: CredentialCodec,
    issuer: AdmissionIssuer,
    hubs: RwLock<HashMap<EventId, Arc<EventHub>>>,
    store_ok: AtomicBool,
    /// Settings and checkpoints that outlive the store (`recovery`).
    ledger: std::sync::OnceLock<Arc<dyn crate::ledger::QueueLedger>>,
    /// What the admitter expects of each event's store state.
    watch: Mutex<HashMap<EventId, recovery::Watch>>,
    /// Events this process restored, and when.
    recovering: Mutex<HashMap<EventId, Millis>>,
    /// Events whose checkpoint is being written.
    checkpointing: Arc<Mutex<std::collections::HashSet<EventId>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("backend", &self.store.backend())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

impl Engine {
    /// Builds an engine; call [`Engine::spawn_loops`] to start it.
    pub fn new(
        store: Arc<dyn QueueStore>,
        config: EngineConfig,
        codec: CredentialCodec,
        issuer: AdmissionIssuer,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            config,
            codec,
            issuer,
            hubs: RwLock::new(HashMap::new()),
            store_ok: AtomicBool::new(true),
            ledger: std::sync::OnceLock::new(),
            watch: Mutex::new(HashMap::new()),
            recovering: Mutex::new(HashMap::new()),
            checkpointing: Arc::default(),
        })
    }

    /// The backing store.
    pub fn store(&self) -> &Arc<dyn QueueStore> {
        &self.store
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Whether the last store call succeeded (readiness, join gating).
    pub fn store_ok(&self) -> bool {
        self.store_ok.load(Ordering::Relaxed)
    }

    /// Records a store call's outcome; returns the previous health.
    fn note_store(&self, ok: bool) -> bool {
        self.store_ok.swap(ok, Ordering::Relaxed)
    }

    /// Passes a store result through, tracking store health.
    fn track<T>(&self, r: Result<T>) -> Result<T> {
        match &r {
            Err(QueueError::Unavailable(_)) => {
                metrics::counter!("waitroom_queue_store_errors_total").increment(1);
                self.note_store(false);
            }
            Ok(_) => {
                self.note_store(true);
            }
            Err(_) => {}
        }
        r
    }

    /// The hub of an event, loading its snapshot on first use.
    pub async fn hub(&self, event: &EventId) -> Result<Arc<EventHub>> {
        if let Some(h) = self.read_hubs().get(event) {
            return Ok(h.clone());
        }
        let snapshot = self.restoring(event, || self.store.snapshot(event)).await?;
        let announcement = self.initial_announcement(event).await;
        let mut hubs = self
            .hubs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let hub = hubs.entry(event.clone()).or_insert_with(|| {
            Arc::new(EventHub {
                event: event.clone(),
                view: Mutex::new(EventView::from_snapshot(snapshot)),
                waiters: Mutex::new(Waiters::default()),
                announcement: Mutex::new(announcement),
            })
        });
        Ok(hub.clone())
    }

    fn read_hubs(&self) -> std::sync::RwLockReadGuard<'_, HashMap<EventId, Arc<EventHub>>> {
        self.hubs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every hub on this node.
    pub(crate) fn all_hubs(&self) -> Vec<Arc<EventHub>> {
        self.read_hubs().values().cloned().collect()
    }

    /// Decodes a presented credential for `event`.
    pub fn credential(&self, event: &EventId, token: &str) -> Result<VisitorCredential> {
        Ok(self.codec.decode(token, event)?)
    }

    /// Joins, or returns the existing place of the presented credential.
    /// A tampered or foreign credential is refused before anything changes.
    pub async fn join(&self, event: &EventId, presented: Option<&str>) -> Result<VisitorStatus> {
        let cred = match presented {
            Some(token) => self.credential(event, token)?,
            None => VisitorCredential::new(event.clone(), VisitorId::random()),
        };
        let hub = self.hub(event).await?;
        // A presented credential's place is looked at first: its claim is
        // checked (before the join could hand a stale credential a new
        // ticket), and a place kept through an absence is given back.
        let now = now_ms();
        let (before, kept) = match presented {
            Some(_) => {
                self.lookup_place(event, &cred, now, Presence::Leave)
                    .await?
            }
            None => (VisitorRecord::Unknown, false),
        };
        self.check_waitlist_join(&hub, &before, kept).await?;
        let join = || self.store.join(event, &cred.visitor, now);
        let outcome = self.restoring(event, join).await?;
        // A fan who had departed and is back, at their place or (past
        // `place_ttl_seconds`) at the back: the sale analytics count them.
        let departed = matches!(before, VisitorRecord::Departed { .. }) && outcome.fresh;
        if departed || kept || outcome.reinstated {
            let returned = [(crate::store::counters::RETURNED, 1)];
            if let Err(e) = self.store.add_counters(event, &returned).await {
                // A lost count only skews the abandonment figure.
                tracing::warn!(error = %e, "counting a returning fan failed");
            }
        }
        // From here on the credential claims the ticket the join gave.
        let cred = VisitorCredential {
            ticket: Some(outcome.ticket).filter(|t| *t > 0).or(cred.ticket),
            ..cred
        };
        // A new place is known from the join itself (one store round trip);
        // a returning visitor may have been admitted meanwhile: look.
        let mut status = match outcome {
            JoinOutcome {
                fresh: true,
                reinstated: false,
                ticket: 0,
                ..
            } => self.status_of(&hub, &cred, VisitorRecord::Prequeue, false, None)?,
            JoinOutcome {
                fresh: true,
                reinstated: false,
                ticket,
                ..
            } => {
                let waiting = VisitorRecord::Waiting { ticket };
                self.status_of(&hub, &cred, waiting, false, None)?
            }
            _ => self.status_for(&hub, &cred, now, Presence::Leave).await?,
        };
        status.fresh = outcome.fresh;
        status.kept_place |= kept || outcome.reinstated;
        Ok(status)
    }

    /// Status of the presented credential; also counts as presence.
    pub async fn status(&self, event: &EventId, token: &str) -> Result<VisitorStatus> {
        let cred = self.credential(event, token)?;
        let hub = self.hub(event).await?;
        self.status_for(&hub, &cred, now_ms(), Presence::Touch)
            .await
    }

    async fn status_for(
        &self,
        hub: &EventHub,
        cred: &VisitorCredential,
        now: Millis,
        presence: Presence,
    ) -> Result<VisitorStatus> {
        let (record, kept_place) = self.lookup_place(&hub.event, cred, now, presence).await?;
        let offer = match record {
            VisitorRecord::Admitted { .. } => self.offer_of(hub, &cred.visitor, now).await,
            _ => None,
        };
        self.status_of(hub, cred, record, kept_place, offer)
    }

    fn status_of(
        &self,
        hub: &EventHub,
        cred: &VisitorCredential,
        record: VisitorRecord,
        kept_place: bool,
        offer: Option<Millis>,
    ) -> Result<VisitorStatus> {
        let (queue_state, waiting, in_line) = {
            let v = lock(&hub.view);
            (v.settings.state, v.waiting, sold_out::in_line_state(&v))
        };
        // The credential handed back claims the place the store holds.
        let claimed = VisitorCredential {
            ticket: record.ticket().filter(|t| *t > 0).or(cred.ticket),
            ..cred.clone()
        };
        let mut status = VisitorStatus {
            visitor: cred.visitor.clone(),
            queue_token: self.codec.encode(&claimed),
            reissued: claimed.ticket != cred.ticket,
            ticket: 0,
            fresh: false,
            kept_place,
            state: WaiterState::Departed,
            queue_state,
            position: None,
            waiting,
            admission: None,
            offer_expires_at: None,
            announcement: hub.announcement(),
        };
        match record {
            VisitorRecord::Unknown => return Err(QueueError::NotJoined),
            // No ticket and no position until the shuffle at opening.
            VisitorRecord::Prequeue => status.state = WaiterState::Prequeue,
            VisitorRecord::Waiting { ticket } => {
                status.ticket = ticket;
                status.state = in_line;
                let p = lock(&hub.view).position(ticket);
                // The waiting count is as of the last tick; someone who just
                // joined is waiting too, with everyone ahead of them.
                status.waiting = status.waiting.max(p.position);
                status.position = Some(p);
            }
            VisitorRecord::Admitted {
                ticket,
                admitted_at,
                expires_at,
            } => {
                status.ticket = ticket;
                status.state = WaiterState::Admitted;
                let token = self.issue(
                    &hub.event,
                    &cred.visitor,
                    &cred.session_hash(),
                    ticket,
                    admitted_at,
                    expires_at,
                    offer.is_some(),
                )?;
                status.admission = Some((token, expires_at));
                status.offer_expires_at = offer;
            }
            VisitorRecord::Finished { ticket } | VisitorRecord::Departed { ticket } => {
                status.ticket = ticket;
            }
        }
        Ok(status)
    }

    /// The visitor's record; a fan who departed by absence and comes back
    /// (poll, socket or join) while their place is kept gets it back here,
    /// reported by the `bool`. `Presence::Touch` also marks a waiter
    /// present, in the same round trip.
    pub(crate) async fn lookup_place(
        &self,
        event: &EventId,
        cred: &VisitorCredential,
        now: Millis,
        presence: Presence,
    ) -> Result<(VisitorRecord, bool)> {
        let record = match presence {
            Presence::Touch => {
                // A socket or poll whose lookup timed out would fail and
                // come back as a new handshake or request, the dearer retry
                // under load (a connect storm starves a process of CPU for
                // seconds, and the reply waits unread). A few spaced tries
                // ride that out; a store that is down still fails within
                // `LOOKUP_TRIES` timeouts, or at once when it refuses.
                let mut tries = 1;
                loop {
                    match self.store.lookup_present(event, &cred.visitor, now).await {
                        Err(QueueError::Unavailable(_)) if tries < LOOKUP_TRIES => {
                            tokio::time::sleep(LOOKUP_BACKOFF * tries).await;
                            tries += 1;
                        }
                        done => break done,
                    }
                }
            }
            Presence::Leave => self.store.lookup(event, &cred.visitor, now).await,
        };
        let record = self.track(record)?;
        self.check_claim(event, cred, &record)?;
        if let (VisitorRecord::Unknown, Some(claim)) = (&record, cred.ticket) {
            // The store lost the place; the verified claim brings it back.
            let placed = self.track(self.store.claim(event, &cred.visitor, claim, now).await)?;
            if let Some(ticket) = placed {
                metrics::counter!("waitroom_places_restored_total").increment(1);
                return Ok((VisitorRecord::Waiting { ticket }, true));
            }
        }
        if !matches!(record, VisitorRecord::Departed { .. }) {
            return Ok((record, false));
        }
        match self.track(self.store.reinstate(event, &cred.visitor, now).await)? {
            Some(ticket) => {
                metrics::counter!("waitroom_places_kept_total").increment(1);
                tracing::info!(event = %event, visitor = %cred.visitor, ticket, "a departed fan came back to their place");
                Ok((VisitorRecord::Waiting { ticket }, true))
            }
            None => Ok((record, false)),
        }
    }

    /// Refuses a credential whose place claim the store contradicts: an old
    /// credential from before a reissue, or a replayed one. A store that
    /// does not know the visitor at all cannot contradict it.
    fn check_claim(
        &self,
        event: &EventId,
        cred: &VisitorCredential,
        record: &VisitorRecord,
    ) -> Result<()> {
        let (Some(claim), Some(held)) = (cred.ticket, record.ticket()) else {
            return Ok(());
        };
        if claim == held {
            return Ok(());
        }
        metrics::counter!("waitroom_place_claims_refused_total").increment(1);
        tracing::warn!(event = %event, visitor = %cred.visitor, claim, held, "refused a place claim the queue store contradicts");
        Err(crate::visitor::CredentialError::StaleClaim.into())
    }

    // The token's claims, one argument each, as `AdmissionIssuer` takes them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn issue(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        session_hash: &str,
        ticket: u64,
        admitted_at: Millis,
        expires_at: Millis,
        offer: bool,
    ) -> Result<String> {
        Ok(self.issuer.issue_with(
            event,
            visitor,
            ticket,
            admitted_at,
            expires_at,
            session_hash,
            offer,
        )?)
    }

    /// Where an admitted fan of `event` goes next.
    pub fn next_path(&self, event: &EventId) -> String {
        self.config.next_path.replace("{event}", event.as_str())
    }

    /// Creates or replaces an event's settings; applied by every node at
    /// the next tick.
    pub async fn put_settings(&self, event: &EventId, settings: &QueueSettings) -> Result<()> {
        settings.validate()?;
        self.track(self.store.put_settings(event, settings).await)?;
        self.record_settings(event, settings).await
    }

    /// Current settings straight from the store (restored from the ledger
    /// if the store lost them).
    pub async fn settings(&self, event: &EventId) -> Result<QueueSettings> {
        self.ensure_event(event)
            .await?
            .ok_or_else(|| QueueError::UnknownEvent(event.to_string()))
    }

    /// The event's settings in the store, restoring the event from the
    /// ledger first if the store lost it; `None` when neither has it.
    pub async fn ensure_event(&self, event: &EventId) -> Result<Option<QueueSettings>> {
        if let Some(s) = self.track(self.store.settings(event).await)? {
            return Ok(Some(s));
        }
        if !self.recover(event, recovery::Loss::SettingsMissing).await? {
            return Ok(None);
        }
        self.track(self.store.settings(event).await)
    }

    /// Public room information.
    pub async fn info(&self, event: &EventId) -> Result<RoomInfo> {
        let hub = self.hub(event).await?;
        let seed = self.track(self.store.seed(event).await)?;
        let view = lock(&hub.view);
        // The seed stays secret until the pre-queue has been shuffled (the
        // queue has left `scheduled`/`prequeue`); its hash is public before.
        let shuffled = !matches!(
            view.settings.state,
            QueueState::Scheduled | QueueState::Prequeue
        );
        Ok(RoomInfo {
            prequeue_at: view.settings.policy.prequeue_at,
            opens_at: view.settings.policy.opens_at,
            closes_at: view.settings.policy.closes_at,
            seed_sha256: seed.as_deref().and_then(crate::shuffle::seed_sha256),
            seed: seed.filter(|_| shuffled),
            event: event.to_string(),
            state: view.settings.state,
            waiting: view.waiting,
            active: view.active,
            admit_per_minute: view.settings.admit_per_minute,
            max_active: view.settings.max_active,
            measured_admit_per_minute: view.measured_rate().map(|r| (r * 60.0).round() as u64),
        })
    }

    /// Tells every connected waiter to reconnect elsewhere and closes the
    /// sockets (graceful shutdown). Places are kept in the store.
    pub fn shutdown(&self) {
        let msg = ServerMsg::Reconnect {
            reason: "shutdown",
            retry_ms: 1_000,
        };
        for hub in self.all_hubs() {
            lock(&hub.waiters).close_all(&msg, 1012, "server restarting");
        }
    }

    /// Sockets connected to this node, over all events.
    pub fn connected(&self) -> usize {
        self.all_hubs().iter().map(|h| lock(&h.waiters).len()).sum()
    }
}

/// Waiter state for someone still in line, from the queue's state.
pub fn waiting_state(q: QueueState) -> WaiterState {
    match q {
        QueueState::Prequeue | QueueState::Scheduled => WaiterState::Prequeue,
        QueueState::Paused => WaiterState::Paused,
        QueueState::Closed => WaiterState::Closed,
        QueueState::Open | QueueState::Draining => WaiterState::Waiting,
    }
}

/// Public information about a waiting room (`GET /api/v1/queue/{event}`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomInfo {
    /// Event id.
    pub event: String,
    /// Lifecycle state.
    pub state: QueueState,
    /// Waiters in the queue.
    pub waiting: u64,
    /// Admitted sessions now.
    pub active: u32,
    /// Configured admission rate.
    pub admit_per_minute: u32,
    /// Active-session cap.
    pub max_active: u32,
    /// Admission rate measured over the last minute, if known.
    pub measured_admit_per_minute: Option<u64>,
    /// When the pre-queue starts (ms since the epoch), if scheduled.
    pub prequeue_at: Option<u64>,
    /// When the sale opens and the pre-queue is shuffled.
    pub opens_at: Option<u64>,
    /// When the queue closes.
    pub closes_at: Option<u64>,
    /// SHA-256 of the shuffle seed (hex), published before the sale.
    pub seed_sha256: Option<String>,
    /// The shuffle seed (hex), revealed once the pre-queue is shuffled,
    /// so anyone can recompute the order (README, operator's guide).
    pub seed: Option<String>,
}

/// Whether looking up a place also marks the waiter present: a socket
/// attaching and a status poll do; a join does its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    Touch,
    Leave,
}
