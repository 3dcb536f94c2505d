//! The cadence rule end to end through the engine: ticks are driven by hand
//! and the spread runs on paused time, so nothing here depends on timing.

use super::cadence::REFRESH_MS;
use super::mailbox;
use super::waiters::Outgoing;
use super::{now_ms, Engine, EngineConfig};
use crate::admission::AdmissionIssuer;
use crate::ids::{EventId, VisitorId};
use crate::keys::SigningKeys;
use crate::settings::QueueSettings;
use crate::store::memory::MemoryStore;
use crate::store::{Millis, QueueStore, Tick};
use crate::visitor::CredentialCodec;
use serde_json::Value;
use std::sync::Arc;

/// Places handed out before the watched ones.
const LINE: u64 = 20_000;
/// Admissions per tick (600 a minute at one tick a second).
const PER_TICK: u64 = 10;

struct Room {
    engine: Arc<Engine>,
    store: Arc<MemoryStore>,
    event: EventId,
    seq: u64,
    head: u64,
    departed: Vec<u64>,
    base: Millis,
}

impl Room {
    async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let keys = Arc::new(SigningKeys::generate());
        let engine = Engine::new(
            store.clone(),
            EngineConfig::default(),
            CredentialCodec::new(&keys),
            AdmissionIssuer::new(keys, "test".to_owned(), "booking".to_owned()),
        );
        let event = EventId::parse("cadence").expect("id");
        store
            .put_settings(&event, &QueueSettings::default())
            .await
            .expect("settings");
        Self {
            engine,
            store,
            event,
            seq: 0,
            head: 0,
            departed: Vec::new(),
            base: 0,
        }
    }

    /// Fills the line up to (not including) `ticket`.
    async fn fill_to(&self, ticket: u64) {
        let now = now_ms();
        loop {
            let t = self
                .store
                .join(&self.event, &VisitorId::random(), now)
                .await
                .expect("join")
                .ticket;
            if t + 1 >= ticket {
                return;
            }
        }
    }

    /// Joins and connects one waiter; returns its socket's queue.
    async fn connect(&self, capacity: usize) -> (String, mailbox::Receiver) {
        let status = self.engine.join(&self.event, None).await.expect("join");
        let rx = self.attach(&status.queue_token, capacity).await;
        (status.queue_token, rx)
    }

    /// Opens one more socket for the waiter holding `token`.
    async fn attach(&self, token: &str, capacity: usize) -> mailbox::Receiver {
        let (tx, rx) = mailbox::channel(capacity);
        let attachment = self
            .engine
            .attach(&self.event, token, tx)
            .await
            .expect("attach");
        // The socket stays registered for the rest of the test.
        std::mem::forget(attachment);
        rx
    }

    /// Runs the next tick, `advance` places further, at `base + seq` s.
    async fn tick(&mut self, advance: u64, departed: Vec<u64>) -> Tick {
        self.seq += 1;
        self.head += advance;
        self.departed.extend(&departed);
        let tick = Tick {
            event: self.event.clone(),
            seq: self.seq,
            at: self.base + self.seq * 1_000,
            head: self.head,
            last_ticket: LINE + 2,
            admitted: Vec::new(),
            departed,
            reinstated: Vec::new(),
            returning: 0,
            epoch: String::new(),
            restored_at: 0,
            active: 0,
            waiting: LINE + 2 - self.head - self.departed.len() as u64,
            sold_out: false,
            settings: QueueSettings::default(),
        };
        self.engine.on_tick(tick.clone()).await;
        tick
    }

    /// The true position of `ticket` now.
    fn truth(&self, ticket: u64) -> u64 {
        let gone = self.departed.iter().filter(|&&t| t < ticket).count() as u64;
        ticket - self.head - gone
    }
}

/// Every JSON message queued on a socket so far.
fn drain(rx: &mut mailbox::Receiver) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(m) = rx.try_recv() {
        if let Outgoing::Text(t) = m {
            out.push(serde_json::from_str(&t).expect("json"));
        }
    }
    out
}

/// A connected waiter: its credential and socket queue.
type Socket = (String, mailbox::Receiver);

/// A room with a waiter at the front (ticket 500) and one at the back.
async fn room() -> (Room, Socket, Socket) {
    let mut room = Room::new().await;
    room.fill_to(500).await;
    let mut front = room.connect(16).await;
    room.fill_to(LINE + 2).await;
    let mut tail = room.connect(16).await;
    assert_eq!(drain(&mut front.1)[0]["position"], 500);
    assert_eq!(drain(&mut tail.1)[0]["position"], LINE + 2);
    // After connecting, so no shown number is newer than the first tick.
    room.base = now_ms();
    (room, front, tail)
}

