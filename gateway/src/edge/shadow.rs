//! The "infinite queue": where joins that failed the CAPTCHA go when an
//! event's `captcha_failure` is `infinite_queue`.
//!
//! Such a join gets a well-formed answer — a ticket just behind the real
//! queue's last one, a genuine signed visitor credential, the cookie — but
//! no place in the store, so the admitter never sees it. Its visitor id
//! carries the ticket and a tag keyed from the signing keys, so every
//! process recognises it without shared state. [`Shadow`] is a
//! [`PlaceSource`]: the edge serves shadow places through the queue's own
//! join, status and WebSocket handlers (`queue::api`), so the body, the
//! cookie and the socket are the real queue's code; only the numbers come
//! from here, computed from the live queue view: the position falls as the
//! real queue moves and then stays at the front. A bot learns nothing until
//! it has waited the whole queue. Shadow ids look like every other visitor
//! id (UUID v4, simple form).

use async_trait::async_trait;
use axum::extract::ws::Utf8Bytes;
use hmac::{Hmac, Mac};
use queue::api::{Feed, PlaceSource};
use queue::engine::cadence::{Cadence, Shown};
use queue::engine::waiters::{offer_frame, Offer, Outgoing};
use queue::engine::{in_line_state, now_ms, Engine, EventHub, VisitorStatus};
use queue::protocol::{PositionFrames, ServerMsg, WaiterState, PROTOCOL_VERSION};
use queue::{
    CredentialCodec, EventId, QueueError, QueueState, SigningKeys, VisitorCredential, VisitorId,
};
use rand::RngCore;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// Mints and recognises shadow places.
pub struct Shadow {
    macs: Vec<Hmac<Sha256>>,
    codec: CredentialCodec,
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Shadow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shadow").finish_non_exhaustive()
    }
}

impl Shadow {
    /// Shadows keyed from `keys`; credentials encoded with `codec`.
    pub fn new(keys: &SigningKeys, codec: CredentialCodec, engine: Arc<Engine>) -> Self {
        let macs = keys
            .kids()
            .filter_map(|kid| keys.mac_key_for(kid))
            .filter_map(|k| {
                let mut d = Hmac::<Sha256>::new_from_slice(k).ok()?;
                d.update(b"waitroom edge shadow places v1");
                Hmac::<Sha256>::new_from_slice(&d.finalize().into_bytes()).ok()
            })
            .collect();
        Self {
            macs,
            codec,
            engine,
        }
    }

    fn mac(mac: &Hmac<Sha256>, label: &[u8], event: &EventId, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = mac.clone();
        m.update(label);
        m.update(event.as_str().as_bytes());
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// The 16 id bytes: random, ticket (masked), tag, with the UUID v4
    /// version and variant bits where a UUID has them.
    fn layout(mac: &Hmac<Sha256>, event: &EventId, r: [u8; 4], ticket: u32) -> [u8; 16] {
        let mask = Self::mac(mac, b"mask", event, &[&r]);
        let masked =
            (ticket ^ u32::from_be_bytes([mask[0], mask[1], mask[2], mask[3]])).to_be_bytes();
        let tag = Self::mac(mac, b"tag", event, &[&r, &masked]);
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&r);
        b[4] = tag[0];
        b[5] = tag[1];
        b[6] = 0x40 | (tag[2] & 0x0f);
        b[7] = tag[3];
        b[8] = 0x80 | (tag[4] & 0x3f);
        b[9..13].copy_from_slice(&masked);
        b[13..16].copy_from_slice(&tag[5..8]);
        b
    }

    /// A new shadow credential holding `ticket`.
    pub fn mint(&self, event: &EventId, ticket: u64) -> Option<VisitorCredential> {
        let mac = self.macs.first()?;
        let mut r = [0u8; 4];
        rand::rngs::OsRng.fill_bytes(&mut r);
        let ticket = u32::try_from(ticket).unwrap_or(u32::MAX);
        let id = hex::encode(Self::layout(mac, event, r, ticket));
        Some(VisitorCredential::new(
            event.clone(),
            VisitorId::parse(&id).ok()?,
        ))
    }

