//! When the queue store loses an event's data (a Redis restart without
//! persistence, a flush, a failover to a replica that missed the last
//! writes), the event is restored from the ledger instead of silently
//! vanishing: settings, a ticket counter above every ticket ever issued,
//! the admitted-through head and the active sessions. Fans then get their
//! places back by presenting their credential's place claim.
//!
//! Any process may notice (settings missing, another epoch, a counter
//! below the checkpointed high-water mark) and restore; the store's
//! restore is idempotent per loss, so processes noticing at once restore
//! once. Only the admitter checkpoints, after every tick.

use super::{lock, now_ms, Engine, EventHub};
use crate::error::{QueueError, Result};
use crate::ids::EventId;
use crate::ledger::{Checkpoint, QueueLedger};
use crate::protocol::ServerMsg;
use crate::settings::QueueSettings;
use crate::store::{Millis, RestoreFloor, Tick, TickGuard};
use std::sync::Arc;

/// How long an event reports `recovering` after a restore: long enough
/// for fans away at the moment of the loss to come back with their claim.
pub const RECOVERING_FOR_MS: Millis = 120_000;

/// However quiet the sale was, a restored counter skips at least this many
/// tickets, for joins after the last checkpoint.
pub const MIN_TICKET_MARGIN: u64 = 1_000;

/// What made a process look at an event's store state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// The event's settings are missing from the store.
    SettingsMissing,
    /// The store's ticket counter or epoch went back (lost writes).
    WritesLost,
}

impl Loss {
    fn reason(self) -> &'static str {
        match self {
            Self::SettingsMissing => "the event's settings are missing from the queue store",
            Self::WritesLost => "the queue store's ticket counter or epoch went back (lost writes)",
        }
    }
}

/// What the admitter expects of an event's store state, from the ledger.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watch {
    /// The guard its ticks run with.
    guard: TickGuard,
    /// `last_ticket` at the previous checkpoint.
    previous: u64,
    /// Largest ticket jump between two checkpoints.
    margin: u64,
}

/// Most admissions one tick can make (the rate budget caps a tick's
/// elapsed time at 5 s): sessions admitted after the last checkpoint
/// before a loss are at most this many.
fn one_tick_admissions(s: &QueueSettings) -> u32 {
    s.admit_per_minute.div_ceil(12)
}

impl Engine {
    /// Gives the engine the system of record for settings and checkpoints.
    /// Without one, nothing is restored after a loss.
    pub fn set_ledger(&self, ledger: Arc<dyn QueueLedger>) {
        let _ = self.ledger.set(ledger);
    }

    /// The ledger, when one was set.
    pub fn ledger(&self) -> Option<&Arc<dyn QueueLedger>> {
        self.ledger.get()
    }

    /// Records a settings write in the ledger (after the store took it).
    pub async fn record_settings(&self, event: &EventId, settings: &QueueSettings) -> Result<()> {
        match self.ledger() {
            Some(ledger) => ledger.save_settings(event, settings).await,
            None => Ok(()),
        }
    }

    /// Removes an event for good: first from the ledger, so no process
    /// restores it, then from the store.
    pub async fn remove_event(&self, event: &EventId) -> Result<()> {
        if let Some(ledger) = self.ledger() {
            ledger.forget(event).await?;
        }
        self.lock_watch().remove(event);
        self.track(self.store.remove_event(event).await)
    }

    /// Restores `event` in the store from the ledger after a `loss`.
    /// `false` when the ledger does not know the event (it really does not
    /// exist).
    pub async fn recover(&self, event: &EventId, loss: Loss) -> Result<bool> {
        let Some(ledger) = self.ledger() else {
            return Ok(false);
        };
        let Some(settings) = ledger.load_settings(event).await? else {
            return Ok(false);
        };
        let checkpoint = ledger.load_checkpoint(event).await?.unwrap_or_default();
        // Read after the checkpoint: a process that restored first only
        // checkpoints after restoring, so either the checkpoint names the
        // same loss (the restore below is a no-op) or the settings are back.
        if loss == Loss::SettingsMissing && self.track(self.store.settings(event).await)?.is_some()
        {
            return Ok(true);
        }
        let reason = loss.reason();
        let now = now_ms();
        let floor = restore_floor(&checkpoint, &settings, now);
        self.track(self.store.restore(event, &settings, &floor, now).await)?;
        tracing::error!(
            event = %event,
            reason,
            lost_epoch = %checkpoint.epoch,
            tickets_issued = checkpoint.last_ticket,
            counter_from = floor.last_ticket,
            head = floor.head,
            active = floor.active,
            "the queue store lost this event's state; restored it from the database, recovering"
        );
        metrics::counter!("waitroom_queue_recoveries_total", "event" => event.to_string())
            .increment(1);
        // The restored state has a new epoch (or a raised counter) that the
        // next tick checkpoints.
        self.lock_watch().insert(
            event.clone(),
            Watch {
                guard: TickGuard {
                    epoch: String::new(),
                    high_water: floor.last_ticket,
                },
                previous: floor.last_ticket,
                margin: checkpoint.ticket_margin,
            },
        );
        lock(&self.recovering).insert(event.clone(), now);
        Ok(true)
    }

    /// Runs `op` on the store; if the event is unknown there but the ledger
    /// has it (the store lost it), restores it and runs `op` once more.
    pub(crate) async fn restoring<T, F, Fut>(&self, event: &EventId, op: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        match self.track(op().await) {
            Err(QueueError::UnknownEvent(_))
                if self.recover(event, Loss::SettingsMissing).await? =>
            {
                self.track(op().await)
            }
            other => other,
        }
    }

