//! Applying a tick on this node and pushing the result to local sockets.

use super::cadence::{Cadence, Shown};
use super::pace::{spread, Deferred};
use super::view::Applied;
use super::waiters::{offer_frame, visitor_key, Offer, Waiter};
use super::{lock, Engine, EventHub};
use crate::ids::VisitorId;
use crate::protocol::{PositionFrames, ServerMsg};
use crate::store::{Admission, Tick, VisitorRecord};
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
        let was_sold_out = lock(&hub.view).sold_out;
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
        let out = self.fan_out(&hub, &tick, previous_state);
        if !was_sold_out && lock(&hub.view).sold_out {
            self.announce_sold_out(&hub);
        }
        self.settle(&hub, out.unsure).await;
        metrics::histogram!("waitroom_fanout_seconds").record(started.elapsed().as_secs_f64());
        metrics::counter!("waitroom_position_messages_total").increment(out.sent);
        // The tail's messages go out over the first part of the tick. Ticks
        // are applied one after another, so they never overtake a later
        // tick's admission.
        spread(&hub, out.later, self.config.tick_interval).await;
    }

    /// The synchronous part of fan-out: admissions from the tick, state
    /// changes, the front's positions (sent now) and the tail's (returned
    /// to be spread over the tick; see `cadence` for who gets one).
    fn fan_out(&self, hub: &EventHub, tick: &Tick, previous_state: crate::QueueState) -> FanOut {
        // Lock order everywhere: view, then waiters.
        let view = lock(&hub.view);
        // Asked once per waiter, by the key the waiter carries.
        let admitted = Admitted::new(&tick.admitted);
        let state_frame = (view.settings.state != previous_state).then(|| {
            ServerMsg::State {
                queue_state: view.settings.state.to_string(),
            }
            .to_frame()
        });
        let rate = view
            .measured_rate()
            .unwrap_or(f64::from(view.settings.admit_per_minute) / 60.0);
        let tick_ms = self.config.tick_interval.as_millis() as u64;
        let cadence = Cadence::new(rate, tick_ms);
        let frames = PositionFrames::new(view.waiting, tick.at);
        let mut out = FanOut::default();
        let mut waiters = lock(&hub.waiters);
        waiters.by_conn.retain(|conn, w| {
            if w.admitted {
                return true;
            }
            if let Some(frame) = &state_frame {
                if offer_frame(&w.tx, frame.clone()) == Offer::Drop {
                    return false;
                }
            }
            if let Some(a) = admitted.get(w) {
                return self.send_admitted(hub, w, a.ticket, tick.at, a.expires_at, a.offer);
            }
            if w.ticket == 0 {
                // A pre-queue waiter: once the queue has left the pre-queue
                // the shuffle has given it a ticket; `settle` looks it up.
                if !matches!(
                    view.settings.state,
                    crate::QueueState::Prequeue | crate::QueueState::Scheduled
                ) {
                    out.unsure.push((w.visitor.clone(), *conn));
                }
                return true;
            }
            if w.ticket <= view.head {
                out.unsure.push((w.visitor.clone(), *conn));
                return true;
            }
            let p = view.position(w.ticket);
            let next = Shown {
                position: p.position,
                eta_seconds: p.eta_seconds,
                waiting: view.waiting,
                at: tick.at,
            };
            if !cadence.due(w.ticket, &w.shown, &next) {
                return true;
            }
            w.shown = next;
            out.sent += 1;
            let frame = frames.frame(p.position, p.ahead, p.eta_seconds);
            if p.position <= cadence.front {
                return offer_frame(&w.tx, frame) == Offer::Sent;
            }
            out.later.push(Deferred {
                conn: *conn,
                tx: w.tx.clone(),
                frame,
            });
            true
        });
        out
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
        offer: bool,
    ) -> bool {
        match self.issue(
            &hub.event,
            &w.visitor,
            &w.session_hash,
            ticket,
            admitted_at,
            expires_at,
            offer,
        ) {
            Ok(token) => {
                w.admitted = true;
                let msg = ServerMsg::Admitted {
                    ticket,
                    admitted_at,
                    admission_token: token,
                    admission_expires_at: expires_at,
                    offer_expires_at: offer.then_some(expires_at),
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

    /// Looks up visitors the tick did not settle and tells their sockets
    /// the outcome: each visitor read once however many tabs it has open,
    /// all of them together (at opening, every pre-queue waiter here).
    async fn settle(&self, hub: &Arc<EventHub>, mut unsure: Vec<(VisitorId, u64)>) {
        if unsure.is_empty() {
            return;
        }
        let now = super::now_ms();
        unsure.sort_unstable();
        let tabs: Vec<&[(VisitorId, u64)]> = unsure.chunk_by(|a, b| a.0 == b.0).collect();
        let visitors: Vec<VisitorId> = tabs.iter().map(|t| t[0].0.clone()).collect();
        let records = match self.store.lookup_many(&hub.event, &visitors, now).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(event = %hub.event, error = %e, "lookup during fan-out failed");
                return;
            }
        };
        for ((visitor, sockets), record) in visitors.iter().zip(tabs).zip(records) {
            let offer = match record {
                VisitorRecord::Admitted { .. } => self.offer_of(hub, visitor, now).await,
                _ => None,
            };
            // Lock order everywhere: view, then waiters.
            let view = lock(&hub.view);
            let mut waiters = lock(&hub.waiters);
            for (_, conn) in sockets {
                // Gone since the tick, or admitted by a later one.
                let Some(w) = waiters.by_conn.get_mut(conn).filter(|w| !w.admitted) else {
                    continue;
                };
                if !self.settle_one(hub, &view, w, &record, offer.is_some(), now) {
                    waiters.remove(*conn);
                }
            }
        }
    }

    /// Tells one socket of an unsure visitor what its record says; whether
    /// to keep the socket.
    fn settle_one(
        &self,
        hub: &EventHub,
        view: &super::view::EventView,
        w: &mut Waiter,
        record: &VisitorRecord,
        offered: bool,
        now: u64,
    ) -> bool {
        match record {
            // Shuffled at opening: from now on an ordinary waiter.
            VisitorRecord::Waiting { ticket } if w.ticket == 0 => {
                w.ticket = *ticket;
                let p = view.position(*ticket);
                w.shown = Shown {
                    position: p.position,
                    eta_seconds: p.eta_seconds,
                    waiting: view.waiting.max(p.position),
                    at: now,
                };
                let msg = ServerMsg::Position {
                    position: p.position,
                    ahead: p.ahead,
                    eta_seconds: p.eta_seconds,
                    waiting: w.shown.waiting,
                    at: now,
                };
                w.offer(&msg) == Offer::Sent
            }
            VisitorRecord::Admitted {
                ticket,
                admitted_at,
                expires_at,
            } => self.send_admitted(hub, w, *ticket, *admitted_at, *expires_at, offered),
            VisitorRecord::Waiting { .. } | VisitorRecord::Prequeue | VisitorRecord::Unknown => {
                true
            }
            VisitorRecord::Finished { .. } | VisitorRecord::Departed { .. } => {
                let _ = w.offer(&ServerMsg::Departed);
                false
            }
        }
    }
}

/// What a tick's fan-out leaves to do.
#[derive(Debug, Default)]
struct FanOut {
    /// Sockets of visitors at or behind the head the tick did not mention
    /// (admitted in a missed tick, or departed), whose record must be
    /// looked up.
    unsure: Vec<(VisitorId, u64)>,
    /// The tail's messages, to spread over the tick.
    later: Vec<Deferred>,
    /// Position messages due this tick (front and tail).
    sent: u64,
}

/// A tick's admissions, sorted by [`visitor_key`]: a waiter is matched by
/// the key it carries, and its id is compared only when the keys agree.
struct Admitted<'a>(Vec<(u64, &'a Admission)>);

