//! The waiters connected to this node, and how a tick reaches them.

use super::cadence::Shown;
use super::mailbox::{self, Refused};
use crate::ids::VisitorId;
use crate::protocol::ServerMsg;
use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;

/// What the socket writer task sends.
#[derive(Debug)]
pub enum Outgoing {
    /// A JSON text frame; cloning it shares the bytes, so a message meant
    /// for many sockets is serialised once.
    Text(Utf8Bytes),
    /// Close the socket with this code and reason.
    Close(u16, &'static str),
}

/// Messages a socket may have queued before it counts as a slow reader and
/// is disconnected. Small on purpose: a waiter only needs the latest state.
pub const SEND_QUEUE: usize = 16;

/// One connected socket.
#[derive(Debug)]
pub struct Waiter {
    /// Whose socket.
    pub visitor: VisitorId,
    /// [`visitor_key`] of `visitor`, kept beside the waiter's other fields.
    pub key: u64,
    /// Their ticket.
    pub ticket: u64,
    /// Hash of their session secret, bound into the admission token.
    pub session_hash: String,
    /// Bounded queue to the socket's writer task.
    pub tx: mailbox::Sender,
    /// What the page shows (the numbers last sent), for the cadence rule.
    pub shown: Shown,
    /// Set once the admission token went out.
    pub admitted: bool,
}

/// A process-wide hash of a visitor id. Each tick matches its admissions
/// against every waiter of the node; by this number, stored in the waiter,
/// that costs no visit to the id's bytes elsewhere in memory (a cache miss
/// per waiter per tick at 100,000 waiters).
pub fn visitor_key(visitor: &VisitorId) -> u64 {
    use std::hash::BuildHasher;
    static STATE: std::sync::OnceLock<foldhash::fast::RandomState> = std::sync::OnceLock::new();
    STATE
        .get_or_init(Default::default)
        .hash_one(visitor.as_str())
}

/// Result of offering a message to a socket.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// Queued.
    Sent,
    /// The socket is gone or too slow; drop it.
    Drop,
}

impl Waiter {
    /// Queues a message without waiting. A full queue means the client does
    /// not read: it is disconnected rather than buffered without bound (it
    /// keeps its place and may reconnect).
    pub fn offer(&self, msg: &ServerMsg) -> Offer {
        offer_frame(&self.tx, msg.to_frame())
    }
}

/// Queues an already serialised message on a socket's queue (see
/// [`Waiter::offer`]).
pub fn offer_frame(tx: &mailbox::Sender, frame: Utf8Bytes) -> Offer {
    match tx.try_send(Outgoing::Text(frame)) {
        Ok(()) => Offer::Sent,
        Err(Refused::Full) => {
            metrics::counter!("waitroom_ws_slow_disconnects_total").increment(1);
            Offer::Drop
        }
        Err(Refused::Closed) => Offer::Drop,
    }
}

/// The sockets of one event on this node.
#[derive(Debug, Default)]
pub struct Waiters {
    next_id: u64,
    /// Connection id → waiter.
    pub by_conn: HashMap<u64, Waiter>,
}

impl Waiters {
    /// Adds a socket and returns its connection id.
    pub fn insert(&mut self, waiter: Waiter) -> u64 {
        self.next_id += 1;
        self.by_conn.insert(self.next_id, waiter);
        self.next_id
    }

    /// Removes a socket (on disconnect).
    pub fn remove(&mut self, conn: u64) -> Option<Waiter> {
        self.by_conn.remove(&conn)
    }

    /// Number of sockets.
    pub fn len(&self) -> usize {
        self.by_conn.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_conn.is_empty()
    }

    /// Visitors still waiting, for heartbeats.
    pub fn waiting_visitors(&self) -> Vec<VisitorId> {
        let mut v: Vec<VisitorId> = self
            .by_conn
            .values()
            .filter(|w| !w.admitted)
            .map(|w| w.visitor.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Sends `msg` to every socket, dropping those that cannot take it.
    pub fn broadcast(&mut self, msg: &ServerMsg) {
        let frame = msg.to_frame();
        self.by_conn
            .retain(|_, w| offer_frame(&w.tx, frame.clone()) == Offer::Sent);
    }

    /// Closes every socket with `code` after `msg` (graceful shutdown).
    pub fn close_all(&mut self, msg: &ServerMsg, code: u16, reason: &'static str) {
        let frame = msg.to_frame();
        for w in self.by_conn.values() {
            let _ = offer_frame(&w.tx, frame.clone());
            let _ = w.tx.try_send(Outgoing::Close(code, reason));
        }
    }
}
