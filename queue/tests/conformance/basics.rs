//! Settings, joins and lookups.

use crate::common::{open, visitor, Harness, T0};
use queue::store::VisitorRecord;
use queue::{QueueError, QueueSettings, QueueState};
use std::collections::HashSet;

pub async fn settings_round_trip(h: Harness) {
    let settings = QueueSettings {
        // Not `Prequeue`: there a join gets no ticket until opening
        // (`prequeue_is_shuffled_at_opening`).
        state: QueueState::Paused,
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
            place_ttl_seconds: Some(600),
            waitlist_joins: false,
            offer_ttl_seconds: 120,
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
            fresh: false,
            reinstated: false,
        }
    );
    assert_eq!(h.join(2, T0).await.ticket, 2);

    // An admitted visitor gets their ticket back too.
    h.tick(T0).await;
    let admitted = h.tick(T0 + 1_000).await;
    assert_eq!(admitted.admitted.len(), 2);
    assert!(!h.join(1, T0 + 1_001).await.fresh);

    // A departed visitor goes to the back with a new ticket...
    h.join(3, T0).await;
    assert!(h.store.leave(&h.event, &visitor(3)).await.expect("leave"));
    let back = h.join(3, T0 + 2_000).await;
    assert_eq!((back.ticket, back.fresh), (4, true));

    // ...and so does one whose admitted session ended: their turn is over,
    // a new one starts at the back.
    assert!(h
        .store
        .release(&h.event, &visitor(1))
        .await
        .expect("release"));
    let again = h.join(1, T0 + 2_001).await;
    assert_eq!((again.ticket, again.fresh), (5, true));
    assert_eq!(
        h.store
            .lookup(&h.event, &visitor(1), T0 + 2_002)
            .await
            .expect("lookup"),
        VisitorRecord::Waiting { ticket: 5 }
    );
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
    // All at once: the same records, in the order asked, strangers too.
    let many = |ids: &[usize], now| {
        let (store, event) = (h.store.clone(), h.event.clone());
        let ids: Vec<_> = ids.iter().map(|&i| visitor(i)).collect();
        async move {
            store
                .lookup_many(&event, &ids, now)
                .await
                .expect("lookup_many")
        }
    };
    assert_eq!(
        many(&[3, 9, 1, 4, 2, 1], now).await,
        vec![
            VisitorRecord::Waiting { ticket: 3 },
            VisitorRecord::Unknown,
            admitted.clone(),
            VisitorRecord::Departed { ticket: 4 },
            VisitorRecord::Finished { ticket: 2 },
            admitted,
        ]
    );
    assert_eq!(
        many(&[1], expires_at).await,
        vec![VisitorRecord::Finished { ticket: 1 }]
    );
    assert_eq!(many(&[], now).await, vec![]);
    // Expiry through a tick reads the same.
    h.tick(expires_at).await;
    assert_eq!(
        look(1, expires_at).await,
        VisitorRecord::Finished { ticket: 1 }
    );
}

/// A bulk look-up longer than one backend command (Redis reads 1,000
/// fields per `HMGET`) keeps every record at its place in the answer.
pub async fn lookup_many_spans_several_commands(h: Harness) {
    h.setup(open(0, 10)).await;
    h.join_all(1..4, T0).await;
    // Known visitors first, at a command's boundary and last.
    let mut asked: Vec<_> = (100..2_600).map(visitor).collect();
    asked[0] = visitor(1);
    asked[1_000] = visitor(2);
    asked[2_499] = visitor(3);
    let records = h
        .store
        .lookup_many(&h.event, &asked, T0)
        .await
        .expect("lookup_many");
    assert_eq!(records.len(), 2_500);
    for (i, record) in records.iter().enumerate() {
        let expected = match i {
            0 => VisitorRecord::Waiting { ticket: 1 },
            1_000 => VisitorRecord::Waiting { ticket: 2 },
            2_499 => VisitorRecord::Waiting { ticket: 3 },
            _ => VisitorRecord::Unknown,
        };
        assert_eq!(*record, expected, "record {i}");
    }
}

