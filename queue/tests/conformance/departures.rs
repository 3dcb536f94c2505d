//! Departures (explicit and by missed grace) and presence (`touch`).

use crate::common::{open, visitor, Harness, T0};
use queue::store::VisitorRecord;
use queue::{EventId, QueueSettings, QueueState};

async fn departed_above_head(h: &Harness) -> Vec<u64> {
    h.store.snapshot(&h.event).await.expect("snapshot").departed
}

pub async fn leavers_are_skipped_and_reported_once(h: Harness) {
    h.setup(open(60, 100)).await;
    h.join_all(1..5, T0).await; // visitor i has ticket i
    assert!(h.store.leave(&h.event, &visitor(2)).await.expect("leave"));
    assert!(!h
        .store
        .leave(&h.event, &visitor(2))
        .await
        .expect("leave twice"));

    let first = h.tick(T0).await;
    assert_eq!((first.departed.clone(), first.head), (vec![2], 0));
    assert_eq!(departed_above_head(&h).await, vec![2]);

    // Ticket 1 is admitted; the head moves past departed ticket 2.
    let second = h.tick(T0 + 1_000).await;
    assert_eq!(second.admitted[0].ticket, 1);
    assert!(second.departed.is_empty(), "reported once");
    assert_eq!(second.head, 2);
    assert!(departed_above_head(&h).await.is_empty());

    // A departure far behind the head stays indexed until the head passes.
    h.join_all(5..8, T0 + 1_100).await;
    h.store.leave(&h.event, &visitor(6)).await.expect("leave");
    let third = h.tick(T0 + 1_500).await; // budget 0.5: nobody
    assert_eq!((third.admitted.len(), third.departed.clone()), (0, vec![6]));
    assert_eq!(departed_above_head(&h).await, vec![6]);
    let fourth = h.tick(T0 + 2_000).await;
    assert_eq!(fourth.admitted[0].ticket, 3);
    for now in [T0 + 3_000, T0 + 4_000] {
        h.tick(now).await;
    }
    // 4 and 5 admitted; 6 skipped; the head waits at 6 before ticket 7.
    let tick = h.tick(T0 + 4_500).await;
    assert_eq!((tick.head, tick.waiting), (6, 1));
    assert!(departed_above_head(&h).await.is_empty());
    let last = h.tick(T0 + 5_000).await;
    assert_eq!(last.admitted[0].ticket, 7);
    assert_eq!((last.head, last.last_ticket, last.waiting), (7, 7, 0));
}

pub async fn idle_waiters_depart_after_the_grace(h: Harness) {
    let settings = QueueSettings {
        departure_grace_seconds: 10,
        ..open(0, 100)
    };
    h.setup(settings.clone()).await;
    h.join_all(1..4, T0).await;
    h.store
        .touch(&h.event, &[visitor(2)], T0 + 6_000)
        .await
        .expect("touch");
    assert!(h.tick(T0 + 9_999).await.departed.is_empty());

    let tick = h.tick(T0 + 10_000).await;
    assert_eq!(
        (tick.departed.clone(), tick.head, tick.waiting),
        (vec![1, 3], 1, 1)
    );
    assert_eq!(departed_above_head(&h).await, vec![3]);
    let lookup = h.store.lookup(&h.event, &visitor(1), T0 + 10_000).await;
    assert_eq!(
        lookup.expect("lookup"),
        VisitorRecord::Departed { ticket: 1 }
    );
    assert!(
        h.tick(T0 + 10_001).await.departed.is_empty(),
        "reported once"
    );

    let tick = h.tick(T0 + 16_000).await;
    assert_eq!(
        (tick.departed.clone(), tick.head, tick.waiting),
        (vec![2], 3, 0)
    );
    // The place is kept (returns.rs has the details); visitor 4 is new.
    let back = h.join(1, T0 + 16_001).await;
    assert_eq!((back.ticket, back.fresh, back.reinstated), (1, false, true));
    assert_eq!(h.join(4, T0 + 16_001).await.ticket, 4);

    // At most 1,000 idle departures per tick; the rest follow next tick.
    let many = Harness {
        event: EventId::parse(&format!("{}-many", h.event)).expect("event id"),
        ..h
    };
    many.setup(settings).await;
    many.join_all(0..1_500, T0).await;
    assert_eq!(many.tick(T0 + 10_000).await.departed.len(), 1_000);
    let rest = many.tick(T0 + 10_001).await;
    assert_eq!(
        (rest.departed.len(), rest.waiting, rest.head),
        (500, 0, 1_500)
    );
    assert_eq!(rest.departed.first(), Some(&1_001));
}

