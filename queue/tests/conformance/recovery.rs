//! Restoring an event after the store lost data: floors raised once per
//! loss, placeholder sessions under the cap, lost places given back on
//! claims, and ticks that refuse to run on a store that lost writes.

use crate::common::{open, visitor, Harness, T0};
use queue::store::{RestoreFloor, TickGuard, TickOutcome, VisitorRecord};

fn floor(id: &str, last_ticket: u64, head: u64, active: u32) -> RestoreFloor {
    RestoreFloor {
        id: id.to_owned(),
        last_ticket,
        head,
        active,
        active_until: T0 + 60_000,
    }
}

async fn restore(h: &Harness, f: &RestoreFloor, max_active: u32) {
    h.store
        .restore(&h.event, &open(6_000, max_active), f, T0)
        .await
        .expect("restore");
}

pub async fn restore_raises_floors_once_and_holds_the_cap(h: Harness) {
    // The store lost everything: the event is back from the ledger alone.
    restore(&h, &floor("e1:10", 10, 7, 3), 5).await;
    assert_eq!(
        h.store.settings(&h.event).await.expect("settings"),
        Some(open(6_000, 5))
    );
    assert!(h.store.events().await.expect("events").contains(&h.event));
    let s = h.peer.snapshot(&h.event).await.expect("snapshot");
    assert_eq!(
        (s.last_ticket, s.head, s.active, s.restored_at),
        (10, 7, 3, T0)
    );
    assert_eq!(h.join(1, T0).await.ticket, 11);

    // The same loss noticed again (another process): nothing changes.
    restore(&h, &floor("e1:10", 50, 40, 5), 5).await;
    let s = h.peer.snapshot(&h.event).await.expect("snapshot");
    assert_eq!((s.last_ticket, s.head, s.active), (11, 7, 3));
    // Another loss with lower numbers never lowers anything.
    restore(&h, &floor("e2:3", 3, 2, 1), 5).await;
    let s = h.peer.snapshot(&h.event).await.expect("snapshot");
    assert_eq!((s.last_ticket, s.head, s.active), (11, 7, 3));

    // Three placeholder sessions: two of five slots are free.
    h.join_all(2..5, T0).await;
    assert!(h
        .store
        .acquire_lease(&h.event, "a", 60_000)
        .await
        .expect("lease"));
    h.tick(T0).await;
    let tick = h.tick(T0 + 1_000).await;
    assert_eq!((tick.admitted.len(), tick.active), (2, 5));
    assert_eq!(tick.restored_at, T0);
    // They expire like sessions, freeing their slots.
    let tick = h.tick(T0 + 60_000).await;
    assert_eq!((tick.admitted.len(), tick.active, tick.waiting), (2, 4, 0));
}

pub async fn claims_give_lost_places_back_in_ticket_order(h: Harness) {
    // Tickets 1–4 were admitted or departed before the loss; 10 issued.
    restore(&h, &floor("e1:10", 10, 4, 0), 100).await;
    let claim = |i: usize, ticket: u64| {
        let (store, event) = (h.store.clone(), h.event.clone());
        async move {
            store
                .claim(&event, &visitor(i), ticket, T0)
                .await
                .expect("claim")
        }
    };
    assert_eq!(claim(7, 7).await, Some(7));
    assert_eq!(claim(2, 2).await, Some(2), "behind the head: goes first");
    assert_eq!(
        claim(7, 7).await,
        None,
        "known visitors keep what they have"
    );
    assert_eq!(claim(8, 7).await, None, "a ticket is held once");
    assert_eq!(claim(9, 11).await, None, "not issued before the loss");
    assert_eq!(claim(10, 0).await, None);
    assert_eq!(
        h.store
            .lookup(&h.event, &visitor(7), T0)
            .await
            .expect("lookup"),
        VisitorRecord::Waiting { ticket: 7 }
    );
    assert_eq!(h.join(20, T0).await.ticket, 11, "new joiners come after");

    assert!(h
        .store
        .acquire_lease(&h.event, "a", 60_000)
        .await
        .expect("lease"));
    let first = h.tick(T0).await;
    assert_eq!((first.returning, first.waiting), (1, 3));
    let tick = h.tick(T0 + 1_000).await;
    let order: Vec<u64> = tick.admitted.iter().map(|a| a.ticket).collect();
    assert_eq!(order, vec![2, 7, 11]);

    let other = queue::EventId::parse(&format!("{}-none", h.event)).expect("id");
    assert!(h.store.claim(&other, &visitor(1), 1, T0).await.is_err());
    // Without a restore nothing is covered.
    let fresh = queue::EventId::parse(&format!("{}-fresh", h.event)).expect("id");
    h.store
        .put_settings(&fresh, &open(60, 10))
        .await
        .expect("settings");
    assert_eq!(
        h.store
            .claim(&fresh, &visitor(1), 1, T0)
            .await
            .expect("claim"),
        None
    );
}

pub async fn guarded_ticks_refuse_a_store_that_lost_writes(h: Harness) {
    h.setup(open(0, 10)).await;
    h.join_all(1..4, T0).await;
    let first = h.tick(T0).await;
    assert!(!first.epoch.is_empty());
    assert_eq!(
        h.tick(T0 + 1).await.epoch,
        first.epoch,
        "one epoch per state"
    );
    assert_eq!(
        h.peer.snapshot(&h.event).await.expect("snapshot").epoch,
        first.epoch
    );

    let run = |guard: TickGuard, node: &'static str| {
        let (store, event) = (h.store.clone(), h.event.clone());
        async move {
            store
                .tick_guarded(&event, node, T0 + 2, &guard)
                .await
                .expect("tick")
        }
    };
    let guard = |epoch: &str, high_water| TickGuard {
        epoch: epoch.to_owned(),
        high_water,
    };
    assert!(matches!(
        run(guard(&first.epoch, 3), "a").await,
        TickOutcome::Ran(_)
    ));
    let seq = h.peer.snapshot(&h.event).await.expect("snapshot").seq;
    assert_eq!(run(guard(&first.epoch, 4), "a").await, TickOutcome::Lost);
    assert_eq!(run(guard("another", 0), "a").await, TickOutcome::Lost);
    assert_eq!(run(guard("", 0), "b").await, TickOutcome::NotLeader);
    let after = h.peer.snapshot(&h.event).await.expect("snapshot");
    assert_eq!(after.seq, seq, "a refused tick changes nothing");
    assert!(matches!(
        run(TickGuard::default(), "a").await,
        TickOutcome::Ran(_)
    ));
}
