//! Joins that arrive at the same moment: the Redis store sends them in one
//! call per event, which must answer each as if it had come alone.

use crate::common::{open, visitor, Harness, T0};
use queue::{EventId, QueueError, QueueState};

pub async fn joins_together_keep_their_order(h: Harness) {
    h.setup(open(60, 10)).await;
    let joins: Vec<_> = (0..300).map(|i| (h.event.clone(), i)).collect();
    for (i, joined) in h.join_at_once(&joins).await.into_iter().enumerate() {
        let joined = joined.expect("join");
        // First come, first served: the i-th to arrive gets ticket i + 1.
        assert_eq!((joined.ticket, joined.fresh), (i as u64 + 1, true));
    }
}

pub async fn joins_together_are_answered_each_on_its_own(h: Harness) {
    h.setup(open(60, 10)).await;
    let closed = EventId::parse(&format!("{}-closed", h.event)).expect("event id");
    let unknown = EventId::parse(&format!("{}-unknown", h.event)).expect("event id");
    h.store
        .put_settings(&closed, &open(60, 10))
        .await
        .expect("put_settings");
    h.store.join(&closed, &visitor(9), T0).await.expect("join");
    let mut settings = open(60, 10);
    settings.state = QueueState::Closed;
    h.store
        .put_settings(&closed, &settings)
        .await
        .expect("close");

    let joins = [
        (h.event.clone(), 1),
        (closed.clone(), 9),
        (unknown.clone(), 1),
        (h.event.clone(), 2),
        (closed.clone(), 1),
        (h.event.clone(), 1),
        (unknown, 2),
        (h.event.clone(), 3),
    ];
    let answers = h.join_at_once(&joins).await;
    let ticket = |k: usize| match &answers[k] {
        Ok(o) => (o.ticket, o.fresh),
        Err(e) => panic!("join {k}: {e}"),
    };
    assert_eq!(ticket(0), (1, true));
    // A closed queue keeps the places it gave and takes no one new.
    assert_eq!(ticket(1), (1, false));
    assert!(matches!(answers[2], Err(QueueError::UnknownEvent(_))));
    assert_eq!(ticket(3), (2, true));
    assert!(matches!(
        answers[4],
        Err(QueueError::NotJoinable(QueueState::Closed))
    ));
    // The same visitor twice in one moment: one place.
    assert_eq!(ticket(5), (1, false));
    assert!(matches!(answers[6], Err(QueueError::UnknownEvent(_))));
    assert_eq!(ticket(7), (3, true));
}
