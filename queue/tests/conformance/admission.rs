//! Admission: rate, cap, order, lifecycle states, tick sequence.

use crate::common::{open, visitor, Harness, T0};
use queue::store::{rate_budget, Millis, TickClock};
use queue::{QueueSettings, QueueState};

/// Ticks at each offset from `T0` (the first sets the clock); returns how
/// many were admitted in total after the first.
async fn admitted_over(h: &Harness, start: Millis, intervals: &[Millis]) -> usize {
    let mut now = start;
    let mut total = 0;
    for interval in intervals {
        now += interval;
        total += h.tick(now).await.admitted.len();
    }
    total
}

pub async fn rate_carries_the_fraction(h: Harness) {
    h.setup(open(90, 10_000)).await;
    h.join_all(0..200, T0).await;
    assert!(
        h.tick(T0).await.admitted.is_empty(),
        "the first tick only starts the clock"
    );

    // 90/min is 1.5 per second: 1, 2, 1, 2, … and exactly 90 in a minute.
    assert_eq!(admitted_over(&h, T0, &[1_000; 60]).await, 90);

    // Irregular intervals (multiples of 125 ms keep the arithmetic exact).
    let pattern = [125, 2_000, 375, 4_500, 1_000, 250, 3_750];
    let intervals: Vec<Millis> = pattern.iter().copied().cycle().take(35).collect();
    assert_eq!(intervals.iter().sum::<Millis>(), 60_000);
    assert_eq!(admitted_over(&h, T0 + 60_000, &intervals).await, 90);
}

pub async fn rate_matches_rate_budget_at_irregular_intervals(h: Harness) {
    // Backends must reproduce `rate_budget` exactly, float carry included,
    // at awkward rates and intervals (some past the 5 s elapsed cap).
    let rate = 97;
    h.setup(open(rate, 100_000)).await;
    h.join_all(0..800, T0).await;
    let mut clock = TickClock::default();
    let mut now = T0;
    let mut seed: u64 = 12_345;
    for _ in 0..120 {
        let (budget, next) = rate_budget(clock, now, rate);
        clock = next;
        let tick = h.tick(now).await;
        assert_eq!(
            tick.admitted.len() as u64,
            budget,
            "tick at +{} ms",
            now - T0
        );
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        now += 1 + (seed >> 33) % 7_000;
    }
}

pub async fn long_gaps_release_no_burst(h: Harness) {
    h.setup(open(600, 10_000)).await;
    h.join_all(0..100, T0).await;
    h.tick(T0).await;
    // Ten minutes without a tick (a lost lease): at most 5 s worth.
    assert_eq!(h.tick(T0 + 600_000).await.admitted.len(), 50);
}

pub async fn cap_is_never_exceeded(h: Harness) {
    let cap = 5;
    let settings = QueueSettings {
        session_ttl_seconds: 30,
        ..open(6_000, cap)
    };
    h.setup(settings).await;
    h.join_all(0..60, T0).await;
    h.tick(T0).await;
    let full = h.tick(T0 + 1_000).await;
    assert_eq!((full.admitted.len(), full.active), (5, 5));
    assert!(h.tick(T0 + 2_000).await.admitted.is_empty());

    // A release frees exactly one slot.
    assert!(h
        .store
        .release(&h.event, &visitor(0))
        .await
        .expect("release"));
    let refill = h.tick(T0 + 3_000).await;
    assert_eq!((refill.admitted.len(), refill.active), (1, 5));
    assert_eq!(refill.admitted[0].ticket, 6);

    // Expiry frees the four remaining first sessions (expires T0 + 31 s).
    assert!(h.tick(T0 + 30_000).await.admitted.is_empty());
    let expired = h.tick(T0 + 31_000).await;
    assert_eq!((expired.admitted.len(), expired.active), (4, 5));

    // Under churn the cap holds at every tick and in every snapshot.
    for step in 1..=120 {
        let now = T0 + 31_000 + step * 700;
        if step % 7 == 0 {
            let someone = (step as usize * 3) % 60;
            h.store
                .release(&h.event, &visitor(someone))
                .await
                .expect("release");
        }
        let tick = h.tick(now).await;
        assert!(tick.active <= cap, "tick {step}: {} active", tick.active);
        let snapshot = h.store.snapshot(&h.event).await.expect("snapshot");
        assert!(snapshot.active <= cap);
    }
}

pub async fn admission_follows_ticket_order_under_concurrency(h: Harness) {
    h.setup(open(60_000, 100_000)).await;
    let joiners: Vec<_> = (0..4)
        .map(|j| {
            let store = if j % 2 == 0 {
                h.store.clone()
            } else {
                h.peer.clone()
            };
            let event = h.event.clone();
            tokio::spawn(async move {
                for i in 0..250 {
                    store
                        .join(&event, &visitor(j * 1_000 + i), T0)
                        .await
                        .expect("join");
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut admitted = Vec::new();
    let mut now = T0;
    loop {
        let tick = h.tick(now).await;
        admitted.extend(tick.admitted.iter().map(|a| a.ticket));
        let joining = joiners.iter().any(|j| !j.is_finished());
        if !joining && tick.waiting == 0 && tick.last_ticket == 1_000 {
            break;
        }
        now += 7; // budget 7 per tick
        tokio::task::yield_now().await;
    }
    for joiner in joiners {
        joiner.await.expect("joiner");
    }
    assert_eq!(admitted, (1..=1_000).collect::<Vec<u64>>());
}

pub async fn paused_and_closed_admit_nobody_and_resume_without_burst(h: Harness) {
    h.setup(open(60, 1_000)).await;
    h.join_all(0..100, T0).await;
    h.tick(T0).await;
    assert_eq!(h.tick(T0 + 1_000).await.admitted.len(), 1);

    for (state, from) in [(QueueState::Paused, 1), (QueueState::Closed, 31)] {
        h.set_state(state).await;
        for s in from + 1..=from + 29 {
            assert!(h.tick(T0 + s * 1_000).await.admitted.is_empty(), "{state}");
        }
        h.set_state(QueueState::Open).await;
        // One second since the last (non-admitting) tick: one visitor.
        assert_eq!(
            h.tick(T0 + (from + 30) * 1_000).await.admitted.len(),
            1,
            "{state}"
        );
    }

    // Draining still admits those already waiting.
    h.set_state(QueueState::Draining).await;
    assert_eq!(h.tick(T0 + 62_000).await.admitted.len(), 1);
}

pub async fn seq_increments_by_one(h: Harness) {
    h.setup(open(60, 10)).await;
    for expected in 1..=5 {
        assert_eq!(h.tick(T0 + expected * 1_000).await.seq, expected);
        // Another node's refused tick does not count.
        assert!(h
            .peer
            .tick(&h.event, "b", T0)
            .await
            .expect("tick")
            .is_none());
    }
    assert_eq!(h.store.snapshot(&h.event).await.expect("snapshot").seq, 5);
}
