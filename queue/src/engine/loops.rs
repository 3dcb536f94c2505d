//! Background loops every node runs: admission ticks (only the lease
//! holder's do anything), following published ticks, and presence
//! heartbeats for the sockets held here.

use super::{lock, now_ms, Engine};
use crate::error::QueueError;
use crate::ids::EventId;
use crate::protocol::ServerMsg;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

/// Largest number of visitors sent in one presence call.
const TOUCH_CHUNK: usize = 2_000;
/// How often the admitter compares the ledger's events with the store's
/// (a database query): a store that lost everything is noticed this fast
/// even without traffic; joins and polls notice at once.
const LEDGER_SCAN_EVERY: Duration = Duration::from_secs(1);
/// How often the heartbeat loop looks at its hubs.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

impl Engine {
    /// Starts the admitter, follower and heartbeat loops. The caller owns
    /// the handles and aborts them on shutdown.
    pub fn spawn_loops(self: &Arc<Self>) -> Vec<JoinHandle<()>> {
        vec![
            tokio::spawn(self.clone().admitter()),
            tokio::spawn(self.clone().follower()),
            tokio::spawn(self.clone().heartbeat()),
            tokio::spawn(self.clone().announcer()),
        ]
    }

    async fn admitter(self: Arc<Self>) {
        let mut interval = tokio::time::interval(self.config.tick_interval);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ttl = self.config.lease_ttl.as_millis() as u64;
        // Events whose lease this node held at its last tick: a lease that
        // changes hands often (flapping) shows in waitroom_lease_acquired_total.
        let mut held = std::collections::HashSet::new();
        let mut scanned: Option<std::time::Instant> = None;
        loop {
            interval.tick().await;
            let healthy = match self.admit_once(ttl, &mut held, &mut scanned).await {
                Ok(()) => true,
                // One slow command (a node whose runtime is saturated times
                // out while the store idles) is not an outage: telling every
                // waiter "reconnecting" would only add load. The store is
                // down when it does not answer a ping either.
                Err(e) => match self.store.ping().await {
                    Ok(()) => {
                        tracing::warn!(error = %e, "admission tick failed; the store answers, retrying next tick");
                        true
                    }
                    Err(_) => {
                        tracing::warn!(error = %e, "admission tick failed; the store is unreachable");
                        false
                    }
                },
            };
            let was = self.note_store(healthy);
            if was != healthy {
                self.announce_store_health(healthy);
            }
        }
    }

    async fn admit_once(
        &self,
        ttl: u64,
        held: &mut std::collections::HashSet<EventId>,
        scanned: &mut Option<std::time::Instant>,
    ) -> Result<(), QueueError> {
        let mut events = self.store.events().await?;
        if scanned.is_none_or(|at| at.elapsed() >= LEDGER_SCAN_EVERY) {
            *scanned = Some(std::time::Instant::now());
            self.restore_missing(&mut events).await;
        }
        for event in events {
            if !self
                .store
                .acquire_lease(&event, &self.config.node_id, ttl)
                .await?
            {
                held.remove(&event);
                continue;
            }
            if held.insert(event.clone()) {
                metrics::counter!("waitroom_lease_acquired_total", "event" => event.to_string())
                    .increment(1);
            }
            let started = std::time::Instant::now();
            if let Some(tick) = self.guarded_tick(&event).await? {
                metrics::counter!("waitroom_ticks_run_total").increment(1);
                metrics::counter!("waitroom_admitted_total").increment(tick.admitted.len() as u64);
                // Only the lease holder ticks, so these sum exactly over nodes.
                metrics::counter!("waitroom_departed_total").increment(tick.departed.len() as u64);
                metrics::histogram!("waitroom_tick_seconds")
                    .record(started.elapsed().as_secs_f64());
                self.checkpoint(&tick);
            }
        }
        Ok(())
    }

    /// Events the ledger has and the store lost entirely are restored, and
    /// ticked like the others.
    async fn restore_missing(&self, events: &mut Vec<EventId>) {
        let Some(ledger) = self.ledger() else {
            return;
        };
        let recorded = match ledger.events().await {
            Ok(recorded) => recorded,
            Err(e) => {
                tracing::warn!(error = %e, "the ledger's event list is unavailable");
                return;
            }
        };
        for event in recorded {
            if events.contains(&event) {
                continue;
            }
            match self
                .recover(&event, super::recovery::Loss::SettingsMissing)
                .await
            {
                Ok(true) => events.push(event),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(event = %event, error = %e, "restoring failed; retrying next tick")
                }
            }
        }
    }

    /// One tick under the checkpoint's guard. A store that lost writes is
    /// first asked again with the ledger's latest checkpoint (another
    /// process may have restored and checkpointed it), then restored.
    async fn guarded_tick(
        &self,
        event: &EventId,
    ) -> Result<Option<crate::store::Tick>, QueueError> {
        use crate::store::TickOutcome;
        for attempt in 0..2 {
            let guard = self.tick_guard(event).await?;
            let node = &self.config.node_id;
            match self
                .store
                .tick_guarded(event, node, now_ms(), &guard)
                .await?
            {
                TickOutcome::Ran(tick) => return Ok(Some(*tick)),
                TickOutcome::NotLeader => return Ok(None),
                TickOutcome::Lost if attempt == 0 => self.forget_watch(event),
                TickOutcome::Lost => {
                    self.recover(event, super::recovery::Loss::WritesLost)
                        .await?;
                }
            }
        }
        Ok(None)
    }

    /// Tells local waiters the backend is reconnecting, or back.
    fn announce_store_health(&self, healthy: bool) {
        for hub in self.all_hubs() {
            let queue_state = if healthy {
                lock(&hub.view).settings.state.to_string()
            } else {
                "reconnecting".to_owned()
            };
            lock(&hub.waiters).broadcast(&ServerMsg::State { queue_state });
        }
    }

    async fn follower(self: Arc<Self>) {
        let mut rx = self.store.subscribe();
        loop {
            match rx.recv().await {
                Ok(tick) => self.on_tick(tick).await,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "tick follower lagged; resyncing every event");
                    self.resync_all().await;
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    async fn resync_all(&self) {
        for hub in self.all_hubs() {
            match self.store.snapshot(&hub.event).await {
                Ok(s) => lock(&hub.view).resync(s),
                Err(e) => tracing::warn!(event = %hub.event, error = %e, "resync failed"),
            }
        }
    }

    async fn heartbeat(self: Arc<Self>) {
        let mut last_touch: HashMap<EventId, u64> = HashMap::new();
        let mut interval = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            interval.tick().await;
            let now = now_ms();
            for hub in self.all_hubs() {
                let grace_ms = u64::from(lock(&hub.view).settings.departure_grace_seconds) * 1_000;
                // Touch three times per grace period so one lost heartbeat
                // never makes a connected waiter depart.
                let due = last_touch
                    .get(&hub.event)
                    .is_none_or(|t| now.saturating_sub(*t) >= grace_ms / 3);
                if !due {
                    continue;
                }
                let visitors = lock(&hub.waiters).waiting_visitors();
                let mut ok = true;
                for chunk in visitors.chunks(TOUCH_CHUNK) {
                    if let Err(e) = self.store.touch(&hub.event, chunk, now).await {
                        tracing::warn!(event = %hub.event, error = %e, "presence heartbeat failed");
                        ok = false;
                        break;
                    }
                }
                if ok {
                    last_touch.insert(hub.event.clone(), now);
                }
            }
        }
    }
}
