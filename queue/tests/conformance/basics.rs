//! Settings, joins and lookups.

use crate::common::{open, visitor, Harness, T0};
use queue::store::VisitorRecord;
use queue::{QueueError, QueueSettings, QueueState};
use std::collections::HashSet;

pub async fn settings_round_trip(h: Harness) {
    let settings = QueueSettings {
        state: QueueState::Prequeue,
        admit_per_minute: 1_234,
        max_active: 56,
        session_ttl_seconds: 789,
        departure_grace_seconds: 42,
        // Every policy field away from its default, so the round trip
        // proves each one is stored.
        policy: queue::QueuePolicy {
            captcha: queue::CaptchaPolicy::OnSuspicion,
            captcha_failure: queue::CaptchaFailure::InfiniteQueue,
            max_places_per_ip: 3,
            max_seats_per_visitor: 4,
            prequeue_at: Some(1_000),
            opens_at: Some(2_000),
            closes_at: Some(3_000),
            version: 7,
        },
    };
    assert_eq!(h.store.settings(&h.event).await.expect("settings"), None);
    h.store
        .put_settings(&h.event, &settings)
        .await
        .expect("put");
    assert_eq!(
        h.store.settings(&h.event).await.expect("settings"),
        Some(settings.clone())
    );
    assert!(h.store.events().await.expect("events").contains(&h.event));

    // Replacing settings keeps the queue's contents.
    h.join(1, T0).await;
    let changed = QueueSettings {
        state: QueueState::Open,
        ..settings
    };
    h.store.put_settings(&h.event, &changed).await.expect("put");
    assert_eq!(
        h.peer.settings(&h.event).await.expect("settings"),
        Some(changed)
    );
    assert_eq!(
        h.store
            .lookup(&h.event, &visitor(1), T0)
            .await
            .expect("lookup"),
        VisitorRecord::Waiting { ticket: 1 }
    );
    let snapshot = h.store.snapshot(&h.event).await.expect("snapshot");
    assert_eq!((snapshot.last_ticket, snapshot.waiting), (1, 1));
}

pub async fn invalid_settings_are_refused(h: Harness) {
    let bad = QueueSettings {
        session_ttl_seconds: 1,
        ..open(60, 10)
    };
    let err = h
        .store
        .put_settings(&h.event, &bad)
        .await
        .expect_err("invalid");
    assert!(
        matches!(
            err,
            QueueError::Invalid {
                field: "session_ttl_seconds",
                ..
            }
        ),
        "{err:?}"
    );
    // Nothing was created.
    assert_eq!(h.store.settings(&h.event).await.expect("settings"), None);
    assert!(!h.store.events().await.expect("events").contains(&h.event));
}

pub async fn unknown_event(h: Harness) {
    let v = visitor(1);
    assert!(matches!(
        h.store.join(&h.event, &v, T0).await,
        Err(QueueError::UnknownEvent(_))
    ));
    assert!(matches!(
        h.store.snapshot(&h.event).await,
        Err(QueueError::UnknownEvent(_))
    ));
    assert_eq!(
        h.store.lookup(&h.event, &v, T0).await.expect("lookup"),
        VisitorRecord::Unknown
    );
    assert!(!h.store.leave(&h.event, &v).await.expect("leave"));
    assert!(!h.store.release(&h.event, &v).await.expect("release"));
    h.store.touch(&h.event, &[v], T0).await.expect("touch");
    assert!(h
        .store
        .acquire_lease(&h.event, "a", 60_000)
        .await
        .expect("lease"));
    assert!(matches!(
        h.store.tick(&h.event, "a", T0).await,
        Err(QueueError::UnknownEvent(_))
    ));
}

pub async fn states_that_refuse_joins(h: Harness) {
    h.setup(open(60, 10)).await;
    h.join(1, T0).await;
    for (i, state) in [
        QueueState::Scheduled,
        QueueState::Prequeue,
        QueueState::Open,
        QueueState::Paused,
        QueueState::Draining,
        QueueState::Closed,
    ]
    .into_iter()
    .enumerate()
    {
        h.set_state(state).await;
        let joined = h.store.join(&h.event, &visitor(100 + i), T0).await;
        if state.accepts_joins() {
            assert!(joined.expect("joinable").fresh, "{state}");
        } else {
            assert!(
                matches!(joined, Err(QueueError::NotJoinable(s)) if s == state),
                "{state}: {joined:?}"
            );
        }
        // Someone who already has a place keeps it in every state.
        let again = h.join(1, T0).await;
        assert_eq!((again.ticket, again.fresh), (1, false), "{state}");
    }
}

