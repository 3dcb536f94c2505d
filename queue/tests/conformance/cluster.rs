//! Several nodes on one backend: the admitter lease, the tick feed and the
//! snapshot nodes repair from.

use crate::common::{open, visitor, Harness, T0};
use queue::store::{QueueStore, Tick};
use queue::EventId;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Short, so the takeover check waits little (leases use real time).
const LEASE_TTL_MS: u64 = 200;

/// Used while both nodes contend, so a stalled test thread on a busy CI
/// machine cannot let the lease lapse mid-round.
const CONTENDED_TTL_MS: u64 = 2_000;

pub async fn lease_is_exclusive_and_taken_over_after_ttl(h: Harness) {
    h.store
        .put_settings(&h.event, &open(60_000, 100_000))
        .await
        .expect("put_settings");
    h.join_all(0..50, T0).await;
    let (a, b) = (h.store.clone(), h.peer.clone());
    assert!(a
        .acquire_lease(&h.event, "a", LEASE_TTL_MS)
        .await
        .expect("lease"));
    assert!(!b
        .acquire_lease(&h.event, "b", LEASE_TTL_MS)
        .await
        .expect("lease"));

    // Both nodes try to renew and tick at once, many times over.
    let attempt = |store: Arc<dyn QueueStore>, node: &'static str, event: EventId, now| {
        tokio::spawn(async move {
            let held = store
                .acquire_lease(&event, node, CONTENDED_TTL_MS)
                .await
                .expect("lease");
            let tick = store.tick(&event, node, now).await.expect("tick");
            assert!(held || tick.is_none(), "{node} ticked without the lease");
            tick.map(|t| (node, t.seq))
        })
    };
    let mut last_seq = 0;
    for round in 1..=30 {
        let now = T0 + round * 10;
        let ta = attempt(a.clone(), "a", h.event.clone(), now);
        let tb = attempt(b.clone(), "b", h.event.clone(), now);
        let ran: Vec<_> = [ta.await.expect("task"), tb.await.expect("task")]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(ran.len(), 1, "round {round}: {ran:?}");
        assert_eq!(ran[0], ("a", last_seq + 1));
        last_seq += 1;
    }

    // `a` stops renewing: `b` takes over once the ttl has passed, not before.
    let stopped = Instant::now();
    assert!(a
        .acquire_lease(&h.event, "a", LEASE_TTL_MS)
        .await
        .expect("lease"));
    let deadline = stopped + Duration::from_secs(5);
    while !b
        .acquire_lease(&h.event, "b", LEASE_TTL_MS)
        .await
        .expect("lease")
    {
        assert!(Instant::now() < deadline, "b never took over the lease");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped.elapsed() >= Duration::from_millis(LEASE_TTL_MS - 10));
    assert!(a
        .tick(&h.event, "a", T0 + 1_000)
        .await
        .expect("tick")
        .is_none());
    assert!(!a
        .acquire_lease(&h.event, "a", LEASE_TTL_MS)
        .await
        .expect("lease"));
    let tick = b.tick(&h.event, "b", T0 + 1_000).await.expect("tick");
    assert_eq!(tick.expect("b holds the lease").seq, last_seq + 1);
}

/// The next tick of `event` on `rx`, skipping other events' ticks (Redis
/// tests share one channel); fails after a timeout instead of hanging.
async fn next_tick_of(rx: &mut broadcast::Receiver<Tick>, event: &EventId) -> Tick {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(tick) if &tick.event == event => return tick,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => panic!("tick feed closed"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("tick not received within 5 s")
}

pub async fn subscribers_receive_published_ticks(h: Harness) {
    let mut local = h.store.subscribe();
    let mut remote = h.peer.subscribe();
    h.setup(open(60_000, 100)).await;
    h.join_all(0..3, T0).await;
    h.tick(T0).await;
    let tick = h.tick(T0 + 2).await;
    assert_eq!(tick.admitted.len(), 2);
    for rx in [&mut local, &mut remote] {
        assert_eq!(next_tick_of(rx, &h.event).await.seq, 1);
        assert_eq!(next_tick_of(rx, &h.event).await, tick);
    }
}

pub async fn snapshot_matches_the_ticks(h: Harness) {
    h.setup(open(600, 8)).await;
    h.join_all(0..40, T0).await;
    let mut departed = BTreeSet::new();
    let mut now = T0;
    for step in 0..30_usize {
        match step % 5 {
            1 => {
                h.store
                    .leave(&h.event, &visitor(step + 20))
                    .await
                    .expect("leave");
            }
            3 => {
                h.store
                    .release(&h.event, &visitor(step / 2))
                    .await
                    .expect("release");
            }
            _ => {
                h.join(100 + step, now).await;
            }
        }
        now += 250;
        let tick = h.tick(now).await;
        departed.extend(tick.departed.iter().copied());
        departed.retain(|t| *t > tick.head);
        let snapshot = h.peer.snapshot(&h.event).await.expect("snapshot");
        assert_eq!(
            (snapshot.seq, snapshot.head, snapshot.last_ticket),
            (tick.seq, tick.head, tick.last_ticket)
        );
        assert_eq!(
            (snapshot.active, snapshot.waiting),
            (tick.active, tick.waiting)
        );
        assert_eq!(snapshot.settings, tick.settings);
        assert_eq!(
            snapshot.departed,
            departed.iter().copied().collect::<Vec<_>>()
        );
    }
}

/// Counters added by several nodes at once sum up exactly, and every node
/// reads the same totals; zero deltas create nothing.
pub async fn counters_sum_across_nodes(h: Harness) {
    h.store
        .put_settings(&h.event, &open(60, 10))
        .await
        .expect("settings");
    assert!(h.store.counters(&h.event).await.expect("read").is_empty());
    let mut tasks = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 {
            h.store.clone()
        } else {
            h.peer.clone()
        };
        let event = h.event.clone();
        tasks.push(tokio::spawn(async move {
            node.add_counters(
                &event,
                &[("rate_limited", 3), ("captcha_failed", 1), ("unused", 0)],
            )
            .await
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("add");
    }
    let seen = h.peer.counters(&h.event).await.expect("read");
    let want = [
        ("captcha_failed".to_owned(), 20),
        ("rate_limited".to_owned(), 60),
    ];
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), want);
    assert_eq!(h.store.counters(&h.event).await.expect("read").len(), 2);
}