#[tokio::test(start_paused = true)]
async fn the_front_hears_every_tick() {
    let (mut room, (_, mut front), _tail) = room().await;
    for _ in 0..30 {
        let tick = room.tick(PER_TICK, vec![]).await;
        let got = drain(&mut front);
        assert_eq!(got.len(), 1, "one message per tick at the front: {got:?}");
        assert_eq!(got[0]["type"], "position");
        assert_eq!(got[0]["position"], room.truth(500));
        assert_eq!(got[0]["at"], tick.at, "`at` is the tick's");
    }
    // Nothing changed, nothing to say.
    room.tick(0, vec![]).await;
    assert!(drain(&mut front).is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_tail_is_never_stale_nor_off_by_more_than_one_percent() {
    let (mut room, _front, (_, mut tail)) = room().await;
    let ticket = LINE + 2;
    let (mut shown, mut shown_at) = (ticket, room.base);
    let mut messages = 0;
    for i in 0..60u64 {
        // Now and then a burst of departures moves the tail by over 1%.
        let departed = if i % 25 == 24 {
            (room.head + 1_000..room.head + 1_300).collect()
        } else {
            vec![]
        };
        let tick = room.tick(PER_TICK, departed).await;
        for m in drain(&mut tail) {
            assert_eq!(m["type"], "position");
            assert_eq!(m["at"], tick.at);
            shown = m["position"].as_u64().expect("position");
            shown_at = tick.at;
            messages += 1;
        }
        let truth = room.truth(ticket);
        assert!(
            shown.abs_diff(truth) * 100 <= truth,
            "tick {i}: shows {shown}, truly {truth}"
        );
        // The waiting count changes every tick, so the page is always
        // behind the truth in something: it hears on its slot, every 8
        // ticks, which leaves a tick for delivery and one for late ticks
        // before its numbers are 10 s old.
        assert!(
            tick.at - shown_at < REFRESH_MS - 2 * 1_000,
            "tick {i}: the last message is from {shown_at}"
        );
    }
    // Every 8 s, plus the two bursts: far fewer than one a tick.
    assert!(
        (6..=12).contains(&messages),
        "{messages} messages in 60 ticks"
    );
}

#[tokio::test(start_paused = true)]
async fn polling_sees_what_the_socket_says() {
    let (mut room, (front_token, mut front), (tail_token, _)) = room().await;
    room.tick(PER_TICK, vec![]).await;
    let pushed = drain(&mut front).pop().expect("a message");
    let polled = room
        .engine
        .status(&room.event, &front_token)
        .await
        .expect("status");
    let p = polled.position.expect("waiting");
    assert_eq!(pushed["position"], p.position);
    assert_eq!(pushed["ahead"], p.ahead);
    assert_eq!(pushed["waiting"], polled.waiting);
    // Polling is exact for the tail too (the socket may lag it by < 1%).
    let polled = room.engine.status(&room.event, &tail_token).await;
    let p = polled.expect("status").position.expect("waiting");
    assert_eq!(p.position, room.truth(LINE + 2));
}

#[tokio::test(start_paused = true)]
async fn a_socket_that_never_reads_is_cut_off() {
    let (mut room, (_, mut front), (_, mut tail)) = room().await;
    let (_, _unread) = room.connect(2).await;
    assert_eq!(room.engine.connected(), 3);
    for _ in 0..30 {
        room.tick(PER_TICK, vec![]).await;
        drain(&mut front);
        drain(&mut tail);
    }
    assert_eq!(room.engine.connected(), 2, "the silent socket is dropped");
}

/// Waiters a tick passed without naming them (admitted by a tick this node
/// never heard, or gone since) are looked up and told, on every tab.
#[tokio::test(start_paused = true)]
async fn waiters_a_tick_passed_over_are_told_on_every_tab() {
    let mut room = Room::new().await;
    let admitted = room.engine.join(&room.event, None).await.expect("join");
    let gone = room.engine.join(&room.event, None).await.expect("join");
    let mut tabs = Vec::new();
    for status in [&admitted, &admitted, &gone, &gone] {
        let mut rx = room.attach(&status.queue_token, 16).await;
        drain(&mut rx);
        tabs.push(rx);
    }
    assert_eq!(room.engine.connected(), 4);
    assert!(room
        .store
        .leave(&room.event, &gone.visitor)
        .await
        .expect("leave"));
    assert!(room
        .store
        .acquire_lease(&room.event, "elsewhere", 60_000)
        .await
        .expect("lease"));
    // The first tick only starts the clock the rate is measured from.
    let start = now_ms();
    let mut missed = Vec::new();
    for s in 1..=3 {
        let tick = room.store.tick(&room.event, "elsewhere", start + s * 1_000);
        missed.extend(tick.await.expect("tick").expect("ticks").admitted);
    }
    assert!(missed.iter().any(|a| a.visitor == admitted.visitor));

    // This node's next tick has the head past both, naming neither.
    room.tick(2, vec![]).await;
    for rx in &mut tabs[..2] {
        let got = drain(rx);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["type"], "admitted");
        assert_eq!(got[0]["ticket"], admitted.ticket);
    }
    for rx in &mut tabs[2..] {
        let got = drain(rx);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["type"], "departed");
    }
    assert_eq!(room.engine.connected(), 2, "the departed tabs are dropped");
}