/// `put_settings_if` writes only over the version it names, so two
/// operators editing at once cannot silently overwrite each other.
pub async fn settings_compare_and_set(h: Harness) {
    let v = |version: u64| QueueSettings {
        admit_per_minute: 100 + version as u32,
        policy: queue::QueuePolicy {
            version,
            ..Default::default()
        },
        ..QueueSettings::default()
    };
    let put = |settings: QueueSettings, expected: Option<u64>| {
        let store = h.store.clone();
        let event = h.event.clone();
        async move {
            store
                .put_settings_if(&event, &settings, expected)
                .await
                .expect("put_settings_if")
        }
    };
    assert!(!put(v(1), Some(0)).await, "no queue yet: only None matches");
    assert!(put(v(1), None).await, "creates");
    assert!(!put(v(2), None).await, "exists now");
    assert!(h.store.events().await.expect("events").contains(&h.event));
    assert!(put(v(2), Some(1)).await);
    assert!(!put(v(3), Some(1)).await, "stale version");
    let stored = h.peer.settings(&h.event).await.expect("settings");
    assert_eq!(stored, Some(v(2)));
    let bad = QueueSettings {
        session_ttl_seconds: 1,
        ..v(3)
    };
    assert!(h
        .store
        .put_settings_if(&h.event, &bad, Some(2))
        .await
        .is_err());

    // Racing writers over the same version: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..8u32 {
        let store = h.store.clone();
        let event = h.event.clone();
        let s = QueueSettings {
            max_active: i,
            ..v(3)
        };
        tasks.push(tokio::spawn(async move {
            store
                .put_settings_if(&event, &s, Some(2))
                .await
                .expect("cas")
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.expect("task"));
    }
    assert_eq!(wins, 1);
}

/// Pre-queue: arrivals get no ticket; `open_prequeue` gives tickets in the
/// given order, then late arrivals by join time, flips the settings, and
/// later joins queue FIFO behind.
pub async fn prequeue_is_shuffled_at_opening(h: Harness) {
    let pre = QueueSettings {
        state: QueueState::Prequeue,
        policy: queue::QueuePolicy {
            version: 4,
            ..Default::default()
        },
        ..QueueSettings::default()
    };
    h.store.put_settings(&h.event, &pre).await.expect("put");
    for i in 1..=5 {
        let out = h.join(i, T0 + i as u64).await;
        assert_eq!((out.ticket, out.fresh), (0, true), "no ticket in pre-queue");
    }
    assert!(
        !h.join(3, T0 + 10).await.fresh,
        "joining again keeps the place"
    );
    assert_eq!(
        h.store
            .lookup(&h.event, &visitor(2), T0)
            .await
            .expect("lookup"),
        VisitorRecord::Prequeue
    );
    let listed = h.peer.prequeue(&h.event).await.expect("prequeue");
    let ids: Vec<_> = listed.iter().map(|(v, _)| v.clone()).collect();
    assert_eq!(ids, (1..=5).map(visitor).collect::<Vec<_>>(), "join order");
    assert_eq!(listed[0].1, T0 + 1);
    let snapshot = h.store.snapshot(&h.event).await.expect("snapshot");
    assert_eq!((snapshot.last_ticket, snapshot.waiting), (0, 0));

    // Seeds: the first one stays.
    assert_eq!(h.store.seed(&h.event).await.expect("seed"), None);
    assert_eq!(h.store.init_seed(&h.event, "aa").await.expect("init"), "aa");
    assert_eq!(h.peer.init_seed(&h.event, "bb").await.expect("init"), "aa");
    assert_eq!(
        h.peer.seed(&h.event).await.expect("seed").as_deref(),
        Some("aa")
    );

    let open = QueueSettings {
        state: QueueState::Open,
        policy: queue::QueuePolicy {
            version: 5,
            ..Default::default()
        },
        ..QueueSettings::default()
    };
    // Visitor 4 is left out of the order (arrived "late"); 9 never joined.
    let order = [
        visitor(5),
        visitor(2),
        visitor(9),
        visitor(1),
        visitor(3),
        visitor(5),
    ];
    let stale = h
        .store
        .open_prequeue(&h.event, &order, &open, 3, T0 + 20)
        .await;
    assert_eq!(stale.expect("open"), None, "wrong version changes nothing");
    let given = h
        .store
        .open_prequeue(&h.event, &order, &open, 4, T0 + 20)
        .await;
    assert_eq!(given.expect("open"), Some(5));
    for (v, ticket) in [(5, 1), (2, 2), (1, 3), (3, 4), (4, 5)] {
        assert_eq!(
            h.peer
                .lookup(&h.event, &visitor(v), T0 + 20)
                .await
                .expect("lookup"),
            VisitorRecord::Waiting { ticket },
            "visitor {v}"
        );
    }
    assert_eq!(
        h.store.settings(&h.event).await.expect("settings"),
        Some(open)
    );
    assert!(h
        .store
        .prequeue(&h.event)
        .await
        .expect("prequeue")
        .is_empty());
    assert_eq!(h.join(6, T0 + 30).await.ticket, 6, "FIFO behind");
    let snapshot = h.store.snapshot(&h.event).await.expect("snapshot");
    assert_eq!((snapshot.last_ticket, snapshot.waiting), (6, 6));
}

/// Removing an event forgets everything about it, on every node; the id can
/// then start afresh; removing twice is harmless.
pub async fn remove_event_forgets_everything(h: Harness) {
    h.store
        .put_settings(&h.event, &open(60, 10))
        .await
        .expect("settings");
    h.store.join(&h.event, &visitor(1), T0).await.expect("join");
    h.store.init_seed(&h.event, "aa").await.expect("seed");
    h.store
        .add_counters(&h.event, &[("rate_limited", 1)])
        .await
        .expect("count");
    h.store.remove_event(&h.event).await.expect("remove");
    assert_eq!(h.peer.settings(&h.event).await.expect("settings"), None);
    assert!(!h.peer.events().await.expect("events").contains(&h.event));
    assert_eq!(
        h.peer
            .lookup(&h.event, &visitor(1), T0)
            .await
            .expect("lookup"),
        VisitorRecord::Unknown
    );
    assert_eq!(h.peer.seed(&h.event).await.expect("seed"), None);
    assert!(h
        .peer
        .counters(&h.event)
        .await
        .expect("counters")
        .is_empty());
    h.store.remove_event(&h.event).await.expect("again");
    h.store
        .put_settings(&h.event, &open(60, 10))
        .await
        .expect("afresh");
    let fresh = h.store.snapshot(&h.event).await.expect("snapshot");
    assert_eq!((fresh.last_ticket, fresh.waiting), (0, 0));
}
