//! Spreading a tick's messages to the tail of the line over part of the
//! tick, so a tick does not release every socket write at the same instant
//! (the kernel's send path, not the engine, is the cost at scale).

use super::mailbox;
use super::waiters::{offer_frame, Offer};
use super::{lock, EventHub};
use axum::extract::ws::Utf8Bytes;
use std::time::Duration;

/// Share of the tick interval the tail's messages are spread over; the rest
/// is slack so the next tick never waits on this one, and a message
/// arrives well within a second of its tick.
const SPREAD_SHARE: f64 = 0.25;
/// Bursts per spread: few enough that waking up costs nothing next to the
/// sends, enough that each burst is small.
const SLICES: u32 = 10;

/// A message for one socket, to be sent later in the tick.
#[derive(Debug)]
pub(crate) struct Deferred {
    /// The socket's connection id, to drop it when it cannot take more.
    pub conn: u64,
    /// Its queue.
    pub tx: mailbox::Sender,
    /// The message.
    pub frame: Utf8Bytes,
}

/// Sends `sends` in [`SLICES`] bursts over `SPREAD_SHARE` of
/// `tick_interval`. The numbers keep the tick's `at`: they are as true as
/// when the tick ran. Sockets that cannot take a message are dropped from
/// the hub, as during the tick itself.
pub(crate) async fn spread(hub: &EventHub, sends: Vec<Deferred>, tick_interval: Duration) {
    if sends.is_empty() {
        return;
    }
    let window = tick_interval.mul_f64(SPREAD_SHARE);
    let per_slice = sends.len().div_ceil(SLICES as usize);
    let start = tokio::time::Instant::now();
    let mut dropped = Vec::new();
    let mut sends = sends.into_iter();
    for slice in 0..SLICES {
        if slice > 0 {
            tokio::time::sleep_until(start + window * slice / SLICES).await;
        }
        for d in sends.by_ref().take(per_slice) {
            if offer_frame(&d.tx, d.frame) == Offer::Drop {
                dropped.push(d.conn);
            }
        }
    }
    if !dropped.is_empty() {
        let mut waiters = lock(&hub.waiters);
        for conn in dropped {
            waiters.remove(conn);
        }
    }
}