    /// The guard for the admitter's next tick of `event`, loading the
    /// checkpoint on first use.
    pub(crate) async fn tick_guard(&self, event: &EventId) -> Result<TickGuard> {
        if let Some(w) = self.lock_watch().get(event) {
            return Ok(w.guard.clone());
        }
        let Some(ledger) = self.ledger() else {
            return Ok(TickGuard::default());
        };
        let cp = ledger.load_checkpoint(event).await?.unwrap_or_default();
        let watch = Watch {
            guard: TickGuard {
                epoch: cp.epoch,
                high_water: cp.last_ticket,
            },
            previous: cp.last_ticket,
            margin: cp.ticket_margin,
        };
        let guard = watch.guard.clone();
        self.lock_watch().insert(event.clone(), watch);
        Ok(guard)
    }

    /// Checkpoints a tick the admitter ran, in the background: the tick
    /// cadence never waits for the database. One write per event is in
    /// flight at a time; a tick that finds one skips its own (the next tick
    /// writes newer figures).
    pub(crate) fn checkpoint(&self, tick: &Tick) {
        let Some(ledger) = self.ledger().cloned() else {
            return;
        };
        let checkpoint = {
            let mut watches = self.lock_watch();
            let w = watches.entry(tick.event.clone()).or_default();
            w.margin = w.margin.max(tick.last_ticket.saturating_sub(w.previous));
            w.previous = tick.last_ticket;
            w.guard = TickGuard {
                epoch: tick.epoch.clone(),
                high_water: w.guard.high_water.max(tick.last_ticket),
            };
            Checkpoint {
                epoch: tick.epoch.clone(),
                last_ticket: tick.last_ticket,
                head: tick.head,
                active: tick.active,
                // Every session counted ends within its TTL of this tick.
                active_until: tick.at + u64::from(tick.settings.session_ttl_seconds) * 1_000,
                ticket_margin: w.margin,
                at: tick.at,
            }
        };
        if !lock(&self.checkpointing).insert(tick.event.clone()) {
            return;
        }
        let (busy, event) = (self.checkpointing.clone(), tick.event.clone());
        tokio::spawn(async move {
            if let Err(e) = ledger.checkpoint(&event, &checkpoint).await {
                tracing::warn!(event = %event, error = %e, "checkpoint not recorded");
            }
            lock(&busy).remove(&event);
        });
    }

    /// Events restored within [`RECOVERING_FOR_MS`], as this process knows
    /// from its own restores and from the ticks of every event it follows.
    pub fn recovering(&self) -> Vec<EventId> {
        let now = now_ms();
        let mut events: Vec<EventId> = lock(&self.recovering)
            .iter()
            .filter(|(_, at)| now.saturating_sub(**at) < RECOVERING_FOR_MS)
            .map(|(e, _)| e.clone())
            .collect();
        for hub in self.all_hubs() {
            let at = lock(&hub.view).restored_at;
            if at > 0 && now.saturating_sub(at) < RECOVERING_FOR_MS && !events.contains(&hub.event)
            {
                events.push(hub.event.clone());
            }
        }
        events.sort();
        events
    }

    /// After a tick shows the event's state was lost and restored: tells
    /// local waiters "reconnecting", then gives every one of them their
    /// place back from the claim they attached with (verified then).
    pub(crate) async fn after_restore(&self, hub: &Arc<EventHub>) {
        lock(&self.recovering)
            .entry(hub.event.clone())
            .or_insert_with(now_ms);
        let places: Vec<_> = {
            let mut waiters = lock(&hub.waiters);
            waiters.broadcast(&ServerMsg::State {
                queue_state: "reconnecting".to_owned(),
            });
            waiters
                .by_conn
                .values()
                .filter(|w| !w.admitted && w.ticket > 0)
                .map(|w| (w.visitor.clone(), w.ticket))
                .collect()
        };
        let now = now_ms();
        for (visitor, ticket) in places {
            if let Err(e) = self.store.claim(&hub.event, &visitor, ticket, now).await {
                tracing::warn!(event = %hub.event, error = %e, "giving a connected waiter its place back failed");
            }
        }
        let state = lock(&hub.view).settings.state.to_string();
        lock(&hub.waiters).broadcast(&ServerMsg::State { queue_state: state });
    }

    /// Drops the cached guard; the next tick reloads it from the ledger.
    pub(crate) fn forget_watch(&self, event: &EventId) {
        self.lock_watch().remove(event);
    }

    fn lock_watch(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<EventId, Watch>> {
        lock(&self.watch)
    }
}

/// What to restore, from the last checkpoint before the loss.
fn restore_floor(cp: &Checkpoint, settings: &QueueSettings, now: Millis) -> RestoreFloor {
    let margin = match cp.last_ticket {
        0 => 0,
        _ => cp.ticket_margin.saturating_mul(2).max(MIN_TICKET_MARGIN),
    };
    let alive = cp.active_until > now;
    let active = match alive {
        true => cp
            .active
            .saturating_add(one_tick_admissions(settings))
            .min(settings.max_active),
        false => 0,
    };
    RestoreFloor {
        id: format!("{}:{}", cp.epoch, cp.last_ticket),
        last_ticket: cp.last_ticket + margin,
        head: cp.head,
        active,
        active_until: cp.active_until,
    }
}
