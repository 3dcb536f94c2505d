//! The "infinite queue": where joins that failed the CAPTCHA go when an
//! event's `captcha_failure` is `infinite_queue`.
//!
//! Such a join gets a well-formed answer — a ticket just behind the real
//! queue's last one, a genuine signed visitor credential, the cookie — but
//! no place in the store, so the admitter never sees it. Its visitor id
//! carries the ticket and a tag keyed from the signing keys, so every
//! process recognises it without shared state, and `join`, `status` and the
//! WebSocket answer it from the live queue view exactly as they would a
//! real waiter: the position falls as the real queue moves and then stays
//! at the front. A bot learns nothing until it has waited the whole queue.
//! Shadow ids look like every other visitor id (UUID v4, simple form).

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use queue::api::{credential_cookie, ApiError};
use queue::engine::{waiting_state, Engine};
use queue::protocol::{ServerMsg, WaiterState, PROTOCOL_VERSION};
use queue::{CredentialCodec, EventId, QueueState, SigningKeys, VisitorCredential, VisitorId};
use rand::RngCore;
use serde::Serialize;
use sha2::Sha256;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Mints and recognises shadow places.
pub struct Shadow {
    macs: Vec<Hmac<Sha256>>,
    codec: CredentialCodec,
    engine: Arc<Engine>,
    secure_cookies: bool,
}

impl std::fmt::Debug for Shadow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shadow").finish_non_exhaustive()
    }
}

/// The same fields, in the same order, as the queue's join/status answer.
#[derive(Serialize)]
struct Body {
    event: String,
    visitor_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_token: Option<String>,
    ticket: u64,
    state: WaiterState,
    queue_state: QueueState,
    position: Option<u64>,
    ahead: Option<u64>,
    eta_seconds: Option<u64>,
    waiting: u64,
}

impl Shadow {
    /// Shadows keyed from `keys`; credentials encoded with `codec`.
    pub fn new(
        keys: &SigningKeys,
        codec: CredentialCodec,
        engine: Arc<Engine>,
        secure_cookies: bool,
    ) -> Self {
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
            secure_cookies,
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

    async fn body(
        &self,
        event: &EventId,
        cred: &VisitorCredential,
        ticket: u64,
        token: bool,
    ) -> Result<Body, ApiError> {
        let hub = self.engine.hub(event).await?;
        let view = hub.view();
        let p = view.position(ticket);
        let queue_state = view.settings.state;
        if ticket == 0 && matches!(queue_state, QueueState::Prequeue | QueueState::Scheduled) {
            // Like a real pre-queue place: no ticket and no position until
            // the opening shuffle.
            return Ok(Body {
                event: event.to_string(),
                visitor_id: cred.visitor.to_string(),
                queue_token: token.then(|| self.codec.encode(cred)),
                ticket: 0,
                state: WaiterState::Prequeue,
                queue_state,
                position: None,
                ahead: None,
                eta_seconds: None,
                waiting: view.waiting,
            });
        }
        Ok(Body {
            event: event.to_string(),
            visitor_id: cred.visitor.to_string(),
            queue_token: token.then(|| self.codec.encode(cred)),
            ticket,
            state: waiting_state(queue_state),
            queue_state,
            position: Some(p.position),
            ahead: Some(p.ahead),
            eta_seconds: p.eta_seconds,
            waiting: view.waiting.max(p.position),
        })
    }

    /// Answers a join sent to the infinite queue: a new shadow place (201),
    /// or the presented one again (200), in the real join's shape (the
    /// credential in the body only when asked for, the same cookie).
    pub async fn join(
        &self,
        event: &EventId,
        existing: Option<(VisitorCredential, u64)>,
        token_in_body: bool,
    ) -> Result<Response, ApiError> {
        let fresh = existing.is_none();
        let (cred, ticket) = match existing {
            Some(e) => e,
            None => {
                let hub = self.engine.hub(event).await?;
                let ticket = {
                    let view = hub.view();
                    // Pre-queue places get their ticket at opening; a shadow
                    // one keeps 0 and, once open, shows at the front.
                    match view.settings.state {
                        QueueState::Prequeue | QueueState::Scheduled => 0,
                        _ => view.last_ticket + 1,
                    }
                };
                let cred = self
                    .mint(event, ticket)
                    .ok_or_else(|| ApiError::internal("no signing key for shadow places"))?;
                (cred, ticket)
            }
        };
        let body = self.body(event, &cred, ticket, token_in_body).await?;
        let code = if fresh {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let cookie = credential_cookie(event, &self.codec.encode(&cred), self.secure_cookies);
        let mut resp = (code, Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(resp)
    }

    /// Answers `status` for a shadow place.
    pub async fn status(
        &self,
        event: &EventId,
        cred: &VisitorCredential,
        ticket: u64,
    ) -> Result<Response, ApiError> {
        let mut resp = Json(self.body(event, cred, ticket, false).await?).into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(resp)
    }

    /// Serves a shadow place's WebSocket: the same hello, position updates
    /// and keep-alive as a real one, never `admitted`.
    pub async fn serve_socket(&self, event: EventId, ticket: u64, mut socket: WebSocket) {
        let Ok(hub) = self.engine.hub(&event).await else {
            return;
        };
        let hello = {
            let view = hub.view();
            let p = view.position(ticket);
            ServerMsg::Hello {
                protocol: PROTOCOL_VERSION,
                event: event.to_string(),
                state: waiting_state(view.settings.state),
                queue_state: view.settings.state,
                ticket,
                position: Some(p.position),
                ahead: Some(p.ahead),
                eta_seconds: p.eta_seconds,
                waiting: view.waiting.max(p.position),
                kept_place: false,
            }
        };
        if socket
            .send(Message::Text(hello.to_json().into()))
            .await
            .is_err()
        {
            return;
        }
        let mut last = None;
        let mut heard = Instant::now();
        let mut every = tokio::time::interval(Duration::from_secs(1));
        let mut ping = tokio::time::interval(Duration::from_secs(25));
        ping.tick().await;
        loop {
            tokio::select! {
                _ = every.tick() => {
                    if heard.elapsed() > Duration::from_secs(75) {
                        let _ = socket.send(close(1001, "idle")).await;
                        return;
                    }
                    let msg = {
                        let view = hub.view();
                        let p = view.position(ticket);
                        (last != Some(p.position) && view.last_tick_at > 0).then(|| {
                            last = Some(p.position);
                            ServerMsg::Position {
                                position: p.position,
                                ahead: p.ahead,
                                eta_seconds: p.eta_seconds,
                                waiting: view.waiting.max(p.position),
                                at: view.last_tick_at,
                            }
                        })
                    };
                    if let Some(m) = msg {
                        if socket.send(Message::Text(m.to_json().into())).await.is_err() {
                            return;
                        }
                    }
                }
                _ = ping.tick() => {
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        return;
                    }
                }
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(Message::Binary(_))) => {
                        let _ = socket.send(close(1003, "binary not supported")).await;
                        return;
                    }
                    Some(Ok(_)) => heard = Instant::now(),
                },
            }
        }
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
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
        let s = Shadow::new(&keys, CredentialCodec::new(&keys), engine, false);
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
