//! The sold-out waitlist: seats that come back are offered to the fans
//! in line in ticket order, one outstanding offer per free seat; an offer
//! not taken passes on; concurrent returns never offer a seat twice.

use crate::common::{open, visitor, Harness, T0};
use queue::store::{Millis, Tick, VisitorRecord, WaitlistState};
use queue::QueueSettings;
use std::sync::Arc;

/// Fast enough that the rate never limits offers; 100 sessions at most.
fn settings() -> QueueSettings {
    let mut s = open(600_000, 100);
    s.policy.offer_ttl_seconds = 60;
    s
}

async fn waitlist(h: &Harness, who: Option<usize>, now: Millis) -> WaitlistState {
    let who = who.map(visitor);
    h.store
        .waitlist(&h.event, who.as_ref(), now)
        .await
        .expect("waitlist")
}

fn admitted(tick: &Tick) -> Vec<queue::VisitorId> {
    tick.admitted.iter().map(|a| a.visitor.clone()).collect()
}

/// Admits fans `0..sold` normally, then sells out with `0..line` joined.
async fn sold_out_with(h: &Harness, sold: usize, line: usize) {
    h.setup(settings()).await;
    h.join_all(0..sold, T0).await;
    h.tick(T0).await;
    assert_eq!(h.tick(T0 + 1_000).await.admitted.len(), sold);
    // Seats coming back before the sell-out are ordinary stock: ignored.
    h.store.return_seats(&h.event, 5).await.expect("return");
    assert!(h.store.mark_sold_out(&h.event).await.expect("sold out"));
    assert!(
        !h.peer.mark_sold_out(&h.event).await.expect("sold out"),
        "a second report changes nothing"
    );
    h.join_all(sold..line, T0 + 1_500).await;
}

pub async fn a_released_seat_reaches_the_first_waitlisted_fan(h: Harness) {
    sold_out_with(&h, 3, 8).await;
    let tick = h.tick(T0 + 2_000).await;
    assert!(tick.sold_out);
    assert!(tick.admitted.is_empty(), "sold out: nobody is admitted");
    let state = waitlist(&h, None, T0 + 2_000).await;
    assert_eq!((state.sold_out, state.free, state.offers), (true, 0, 0));

    h.peer.return_seats(&h.event, 1).await.expect("return");
    let tick = h.tick(T0 + 3_000).await;
    assert_eq!(admitted(&tick), vec![visitor(3)], "the first in line");
    let offer = &tick.admitted[0];
    assert!(offer.offer);
    assert_eq!(offer.expires_at, T0 + 3_000 + 60_000, "offer_ttl_seconds");
    let mine = waitlist(&h, Some(3), T0 + 3_000).await;
    assert_eq!(mine.offer_expires_at, Some(T0 + 63_000));
    assert_eq!((mine.free, mine.offers), (1, 1));
    assert!(matches!(
        h.store.lookup(&h.event, &visitor(3), T0 + 3_000).await,
        Ok(VisitorRecord::Admitted { expires_at, .. }) if expires_at == T0 + 63_000
    ));
    assert!(
        h.tick(T0 + 4_000).await.admitted.is_empty(),
        "one seat, one offer at a time"
    );

    // The fan holds the seat: it is gone, and so is the offer.
    h.store
        .take_seats(&h.event, &visitor(3), 1)
        .await
        .expect("take");
    let state = waitlist(&h, Some(3), T0 + 4_000).await;
    assert_eq!(
        (state.free, state.offers, state.offer_expires_at),
        (0, 0, None)
    );
    assert!(h.tick(T0 + 5_000).await.admitted.is_empty());

    // Two seats back: the next two fans, in order.
    h.store.return_seats(&h.event, 2).await.expect("return");
    let tick = h.tick(T0 + 6_000).await;
    assert_eq!(admitted(&tick), vec![visitor(4), visitor(5)]);
    assert_eq!(tick.waiting, 2);
}

