//! Attaching a WebSocket to the engine.

use super::cadence::Shown;
use super::waiters::{visitor_key, Outgoing, Waiter};
use super::{lock, now_ms, Engine, EventHub};
use crate::error::{QueueError, Result};
use crate::ids::EventId;
use crate::protocol::{ServerMsg, WaiterState, PROTOCOL_VERSION};
use crate::store::VisitorRecord;
use std::sync::Arc;

/// A socket attached to an event hub; dropping it detaches the socket.
#[derive(Debug)]
pub struct Attachment {
    hub: Arc<EventHub>,
    conn: Option<u64>,
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if let Some(conn) = self.conn {
            lock(&self.hub.waiters).remove(conn);
            metrics::gauge!("waitroom_ws_connected").decrement(1.0);
        }
    }
}

impl Engine {
    /// Registers a socket for the holder of `token` and queues its first
    /// messages (hello, and the admission token if already admitted) on
    /// `tx`. The socket stays registered while the returned value lives.
    pub async fn attach(
        &self,
        event: &EventId,
        token: &str,
        tx: super::mailbox::Sender,
    ) -> Result<Attachment> {
        let cred = self.credential(event, token)?;
        let hub = self.hub(event).await?;
        let now = now_ms();
        let (record, kept_place) = self
            .lookup_place(event, &cred, now, super::Presence::Touch)
            .await?;
        let mut attachment = Attachment {
            hub: hub.clone(),
            conn: None,
        };
        let (ticket, admitted) = match record {
            VisitorRecord::Unknown => return Err(QueueError::NotJoined),
            // Ticket 0: no position until the shuffle (see `fanout`).
            VisitorRecord::Prequeue => (0, None),
            // Marked present by the lookup (or by reinstating).
            VisitorRecord::Waiting { ticket } => (ticket, None),
            VisitorRecord::Admitted {
                ticket,
                admitted_at,
                expires_at,
            } => (ticket, Some((admitted_at, expires_at))),
            VisitorRecord::Finished { ticket } | VisitorRecord::Departed { ticket } => {
                let view = lock(&hub.view);
                let _ = tx.try_send(Outgoing::Text(
                    ServerMsg::Hello {
                        protocol: PROTOCOL_VERSION,
                        event: event.to_string(),
                        state: WaiterState::Departed,
                        queue_state: view.settings.state,
                        ticket,
                        position: None,
                        ahead: None,
                        eta_seconds: None,
                        waiting: view.waiting,
                        kept_place: false,
                    }
                    .to_frame(),
                ));
                let _ = tx.try_send(Outgoing::Close(1000, "no place in the queue"));
                return Ok(attachment);
            }
        };

        let offer = match admitted {
            Some(_) => self.offer_of(&hub, &cred.visitor, now).await,
            None => None,
        };
        // Register before computing the hello, so a tick landing in between
        // reaches this socket (at worst the client hears a position twice).
        let session_hash = cred.session_hash();
        let view = lock(&hub.view);
        let position = (admitted.is_none() && ticket > 0).then(|| view.position(ticket));
        let hello = ServerMsg::Hello {
            protocol: PROTOCOL_VERSION,
            event: event.to_string(),
            state: if admitted.is_some() {
                WaiterState::Admitted
            } else if ticket == 0 {
                WaiterState::Prequeue
            } else {
                super::sold_out::in_line_state(&view)
            },
            queue_state: view.settings.state,
            ticket,
            position: position.map(|p| p.position),
            ahead: position.map(|p| p.ahead),
            eta_seconds: position.and_then(|p| p.eta_seconds),
            waiting: view.waiting,
            kept_place,
        };
        let waiter = Waiter {
            key: visitor_key(&cred.visitor),
            visitor: cred.visitor.clone(),
            ticket,
            session_hash: session_hash.clone(),
            tx: tx.clone(),
            shown: Shown {
                position: position.map_or(0, |p| p.position),
                eta_seconds: position.and_then(|p| p.eta_seconds),
                waiting: view.waiting,
                at: now,
            },
            admitted: admitted.is_some(),
        };
        let _ = tx.try_send(Outgoing::Text(hello.to_frame()));
        attachment.conn = Some(lock(&hub.waiters).insert(waiter));
        drop(view);
        // Read after registering: a change published meanwhile is either
        // seen here or broadcast to this socket (the page ignores repeats).
        let announcement = lock(&hub.announcement).current.clone();
        if let Some(a) = announcement.filter(|_| admitted.is_none()) {
            let _ = tx.try_send(Outgoing::Text(super::announce::message(&a).to_frame()));
        }
        metrics::gauge!("waitroom_ws_connected").increment(1.0);

        if let Some((admitted_at, expires_at)) = admitted {
            let token = self.issue(
                event,
                &cred.visitor,
                &session_hash,
                ticket,
                admitted_at,
                expires_at,
                offer.is_some(),
            )?;
            let _ = tx.try_send(Outgoing::Text(
                ServerMsg::Admitted {
                    ticket,
                    admitted_at,
                    admission_token: token,
                    admission_expires_at: expires_at,
                    offer_expires_at: offer,
                    next: self.next_path(event),
                }
                .to_frame(),
            ));
        }
        Ok(attachment)
    }
}
