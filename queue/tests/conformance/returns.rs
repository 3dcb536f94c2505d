//! Fans who went absent and come back: their ticket is kept for
//! `place_ttl_seconds`, positions stay exact for everyone present, and a
//! fan whose ticket the head passed is admitted first at the next tick.

use crate::common::{open, visitor, Harness, T0};
use queue::engine::view::EventView;
use queue::store::VisitorRecord;
use queue::QueueSettings;

/// Rate 0 (nobody admitted unless a check changes it), grace 10 s.
fn absent_after_10s(place_ttl_seconds: Option<u32>) -> QueueSettings {
    let mut s = QueueSettings {
        departure_grace_seconds: 10,
        ..open(0, 100)
    };
    s.policy.place_ttl_seconds = place_ttl_seconds;
    s
}

/// Visitors 1..=n join at `T0` (ticket i); everyone but `absent` is seen
/// at `T0 + 9 s`, so the tick at `T0 + 10 s` departs only `absent`.
async fn one_goes_absent(h: &Harness, n: usize, absent: usize) {
    h.join_all(1..n + 1, T0).await;
    h.tick(T0).await;
    let present: Vec<_> = (1..=n).filter(|i| *i != absent).map(visitor).collect();
    h.store
        .touch(&h.event, &present, T0 + 9_000)
        .await
        .expect("touch");
    let tick = h.tick(T0 + 10_000).await;
    assert_eq!(tick.departed, vec![absent as u64]);
}

async fn view(h: &Harness) -> EventView {
    EventView::from_snapshot(h.peer.snapshot(&h.event).await.expect("snapshot"))
}

async fn positions(h: &Harness, tickets: &[u64]) -> Vec<u64> {
    let v = view(h).await;
    tickets.iter().map(|t| v.position(*t).position).collect()
}

pub async fn absent_fans_return_to_their_ticket(h: Harness) {
    h.setup(absent_after_10s(None)).await;
    one_goes_absent(&h, 4, 2).await;
    let mut followed = view(&h).await;
    assert_eq!(positions(&h, &[1, 3, 4]).await, vec![1, 2, 3]);
    assert_eq!(
        h.store
            .lookup(&h.event, &visitor(2), T0 + 10_000)
            .await
            .expect("lookup"),
        VisitorRecord::Departed { ticket: 2 }
    );

    // Back after three times the grace: the same ticket, waiting again.
    let back = T0 + 30_000;
    let present: Vec<_> = [1, 3, 4].map(visitor).to_vec();
    h.store
        .touch(&h.event, &present, back)
        .await
        .expect("touch");
    let ticket = h.store.reinstate(&h.event, &visitor(2), back).await;
    assert_eq!(ticket.expect("reinstate"), Some(2));
    assert_eq!(
        h.store
            .lookup(&h.event, &visitor(2), back)
            .await
            .expect("lookup"),
        VisitorRecord::Waiting { ticket: 2 }
    );
    let again = h.store.reinstate(&h.event, &visitor(2), back).await;
    assert_eq!(
        again.expect("reinstate twice"),
        None,
        "only a departed fan returns"
    );
    let join = h.join(2, back).await;
    assert_eq!(
        (join.ticket, join.fresh, join.reinstated),
        (2, false, false)
    );

    let tick = h.tick(back + 1).await;
    assert_eq!(
        (tick.reinstated.clone(), tick.departed.clone()),
        (vec![2], vec![])
    );
    assert_eq!((tick.waiting, tick.returning), (4, 0));
    assert!(
        h.tick(back + 2).await.reinstated.is_empty(),
        "reported once"
    );
    // A node following the ticks and one loading a snapshot agree.
    followed.apply(&tick);
    assert_eq!(positions(&h, &[1, 2, 3, 4]).await, vec![1, 2, 3, 4]);
    let followed: Vec<u64> = [1, 2, 3, 4].map(|t| followed.position(t).position).to_vec();
    assert_eq!(followed, vec![1, 2, 3, 4]);
    assert!(h
        .peer
        .snapshot(&h.event)
        .await
        .expect("snapshot")
        .departed
        .is_empty());

    // Coming back through `join` works the same way.
    h.store
        .touch(
            &h.event,
            &[visitor(1), visitor(2), visitor(4)],
            back + 9_000,
        )
        .await
        .expect("touch");
    let tick = h.tick(back + 10_000).await;
    assert_eq!(tick.departed, vec![3]);
    let join = h.join(3, back + 60_000).await;
    assert_eq!((join.ticket, join.fresh, join.reinstated), (3, false, true));
}