pub async fn an_unaccepted_offer_passes_to_the_next_fan(h: Harness) {
    sold_out_with(&h, 1, 5).await;
    h.store.return_seats(&h.event, 1).await.expect("return");
    let first = h.tick(T0 + 2_000).await;
    assert_eq!(admitted(&first), vec![visitor(1)]);
    let expires = first.admitted[0].expires_at;
    assert!(h.tick(expires - 1).await.admitted.is_empty());

    // At the offer's expiry its session ends and the seat goes on.
    let next = h.tick(expires).await;
    assert_eq!(admitted(&next), vec![visitor(2)]);
    assert_eq!(
        h.store.lookup(&h.event, &visitor(1), expires).await.ok(),
        Some(VisitorRecord::Finished { ticket: 2 })
    );
    assert_eq!(waitlist(&h, Some(1), expires).await.offer_expires_at, None);

    // An offer given back (the session released) passes on at once.
    assert!(h
        .store
        .release(&h.event, &visitor(2))
        .await
        .expect("release"));
    let after = h.tick(expires + 1_000).await;
    assert_eq!(admitted(&after), vec![visitor(3)]);
    let state = waitlist(&h, None, expires + 1_000).await;
    assert_eq!((state.free, state.offers), (1, 1));
}

pub async fn concurrent_returns_never_offer_a_seat_twice(h: Harness) {
    sold_out_with(&h, 0, 200).await;
    let h = Arc::new(h);
    h.tick(T0 + 2_000).await;

    // 40 seats come back one by one, through both handles, while the
    // admitter ticks; the invariant holds at every tick.
    let returns = (0..40).map(|i| {
        let h = h.clone();
        tokio::spawn(async move {
            let store = if i % 2 == 0 { &h.store } else { &h.peer };
            store.return_seats(&h.event, 1).await.expect("return");
        })
    });
    let returns: Vec<_> = returns.collect();
    let mut offered = Vec::new();
    let mut now = T0 + 3_000;
    for _ in 0..20 {
        let tick = h.tick(now).await;
        offered.extend(admitted(&tick));
        let state = waitlist(&h, None, now).await;
        assert!(state.offers <= state.free, "{state:?}");
        now += 1_000;
        tokio::task::yield_now().await;
    }
    for r in returns {
        r.await.expect("returner");
    }
    offered.extend(admitted(&h.tick(now).await));
    let expected: Vec<_> = (0..40).map(visitor).collect();
    assert_eq!(offered, expected, "each seat once, in ticket order");

    // The offered fans take their seats while 20 more come back.
    let takes = offered.iter().cloned().enumerate().map(|(i, v)| {
        let h = h.clone();
        tokio::spawn(async move {
            let store = if i % 2 == 0 { &h.store } else { &h.peer };
            store.take_seats(&h.event, &v, 1).await.expect("take");
        })
    });
    let takes: Vec<_> = takes.collect();
    let more: Vec<_> = (0..20)
        .map(|_| {
            let h = h.clone();
            tokio::spawn(async move { h.peer.return_seats(&h.event, 1).await.expect("return") })
        })
        .collect();
    for _ in 0..10 {
        now += 1_000;
        let tick = h.tick(now).await;
        offered.extend(admitted(&tick));
        let state = waitlist(&h, None, now).await;
        assert!(state.offers <= state.free, "{state:?}");
        tokio::task::yield_now().await;
    }
    for t in takes.into_iter().chain(more) {
        t.await.expect("task");
    }
    now += 1_000;
    let last = h.tick(now).await;
    offered.extend(admitted(&last));
    let expected: Vec<_> = (0..60).map(visitor).collect();
    assert_eq!(offered, expected, "60 seats came back: 60 offers");
    let state = waitlist(&h, None, now).await;
    assert_eq!((state.free, state.offers), (20, 20));
    assert_eq!(last.active, 60, "the cap (100) was never the limit");
    assert!(h.tick(now + 1_000).await.admitted.is_empty());
}
