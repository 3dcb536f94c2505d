//! Applying a tick on this node and pushing the result to local sockets.

use super::view::Applied;
use super::waiters::{Offer, Waiter};
use super::{lock, Engine, EventHub};
use crate::ids::VisitorId;
use crate::protocol::ServerMsg;
use crate::store::{Admission, Tick, VisitorRecord};
use std::collections::HashMap;
use std::sync::Arc;

impl Engine {
    /// Folds a published tick into the event's view (resyncing on a gap)
    /// and sends every local waiter what changed for them.
    pub(crate) async fn on_tick(&self, tick: Tick) {
        let Some(hub) = self.read_hubs().get(&tick.event).cloned() else {
            // No local interest in this event yet; the first local use
            // loads a snapshot.
            return;
        };
        let previous_state = lock(&hub.view).settings.state;
        let restored = lock(&hub.view).restored_since(&tick);
        let applied = lock(&hub.view).apply(&tick);
        match applied {
            Applied::Stale => return,
            Applied::Next => {}
            Applied::Gap => match self.store.snapshot(&hub.event).await {
                Ok(s) => {
                    lock(&hub.view).resync(s);
                    if restored {
                        self.after_restore(&hub).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(event = %hub.event, error = %e, "resync after a missed tick failed");
                    return;
                }
            },
        }
        metrics::counter!("waitroom_ticks_applied_total").increment(1);
        let started = std::time::Instant::now();
        let unsure = self.fan_out(&hub, &tick, previous_state);
        self.settle(&hub, unsure).await;
        metrics::histogram!("waitroom_fanout_seconds").record(started.elapsed().as_secs_f64());
    }

    /// The synchronous part of fan-out: positions, admissions from the
    /// tick, state changes. Returns visitors at or behind the head that the
    /// tick did not mention (admitted in a missed tick, or departed), whose
    /// record must be looked up.
    fn fan_out(
        &self,
        hub: &EventHub,
        tick: &Tick,
        previous_state: crate::QueueState,
    ) -> Vec<VisitorId> {
        // Lock order everywhere: view, then waiters.
        let view = lock(&hub.view);
        let admitted: HashMap<&VisitorId, &Admission> =
            tick.admitted.iter().map(|a| (&a.visitor, a)).collect();
        let state_msg = (view.settings.state != previous_state).then(|| ServerMsg::State {
            queue_state: view.settings.state.to_string(),
        });
        let mut unsure = Vec::new();
        let mut waiters = lock(&hub.waiters);
        waiters.by_conn.retain(|_, w| {
            if w.admitted {
                return true;
            }
            if let Some(msg) = &state_msg {
                if w.offer(msg) == Offer::Drop {
                    return false;
                }
            }
            if let Some(a) = admitted.get(&w.visitor) {
                return self.send_admitted(hub, w, a.ticket, tick.at, a.expires_at);
            }
            if w.ticket == 0 {
                // A pre-queue waiter: once the queue has left the pre-queue
                // the shuffle has given it a ticket; `settle` looks it up.
                if !matches!(
                    view.settings.state,
                    crate::QueueState::Prequeue | crate::QueueState::Scheduled
                ) {
                    unsure.push(w.visitor.clone());
                }
                return true;
            }
            if w.ticket <= view.head {
                unsure.push(w.visitor.clone());
                return true;
            }
            let p = view.position(w.ticket);
            if p.position == w.last_position {
                return true;
            }
            w.last_position = p.position;
            let msg = ServerMsg::Position {
                position: p.position,
                ahead: p.ahead,
                eta_seconds: p.eta_seconds,
                waiting: view.waiting,
                at: tick.at,
            };
            w.offer(&msg) == Offer::Sent
        });
        unsure
    }

    /// Issues and queues the admission token; returns whether to keep the
    /// socket.
    fn send_admitted(
        &self,
        hub: &EventHub,
        w: &mut Waiter,
        ticket: u64,
        admitted_at: u64,
        expires_at: u64,
    ) -> bool {
        match self.issue(
            &hub.event,
            &w.visitor,
            &w.session_hash,
            ticket,
            admitted_at,
            expires_at,
        ) {
            Ok(token) => {
                w.admitted = true;
                let msg = ServerMsg::Admitted {
                    ticket,
                    admitted_at,
                    admission_token: token,
                    admission_expires_at: expires_at,
                    next: self.next_path(&hub.event),
                };
                w.offer(&msg) == Offer::Sent
            }
            Err(e) => {
                tracing::error!(event = %hub.event, error = %e, "issuing an admission token failed");
                true
            }
        }
    }

    /// Looks up visitors the tick did not settle and tells them the outcome.
    async fn settle(&self, hub: &Arc<EventHub>, visitors: Vec<VisitorId>) {
        let now = super::now_ms();
        for visitor in visitors {
            let record = match self.store.lookup(&hub.event, &visitor, now).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(event = %hub.event, error = %e, "lookup during fan-out failed");
                    return;
                }
            };
            // Lock order everywhere: view, then waiters.
            let view = lock(&hub.view);
            let mut waiters = lock(&hub.waiters);
            waiters.by_conn.retain(|_, w| {
                if w.visitor != visitor || w.admitted {
                    return true;
                }
                match &record {
                    // Shuffled at opening: from now on an ordinary waiter.
                    VisitorRecord::Waiting { ticket } if w.ticket == 0 => {
                        w.ticket = *ticket;
                        let p = view.position(*ticket);
                        w.last_position = p.position;
                        let msg = ServerMsg::Position {
                            position: p.position,
                            ahead: p.ahead,
                            eta_seconds: p.eta_seconds,
                            waiting: view.waiting.max(p.position),
                            at: now,
                        };
                        w.offer(&msg) == Offer::Sent
                    }
                    VisitorRecord::Admitted {
                        ticket,
                        admitted_at,
                        expires_at,
                    } => self.send_admitted(hub, w, *ticket, *admitted_at, *expires_at),
                    VisitorRecord::Waiting { .. }
                    | VisitorRecord::Prequeue
                    | VisitorRecord::Unknown => true,
                    VisitorRecord::Finished { .. } | VisitorRecord::Departed { .. } => {
                        let _ = w.offer(&ServerMsg::Departed);
                        false
                    }
                }
            });
        }
    }
}