impl<'a> Admitted<'a> {
    fn new(admissions: &'a [Admission]) -> Self {
        let mut keyed: Vec<_> = admissions
            .iter()
            .map(|a| (visitor_key(&a.visitor), a))
            .collect();
        keyed.sort_unstable_by_key(|(k, _)| *k);
        Self(keyed)
    }

    fn get(&self, w: &Waiter) -> Option<&'a Admission> {
        let from = self.0.partition_point(|(k, _)| *k < w.key);
        self.0[from..]
            .iter()
            .take_while(|(k, _)| *k == w.key)
            .map(|(_, a)| *a)
            .find(|a| a.visitor == w.visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(visitor: &VisitorId) -> Admission {
        Admission {
            visitor: visitor.clone(),
            ticket: 1,
            expires_at: 0,
            offer: false,
        }
    }

    fn waiter(visitor: &VisitorId, key: u64) -> Waiter {
        Waiter {
            visitor: visitor.clone(),
            key,
            ticket: 1,
            session_hash: String::new(),
            tx: crate::engine::mailbox::channel(1).0,
            shown: Shown::default(),
            admitted: false,
        }
    }

    #[test]
    fn admissions_are_matched_by_key_and_then_by_id() {
        let ids: Vec<VisitorId> = (0..50).map(|_| VisitorId::random()).collect();
        let admissions: Vec<Admission> = ids.iter().step_by(2).map(admission).collect();
        let admitted = Admitted::new(&admissions);
        for (i, id) in ids.iter().enumerate() {
            let found = admitted.get(&waiter(id, visitor_key(id)));
            assert_eq!(found.map(|a| &a.visitor), (i % 2 == 0).then_some(id));
        }
        // Two visitors whose keys collide: each still finds only its own.
        let (a, b) = (&ids[0], &ids[1]);
        let shared = visitor_key(a);
        let colliding = Admitted(vec![(shared, &admissions[0]), (shared, &admissions[1])]);
        let other = &admissions[1].visitor;
        assert_eq!(
            colliding.get(&waiter(other, shared)).map(|x| &x.visitor),
            Some(other)
        );
        assert!(colliding.get(&waiter(b, shared)).is_none());
    }
}