pub async fn touch_ignores_everyone_but_waiters(h: Harness) {
    let settings = QueueSettings {
        departure_grace_seconds: 10,
        ..open(60, 100)
    };
    h.setup(settings).await;
    h.join_all(1..4, T0).await;
    h.tick(T0).await;
    assert_eq!(h.tick(T0 + 1_000).await.admitted[0].ticket, 1);
    h.store.leave(&h.event, &visitor(3)).await.expect("leave");
    h.set_state(QueueState::Paused).await;

    let everyone = [visitor(1), visitor(2), visitor(3), visitor(99)];
    h.store
        .touch(&h.event, &everyone, T0 + 9_000)
        .await
        .expect("touch");
    // An older timestamp never moves "last seen" backwards.
    h.store
        .touch(&h.event, &everyone, T0 + 1)
        .await
        .expect("touch");
    h.store
        .touch(&h.event, &[], T0 + 9_000)
        .await
        .expect("empty touch");

    let look = |i| {
        let (store, event) = (h.store.clone(), h.event.clone());
        async move { store.lookup(&event, &visitor(i), T0 + 10_500).await }
    };
    assert!(matches!(
        look(1).await.expect("lookup"),
        VisitorRecord::Admitted { .. }
    ));
    assert_eq!(
        look(3).await.expect("lookup"),
        VisitorRecord::Departed { ticket: 3 }
    );
    assert_eq!(look(99).await.expect("lookup"), VisitorRecord::Unknown);

    // Only the explicit leave departs; visitor 2 was seen at +9 s.
    let tick = h.tick(T0 + 10_500).await;
    assert_eq!((tick.departed.clone(), tick.waiting), (vec![3], 1));
    let tick = h.tick(T0 + 19_000).await;
    assert_eq!((tick.departed.clone(), tick.waiting), (vec![2], 0));
    assert_eq!(
        look(2).await.expect("lookup"),
        VisitorRecord::Departed { ticket: 2 }
    );
}

/// A socket's attach looks a place up and marks the waiter present in one
/// call: the waiter stays past the grace counted from the join, and the
/// record is the one `lookup` gives. Nobody but waiters is touched.
pub async fn looking_up_a_present_waiter_touches_it(h: Harness) {
    let settings = QueueSettings {
        departure_grace_seconds: 10,
        ..open(0, 100)
    };
    h.setup(settings).await;
    h.join_all(1..3, T0).await;
    let found = h
        .store
        .lookup_present(&h.event, &visitor(2), T0 + 6_000)
        .await
        .expect("lookup");
    assert_eq!(found, VisitorRecord::Waiting { ticket: 2 });
    let unknown = h
        .store
        .lookup_present(&h.event, &visitor(99), T0 + 6_000)
        .await
        .expect("lookup");
    assert_eq!(unknown, VisitorRecord::Unknown);
    // Visitor 1 was not looked up: it departs at the grace; 2 stays.
    let tick = h.tick(T0 + 10_000).await;
    assert_eq!((tick.departed.clone(), tick.waiting), (vec![1], 1));
    assert_eq!(h.tick(T0 + 16_000).await.departed, vec![2]);
    // The unknown visitor did not become a waiter.
    assert_eq!(
        h.store
            .lookup(&h.event, &visitor(99), T0 + 16_000)
            .await
            .expect("lookup"),
        VisitorRecord::Unknown
    );
}