pub async fn returners_the_head_passed_are_admitted_first(h: Harness) {
    h.setup(absent_after_10s(None)).await;
    one_goes_absent(&h, 5, 2).await;
    // One a second from now on: 1 then 3 are admitted, the head passes 2.
    let mut settings = absent_after_10s(None);
    settings.admit_per_minute = 60;
    h.store
        .put_settings(&h.event, &settings)
        .await
        .expect("settings");
    assert_eq!(h.tick(T0 + 11_000).await.admitted[0].ticket, 1);
    let tick = h.tick(T0 + 12_000).await;
    assert_eq!((tick.admitted[0].ticket, tick.head), (3, 3));

    let back = T0 + 12_500;
    assert_eq!(
        h.store
            .reinstate(&h.event, &visitor(2), back)
            .await
            .expect("reinstate"),
        Some(2)
    );
    let snapshot = h.peer.snapshot(&h.event).await.expect("snapshot");
    assert_eq!(
        (snapshot.returning, snapshot.waiting, snapshot.head),
        (1, 3, 3)
    );
    // The returner goes first, so 4 and 5 each have one more ahead.
    assert_eq!(positions(&h, &[2, 4, 5]).await, vec![1, 2, 3]);

    h.store
        .touch(&h.event, &[visitor(4), visitor(5)], back)
        .await
        .expect("touch");
    let tick = h.tick(T0 + 13_000).await;
    let admitted: Vec<u64> = tick.admitted.iter().map(|a| a.ticket).collect();
    assert_eq!((admitted, tick.head, tick.returning), (vec![2], 3, 0));
    assert_eq!(positions(&h, &[4, 5]).await, vec![1, 2]);
    assert_eq!(h.tick(T0 + 14_000).await.admitted[0].ticket, 4);
}

pub async fn a_place_is_kept_only_for_place_ttl(h: Harness) {
    h.setup(absent_after_10s(Some(20))).await;
    one_goes_absent(&h, 3, 2).await;
    // Departed at +10 s; kept until +30 s (exclusive).
    let late = T0 + 30_000;
    assert_eq!(
        h.store
            .reinstate(&h.event, &visitor(2), late)
            .await
            .expect("reinstate"),
        None
    );
    let join = h.join(2, late).await;
    assert_eq!((join.ticket, join.fresh, join.reinstated), (4, true, false));

    // 0 keeps nothing: the old behaviour, a new ticket at the back.
    h.store
        .put_settings(&h.event, &absent_after_10s(Some(0)))
        .await
        .expect("settings");
    h.store
        .touch(
            &h.event,
            &[visitor(1), visitor(2), visitor(3)],
            late + 9_000,
        )
        .await
        .expect("touch");
    h.join(5, late).await;
    assert_eq!(h.tick(late + 10_000).await.departed, vec![5]);
    assert_eq!(
        h.store
            .reinstate(&h.event, &visitor(5), late + 10_001)
            .await
            .expect("reinstate"),
        None
    );
    assert_eq!(h.join(5, late + 10_001).await.ticket, 6);
}

pub async fn leaving_gives_the_place_up(h: Harness) {
    h.setup(absent_after_10s(None)).await;
    h.join_all(1..4, T0).await;
    assert!(h.store.leave(&h.event, &visitor(2)).await.expect("leave"));
    assert_eq!(
        h.store
            .reinstate(&h.event, &visitor(2), T0 + 1)
            .await
            .expect("reinstate"),
        None
    );
    assert_eq!(h.tick(T0 + 2).await.departed, vec![2]);
    let join = h.join(2, T0 + 3).await;
    assert_eq!((join.ticket, join.fresh, join.reinstated), (4, true, false));
    // Unknown visitors and events have no kept place either.
    assert_eq!(
        h.store
            .reinstate(&h.event, &visitor(99), T0)
            .await
            .expect("reinstate"),
        None
    );
    let other = queue::EventId::parse(&format!("{}-none", h.event)).expect("event id");
    assert!(h.store.reinstate(&other, &visitor(1), T0).await.is_err());
}

pub async fn a_return_then_a_leave_ends_departed(h: Harness) {
    h.setup(absent_after_10s(None)).await;
    one_goes_absent(&h, 3, 2).await;
    let mut followed = view(&h).await;
    assert_eq!(
        h.store
            .reinstate(&h.event, &visitor(2), T0 + 15_000)
            .await
            .expect("reinstate"),
        Some(2)
    );
    assert!(h.store.leave(&h.event, &visitor(2)).await.expect("leave"));
    h.store
        .touch(&h.event, &[visitor(1), visitor(3)], T0 + 15_000)
        .await
        .expect("touch");
    let tick = h.tick(T0 + 16_000).await;
    assert_eq!(
        (tick.reinstated.clone(), tick.departed.clone()),
        (vec![2], vec![2])
    );
    followed.apply(&tick);
    assert_eq!(followed.position(3).position, 2);
    assert_eq!(positions(&h, &[3]).await, vec![2]);
    assert_eq!(
        h.peer.snapshot(&h.event).await.expect("snapshot").departed,
        vec![2]
    );
}
