//! The WebSocket protocol between the waiting-room page and a node.
//!
//! Server messages are JSON objects tagged by `type`. The first message on
//! every socket is [`ServerMsg::Hello`], which names the protocol version so
//! clients can refuse a server they do not understand.

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use std::fmt::Write;

/// Bumped on any incompatible change to the messages below. A new message
/// type is not one: clients ignore types they do not know (the page's
/// `onMessage` has a default branch), so `announcement` came without a bump.
pub const PROTOCOL_VERSION: u32 = 1;

/// What a waiter is, as the fan sees it (the `state` field of `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaiterState {
    /// Joined during pre-queue; order is fixed at opening.
    Prequeue,
    /// In line.
    Waiting,
    /// In line, but admission is paused.
    Paused,
    /// In line, but the queue is closed.
    Closed,
    /// In line on the waitlist of a sold-out event: admitted (with an
    /// offer) when a seat comes back and the fans ahead have had theirs.
    Waitlisted,
    /// Admitted; an admission token is available.
    Admitted,
    /// Left the queue or the admitted session ended.
    Departed,
}

impl WaiterState {
    /// The name on the wire (serde's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prequeue => "prequeue",
            Self::Waiting => "waiting",
            Self::Paused => "paused",
            Self::Closed => "closed",
            Self::Waitlisted => "waitlisted",
            Self::Admitted => "admitted",
            Self::Departed => "departed",
        }
    }
}

/// Messages from the server.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message on a socket: protocol version and the full picture.
    Hello {
        /// [`PROTOCOL_VERSION`].
        protocol: u32,
        /// Event id.
        event: String,
        /// The waiter's state.
        state: WaiterState,
        /// The queue's lifecycle state.
        queue_state: crate::QueueState,
        /// The waiter's ticket.
        ticket: u64,
        /// 1 = next; absent once admitted.
        #[serde(skip_serializing_if = "Option::is_none")]
        position: Option<u64>,
        /// People ahead.
        #[serde(skip_serializing_if = "Option::is_none")]
        ahead: Option<u64>,
        /// Seconds until admission, `null` when unknown.
        eta_seconds: Option<u64>,
        /// Waiters in the queue.
        waiting: u64,
        /// Present (`true`) when the fan came back to a place that was kept
        /// for them while they were away.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        kept_place: bool,
    },
    /// The waiter's position changed.
    Position {
        /// 1 = next.
        position: u64,
        /// People ahead.
        ahead: u64,
        /// Seconds until admission, `null` when unknown.
        eta_seconds: Option<u64>,
        /// Waiters in the queue.
        waiting: u64,
        /// When the tick that produced this ran (ms since the epoch); lets
        /// clients and the load generator measure fan-out delay.
        at: u64,
    },
    /// The waiter is admitted.
    Admitted {
        /// The waiter's ticket.
        ticket: u64,
        /// When the admission tick ran, ms since the epoch.
        admitted_at: u64,
        /// Ed25519 JWT for the booking service.
        admission_token: String,
        /// When the token (and the admitted session) expires, ms since epoch.
        admission_expires_at: u64,
        /// Present when the admission is a waitlist offer: when it passes
        /// to the next fan unless a seat is held (ms since epoch).
        #[serde(skip_serializing_if = "Option::is_none")]
        offer_expires_at: Option<u64>,
        /// Where the page goes next.
        next: String,
    },
    /// The event sold out while the waiter was in line: they are on the
    /// waitlist now, at this place (later changes come as `position`).
    Waitlisted {
        /// 1 = next seat that comes back.
        position: u64,
        /// People ahead on the waitlist.
        ahead: u64,
        /// Waiters on the waitlist.
        waiting: u64,
    },
    /// The queue's lifecycle state changed (or the backend is reconnecting).
    State {
        /// New state; `reconnecting` while the store is unreachable.
        queue_state: String,
    },
    /// The operator's announcement for every fan of the event: sent when it
    /// changes and after `hello` while one is in force. Plain text, shown
    /// as text; an empty `message` clears it. Added in protocol 1 without a
    /// version bump (see [`PROTOCOL_VERSION`]).
    Announcement {
        /// At most 280 characters; empty when cleared.
        message: String,
        /// When the operator set it (ms since the epoch); identifies it.
        at: u64,
    },
    /// The server is going away; reconnect (to any node) after `retry_ms`.
    Reconnect {
        /// Why, e.g. `shutdown`.
        reason: &'static str,
        /// Suggested delay before reconnecting.
        retry_ms: u64,
    },
    /// The waiter no longer has a place (departed or session ended).
    Departed,
    /// Something the client should show; the socket closes after it.
    Error {
        /// Stable code.
        code: &'static str,
        /// Human-readable text.
        message: String,
    },
}

impl ServerMsg {
    /// Serialises the message. Serialising these plain structs cannot fail;
    /// an empty object is sent if it ever did.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The message as a WebSocket text frame, to share between sockets.
    pub fn to_frame(&self) -> Utf8Bytes {
        self.to_json().into()
    }
}

/// The `position` messages of one tick. Every waiter's message differs only
/// in its own numbers, so the shared rest is formatted once per tick and
/// each message costs one small allocation, not a serde pass.
#[derive(Debug, Clone)]
pub struct PositionFrames {
    /// `,"waiting":…,"at":…}`
    tail: String,
}

impl PositionFrames {
    /// Frames for a tick that ran `at` with `waiting` waiters.
    pub fn new(waiting: u64, at: u64) -> Self {
        Self {
            tail: format!(r#","waiting":{waiting},"at":{at}}}"#),
        }
    }

    /// The same bytes as `ServerMsg::Position { .. }.to_json()`.
    pub fn frame(&self, position: u64, ahead: u64, eta_seconds: Option<u64>) -> Utf8Bytes {
        let mut s = String::with_capacity(96 + self.tail.len());
        // Writing to a String cannot fail.
        let _ = write!(
            s,
            r#"{{"type":"position","position":{position},"ahead":{ahead},"eta_seconds":"#
        );
        let _ = match eta_seconds {
            Some(eta) => write!(s, "{eta}"),
            None => write!(s, "null"),
        };
        s.push_str(&self.tail);
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_frames_are_the_serde_bytes() {
        let frames = PositionFrames::new(123_456, 1_700_000_000_000);
        for (position, eta) in [(1, None), (48_212, Some(3_600)), (u64::MAX, Some(0))] {
            let msg = ServerMsg::Position {
                position,
                ahead: position - 1,
                eta_seconds: eta,
                waiting: 123_456,
                at: 1_700_000_000_000,
            };
            assert_eq!(
                frames.frame(position, position - 1, eta).as_str(),
                msg.to_json()
            );
        }
    }
}