    /// The ticket of a shadow visitor; `None` for everyone else.
    pub fn ticket_of(&self, event: &EventId, visitor: &VisitorId) -> Option<u64> {
        let bytes: [u8; 16] = hex::decode(visitor.as_str()).ok()?.try_into().ok()?;
        let r = [bytes[0], bytes[1], bytes[2], bytes[3]];
        let masked = [bytes[9], bytes[10], bytes[11], bytes[12]];
        self.macs.iter().find_map(|mac| {
            let mask = Self::mac(mac, b"mask", event, &[&r]);
            let ticket = u32::from_be_bytes(masked)
                ^ u32::from_be_bytes([mask[0], mask[1], mask[2], mask[3]]);
            (Self::layout(mac, event, r, ticket) == bytes).then_some(u64::from(ticket))
        })
    }

    /// The credential and ticket of a presented token, when it is a valid
    /// credential of a shadow place.
    pub fn recognise(&self, event: &EventId, token: &str) -> Option<(VisitorCredential, u64)> {
        let cred = self.codec.decode(token, event).ok()?;
        let ticket = self.ticket_of(event, &cred.visitor)?;
        Some((cred, ticket))
    }

    /// A shadow place as the real queue would report a waiting place: the
    /// position of `ticket` in the live view, the waiting count never below
    /// it (the place is nobody the tick counted).
    async fn place(
        &self,
        event: &EventId,
        cred: &VisitorCredential,
        ticket: u64,
        fresh: bool,
    ) -> Result<VisitorStatus, QueueError> {
        let hub = self.engine.hub(event).await?;
        let view = hub.view();
        let queue_state = view.settings.state;
        let mut status = VisitorStatus {
            visitor: cred.visitor.clone(),
            queue_token: self.codec.encode(cred),
            ticket,
            fresh,
            kept_place: false,
            reissued: false,
            state: WaiterState::Prequeue,
            queue_state,
            position: None,
            waiting: view.waiting,
            admission: None,
            offer_expires_at: None,
            announcement: hub.announcement(),
        };
        // Like a real pre-queue place: no ticket and no position until the
        // opening shuffle.
        if !(ticket == 0 && before_opening(queue_state)) {
            let p = view.position(ticket);
            status.state = in_line_state(&view);
            status.waiting = view.waiting.max(p.position);
            status.position = Some(p);
        }
        Ok(status)
    }

    fn recognised(
        &self,
        event: &EventId,
        token: &str,
    ) -> Result<(VisitorCredential, u64), QueueError> {
        self.recognise(event, token).ok_or(QueueError::NotJoined)
    }
}

fn before_opening(state: QueueState) -> bool {
    matches!(state, QueueState::Prequeue | QueueState::Scheduled)
}

#[async_trait]
impl PlaceSource for Shadow {
    /// The presented shadow place again, or a new one just behind the real
    /// queue's last ticket (anything else presented is ignored: the CAPTCHA
    /// failed, so no real place is handed back here).
    async fn join(
        &self,
        event: &EventId,
        presented: Option<&str>,
    ) -> Result<VisitorStatus, QueueError> {
        if let Some((cred, ticket)) = presented.and_then(|t| self.recognise(event, t)) {
            return self.place(event, &cred, ticket, false).await;
        }
        let ticket = {
            let hub = self.engine.hub(event).await?;
            let view = hub.view();
            // Pre-queue places get their ticket at opening; a shadow one
            // keeps 0 and, once open, shows at the front.
            if before_opening(view.settings.state) {
                0
            } else {
                view.last_ticket + 1
            }
        };
        let cred = self
            .mint(event, ticket)
            .ok_or_else(|| QueueError::Corrupt("no signing key for shadow places".into()))?;
        self.place(event, &cred, ticket, true).await
    }

    async fn status(&self, event: &EventId, token: &str) -> Result<VisitorStatus, QueueError> {
        let (cred, ticket) = self.recognised(event, token)?;
        self.place(event, &cred, ticket, false).await
    }