pub async fn join_is_idempotent(h: Harness) {
    h.setup(open(60_000, 10)).await;
    let first = h.join(1, T0).await;
    assert_eq!((first.ticket, first.fresh), (1, true));
    assert_eq!(
        h.join(1, T0 + 5).await,
        queue::store::JoinOutcome {
            ticket: 1,
            fresh: false
        }
    );
    assert_eq!(h.join(2, T0).await.ticket, 2);

    // Admitted and finished visitors get their ticket back too.
    h.tick(T0).await;
    let admitted = h.tick(T0 + 1_000).await;
    assert_eq!(admitted.admitted.len(), 2);
    assert!(!h.join(1, T0 + 1_001).await.fresh);
    assert!(h
        .store
        .release(&h.event, &visitor(1))
        .await
        .expect("release"));
    assert_eq!(h.join(1, T0 + 1_002).await.ticket, 1);

    // A departed visitor goes to the back with a new ticket.
    h.join(3, T0).await;
    assert!(h.store.leave(&h.event, &visitor(3)).await.expect("leave"));
    let back = h.join(3, T0 + 2_000).await;
    assert_eq!((back.ticket, back.fresh), (4, true));
}

pub async fn concurrent_joins_get_dense_tickets(h: Harness) {
    h.setup(open(60, 10)).await;
    let joins = (0..2_000).map(|i| {
        let (store, event) = (h.store.clone(), h.event.clone());
        tokio::spawn(async move { store.join(&event, &visitor(i), T0).await })
    });
    let mut tickets = Vec::new();
    for join in futures::future::join_all(joins).await {
        let outcome = join.expect("task").expect("join");
        assert!(outcome.fresh);
        tickets.push(outcome.ticket);
    }
    tickets.sort_unstable();
    assert_eq!(tickets, (1..=2_000).collect::<Vec<u64>>());
    let snapshot = h.store.snapshot(&h.event).await.expect("snapshot");
    assert_eq!((snapshot.last_ticket, snapshot.waiting), (2_000, 2_000));
}

pub async fn concurrent_joins_of_one_visitor_get_one_ticket(h: Harness) {
    h.setup(open(60, 10)).await;
    let joins = (0..200).map(|i| {
        let store = if i % 2 == 0 {
            h.store.clone()
        } else {
            h.peer.clone()
        };
        let event = h.event.clone();
        tokio::spawn(async move { store.join(&event, &visitor(7), T0).await })
    });
    let outcomes: Vec<_> = futures::future::join_all(joins)
        .await
        .into_iter()
        .map(|j| j.expect("task").expect("join"))
        .collect();
    let tickets: HashSet<u64> = outcomes.iter().map(|o| o.ticket).collect();
    assert_eq!(tickets, HashSet::from([1]));
    assert_eq!(outcomes.iter().filter(|o| o.fresh).count(), 1);
    assert_eq!(
        h.store.snapshot(&h.event).await.expect("snapshot").waiting,
        1
    );
}

pub async fn lookup_reports_every_state(h: Harness) {
    let settings = QueueSettings {
        session_ttl_seconds: 30,
        ..open(60_000, 10)
    };
    h.setup(settings).await;
    let look = |i: usize, now| {
        let (store, event) = (h.store.clone(), h.event.clone());
        async move {
            store
                .lookup(&event, &visitor(i), now)
                .await
                .expect("lookup")
        }
    };
    assert_eq!(look(1, T0).await, VisitorRecord::Unknown);
    h.join_all(1..5, T0).await;
    assert_eq!(look(1, T0).await, VisitorRecord::Waiting { ticket: 1 });

    h.tick(T0).await;
    h.store.leave(&h.event, &visitor(4)).await.expect("leave");
    let now = T0 + 2;
    // Budget 2 (60,000/min over 2 ms): visitors 1 and 2.
    assert_eq!(h.tick(now).await.admitted.len(), 2);
    let expires_at = now + 30_000;
    let admitted = VisitorRecord::Admitted {
        ticket: 1,
        admitted_at: now,
        expires_at,
    };
    assert_eq!(look(1, now).await, admitted);
    assert_eq!(look(1, expires_at - 1).await, admitted);
    // Finished by expiry as soon as the time passes, before any tick...
    assert_eq!(
        look(1, expires_at).await,
        VisitorRecord::Finished { ticket: 1 }
    );
    // ...and by release.
    assert!(h
        .store
        .release(&h.event, &visitor(2))
        .await
        .expect("release"));
    assert!(!h
        .store
        .release(&h.event, &visitor(2))
        .await
        .expect("release"));
    assert_eq!(look(2, now).await, VisitorRecord::Finished { ticket: 2 });
    assert_eq!(look(3, now).await, VisitorRecord::Waiting { ticket: 3 });
    assert_eq!(look(4, now).await, VisitorRecord::Departed { ticket: 4 });
    // Expiry through a tick reads the same.
    h.tick(expires_at).await;
    assert_eq!(
        look(1, expires_at).await,
        VisitorRecord::Finished { ticket: 1 }
    );
}