    /// The same hello as a real waiting place, then position and state
    /// messages as ticks move the real queue, paced by the real cadence
    /// rule; never `admitted`.
    async fn attach(
        &self,
        event: &EventId,
        token: &str,
        tx: queue::engine::mailbox::Sender,
    ) -> Result<Feed, QueueError> {
        let (cred, ticket) = self.recognised(event, token)?;
        let hub = self.engine.hub(event).await?;
        let status = self.place(event, &cred, ticket, false).await?;
        let hello = ServerMsg::Hello {
            protocol: PROTOCOL_VERSION,
            event: event.to_string(),
            state: status.state,
            queue_state: status.queue_state,
            ticket,
            position: status.position.map(|p| p.position),
            ahead: status.position.map(|p| p.ahead),
            eta_seconds: status.position.and_then(|p| p.eta_seconds),
            waiting: status.waiting,
            kept_place: false,
        };
        let _ = tx.try_send(Outgoing::Text(hello.to_frame()));
        let follower = Follower {
            hub,
            ticket,
            tick: self.engine.config().tick_interval,
            state: status.queue_state,
            shown: Shown {
                position: status.position.map_or(0, |p| p.position),
                eta_seconds: status.position.and_then(|p| p.eta_seconds),
                waiting: status.waiting,
                at: now_ms(),
            },
        };
        Ok(Box::new(AbortOnDrop(tokio::spawn(follower.run(tx)))))
    }
}

/// Stops a shadow socket's follower with the socket.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Feeds one shadow socket from the live view: after each tick, what a real
/// waiter at that ticket would hear (the queue's fan-out sends real waiters
/// the same frames by the same cadence rule).
struct Follower {
    hub: Arc<EventHub>,
    ticket: u64,
    tick: Duration,
    state: QueueState,
    shown: Shown,
}

impl Follower {
    async fn run(mut self, tx: queue::engine::mailbox::Sender) {
        let mut every = tokio::time::interval(self.tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let hub = self.hub.clone();
        let mut seen = hub.view().last_tick_at;
        loop {
            every.tick().await;
            if tx.is_closed() {
                return;
            }
            let frames = {
                let view = hub.view();
                if view.last_tick_at == seen {
                    continue;
                }
                seen = view.last_tick_at;
                self.frames(&view)
            };
            for frame in frames {
                if offer_frame(&tx, frame) == Offer::Drop {
                    return;
                }
            }
        }
    }

    fn frames(&mut self, view: &queue::engine::view::EventView) -> Vec<Utf8Bytes> {
        let mut out = Vec::new();
        let state = view.settings.state;
        if state != self.state {
            self.state = state;
            out.push(
                ServerMsg::State {
                    queue_state: state.to_string(),
                }
                .to_frame(),
            );
        }
        if self.ticket == 0 && before_opening(state) {
            return out;
        }
        let p = view.position(self.ticket);
        let next = Shown {
            position: p.position,
            eta_seconds: p.eta_seconds,
            waiting: view.waiting.max(p.position),
            at: view.last_tick_at,
        };
        let rate = view
            .measured_rate()
            .unwrap_or(f64::from(view.settings.admit_per_minute) / 60.0);
        let cadence = Cadence::new(rate, self.tick.as_millis() as u64);
        if cadence.due(self.ticket, &self.shown, &next) {
            self.shown = next;
            out.push(PositionFrames::new(next.waiting, next.at).frame(
                p.position,
                p.ahead,
                p.eta_seconds,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_ids_carry_their_ticket_and_look_like_any_other() {
        let keys = SigningKeys::generate();
        let event = EventId::parse("e").expect("event");
        let engine = Engine::new(
            Arc::new(queue::store::memory::MemoryStore::new()),
            queue::engine::EngineConfig::default(),
            CredentialCodec::new(&keys),
            queue::AdmissionIssuer::new(Arc::new(SigningKeys::generate()), "i".into(), "a".into()),
        );
        let s = Shadow::new(&keys, CredentialCodec::new(&keys), engine);
        let cred = s.mint(&event, 4242).expect("minted");
        let id = cred.visitor.as_str();
        assert_eq!(id.len(), 32);
        assert!(
            uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4),
            "{id}"
        );
        assert_eq!(s.ticket_of(&event, &cred.visitor), Some(4242));
        assert_eq!(
            s.ticket_of(&EventId::parse("f").expect("e"), &cred.visitor),
            None
        );
        assert_eq!(s.ticket_of(&event, &VisitorId::random()), None);
    }
}
