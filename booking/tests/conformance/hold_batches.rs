//! Concurrent holds that PostgreSQL places together, several per statement
//! (`booking/src/db/place/batch.rs`): whichever holds share a batch, each
//! is placed whole or not at all, each seat has one winner, an admission
//! places one hold and a GA pool is never oversold. SQLite runs the same
//! races through its single writer.

use crate::common::{demo, seats, Backend, TestApp};
use booking::holds::{HoldRequest, HoldView};
use booking::{BookingError, HoldCommit};
use std::collections::HashSet;
use std::sync::Arc;

/// Seat ids of the demo event, ascending (the order a hold takes them in).
async fn seat_ids(app: &TestApp) -> Vec<i64> {
    let mut ids: Vec<i64> = app.seats().await.into_iter().map(|s| s.0).collect();
    ids.sort_unstable();
    ids
}

/// Held seats, as the database has them.
async fn held(app: &TestApp) -> HashSet<i64> {
    app.seats()
        .await
        .into_iter()
        .filter(|(_, s)| s == "held")
        .map(|(id, _)| id)
        .collect()
}

type Placed = Result<HoldView, BookingError>;

/// Runs every request at once, each sent by the admitted fan whose index
/// it carries; answers in request order.
async fn race(app: &Arc<TestApp>, reqs: Vec<(usize, HoldRequest)>) -> Vec<Placed> {
    let fans: Vec<_> = (0..reqs.len()).map(|_| app.admit("demo")).collect();
    let tasks: Vec<_> = reqs
        .into_iter()
        .map(|(fan, req)| {
            let app = app.clone();
            let creds = fans[fan].creds();
            tokio::spawn(async move { app.state.holds().place_hold(&demo(), &creds, &req).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.expect("hold task"));
    }
    out
}

/// 100 fans each want their own free seat and, second in id order, one
/// seat they all want. One wins both; every other hold took its own seat
/// first, found the shared one gone and gave its own seat back.
async fn a_hold_whose_second_seat_is_taken_gets_none(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let ids = seat_ids(&app).await;
    let shared = ids[150];
    let reqs = (0..100).map(|k| (k, seats(&[ids[k], shared]))).collect();
    let results = race(&app, reqs).await;
    let mut winners = Vec::new();
    for (k, result) in results.into_iter().enumerate() {
        match result {
            Ok(hold) => {
                let got: Vec<i64> = hold.seats.iter().map(|s| s.id).collect();
                assert_eq!(got, vec![ids[k], shared]);
                winners.push(ids[k]);
            }
            Err(BookingError::SeatsUnavailable { seats }) => assert_eq!(seats, vec![shared]),
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "one winner for the shared seat");
    let expected: HashSet<i64> = [winners[0], shared].into();
    assert_eq!(
        held(&app).await,
        expected,
        "losers kept none of their seats"
    );
    Arc::into_inner(app).expect("one owner").cleanup().await;
}

/// Fan i wants seats i and i + 1 of a row of 61, all at once: the winners'
/// pairs never overlap, each winner has both seats, each loser none.
async fn overlapping_pairs_one_winner_per_seat(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let ids = seat_ids(&app).await;
    let reqs = (0..60).map(|i| (i, seats(&[ids[i], ids[i + 1]]))).collect();
    let results = race(&app, reqs).await;
    let mut taken = HashSet::new();
    for (i, result) in results.into_iter().enumerate() {
        let want = [ids[i], ids[i + 1]];
        match result {
            Ok(hold) => {
                let got: Vec<i64> = hold.seats.iter().map(|s| s.id).collect();
                assert_eq!(got, want);
                for id in got {
                    assert!(taken.insert(id), "seat {id} held twice");
                }
            }
            Err(BookingError::SeatsUnavailable { seats }) => {
                assert!(!seats.is_empty() && seats.iter().all(|s| want.contains(s)));
            }
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert!(!taken.is_empty());
    assert_eq!(
        held(&app).await,
        taken,
        "the database holds the winners' seats only"
    );
    Arc::into_inner(app).expect("one owner").cleanup().await;
}

/// At once: 40 fans send two holds each with one admission (one places,
/// the other is `token_used` and keeps nothing), and 100 fans want 6 GA
/// places each from a pool of 500 (83 get them, the pool is never
/// oversold).
async fn one_hold_per_admission_and_no_oversold_pool(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let ids = seat_ids(&app).await;
    let mut reqs: Vec<(usize, HoldRequest)> = (0..80).map(|k| (k / 2, seats(&[ids[k]]))).collect();
    let ga = HoldRequest {
        quantity: Some(6),
        ..Default::default()
    };
    reqs.extend((0..100).map(|k| (40 + k, ga.clone())));
    let results = race(&app, reqs).await;
    let (mut seated, mut ga_won, mut ga_refused) = (HashSet::new(), 0, 0);
    for (fan, pair) in results[..80].chunks(2).enumerate() {
        let placed: Vec<&HoldView> = pair.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(placed.len(), 1, "fan {fan}: one hold per admission");
        seated.extend(placed[0].seats.iter().map(|s| s.id));
        let refused = pair.iter().find_map(|r| r.as_ref().err());
        assert!(
            matches!(refused, Some(BookingError::TokenUsed)),
            "fan {fan}: {refused:?}"
        );
    }
    for result in &results[80..] {
        match result {
            Ok(hold) => {
                assert_eq!(hold.quantity, Some(6));
                ga_won += 1;
            }
            Err(BookingError::SeatsUnavailable { seats }) if seats.is_empty() => ga_refused += 1,
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!((ga_won, ga_refused), (83, 17));
    assert_eq!(held(&app).await, seated, "a refused admission kept no seat");
    let map = app.db.catalog().seat_map("demo").await.expect("seat map");
    assert_eq!(map.pools[0].held, 83 * 6);
    Arc::into_inner(app).expect("one owner").cleanup().await;
}

/// Everything but one seat is held at once (seats in sixes, the GA pool
/// of 500 in sixes and a two): the waiting room is not told "sold out";
/// the hold of the last seat tells it, once.
async fn the_last_hold_reports_sold_out(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let catalog = app.db.catalog();
    let ids = seat_ids(&app).await;
    let (last, rest) = ids.split_last().expect("seats");
    let places = |n| HoldRequest {
        quantity: Some(n),
        ..Default::default()
    };
    let mut reqs: Vec<HoldRequest> = rest.chunks(6).map(seats).collect();
    reqs.extend((0..83).map(|_| places(6)));
    reqs.push(places(2));
    let results = race(&app, reqs.into_iter().enumerate().collect()).await;
    assert!(results.iter().all(Result::is_ok), "everything was free");
    assert_eq!(catalog.available("demo").await.expect("available"), 1);
    assert!(!catalog.sold_out("demo").await.expect("sold out?"));
    assert!(app.queue.sold_out_reports().is_empty(), "one seat is left");
    let fan = app.admit("demo");
    app.hold_seats(&fan.creds(), &[*last])
        .await
        .expect("last seat");
    assert!(catalog.sold_out("demo").await.expect("sold out?"));
    assert_eq!(app.queue.sold_out_reports(), vec!["demo".to_owned()]);
    Arc::into_inner(app).expect("one owner").cleanup().await;
}

/// Everything but 20 seats is held; then 20 fans at once each take one of
/// them. Whichever batches they share, the hold that commits last must
/// see every other one committed: the waiting room is told "sold out",
/// once.
async fn the_last_seats_taken_at_once_report_sold_out(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let ids = seat_ids(&app).await;
    let (last, rest) = ids.split_at(ids.len() - 20);
    let mut reqs: Vec<HoldRequest> = rest.chunks(6).map(seats).collect();
    reqs.extend((0..83).map(|_| HoldRequest {
        quantity: Some(6),
        ..Default::default()
    }));
    reqs.push(HoldRequest {
        quantity: Some(2),
        ..Default::default()
    });
    let results = race(&app, reqs.into_iter().enumerate().collect()).await;
    assert!(results.iter().all(Result::is_ok), "everything was free");
    assert!(app.queue.sold_out_reports().is_empty(), "20 seats are left");
    let reqs = last.iter().enumerate().map(|(k, &id)| (k, seats(&[id])));
    let results = race(&app, reqs.collect()).await;
    assert!(results.iter().all(Result::is_ok), "the last 20 were free");
    assert!(app.db.catalog().sold_out("demo").await.expect("sold out?"));
    assert_eq!(app.queue.sold_out_reports(), vec!["demo".to_owned()]);
    Arc::into_inner(app).expect("one owner").cleanup().await;
}

/// One seat is held; then 40 fans at once each want a free seat of their
/// own and one more wants the held seat: the 40 are placed, whichever
/// holds share their batch, and only that one is refused.
async fn only_the_hold_whose_seat_is_taken_is_refused(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let ids = seat_ids(&app).await;
    let first = app.admit("demo");
    app.hold_seats(&first.creds(), &[ids[20]])
        .await
        .expect("a free seat");
    let mut reqs: Vec<(usize, HoldRequest)> = (0..40).map(|k| (k, seats(&[ids[k + 30]]))).collect();
    reqs.insert(17, (40, seats(&[ids[20]])));
    let results = race(&app, reqs).await;
    let mut expected: HashSet<i64> = [ids[20]].into();
    for (i, result) in results.into_iter().enumerate() {
        match (i, result) {
            (17, Err(BookingError::SeatsUnavailable { seats })) => assert_eq!(seats, vec![ids[20]]),
            (17, other) => panic!("the held seat: {other:?}"),
            (_, Ok(hold)) => expected.extend(hold.seats.iter().map(|s| s.id)),
            (_, Err(e)) => panic!("hold {i} of a free seat: {e:?}"),
        }
    }
    assert_eq!(expected.len(), 41);
    assert_eq!(held(&app).await, expected);
    Arc::into_inner(app).expect("one owner").cleanup().await;
}

/// On PostgreSQL the hold workers' sessions commit as `hold_commit` says
/// and the main pool's (checkout, payments, releases) as the server does;
/// a hold placed either way is there for the main pool to see.
async fn holds_commit_as_configured(backend: Backend) {
    for mode in [HoldCommit::Async, HoldCommit::Flushed] {
        let app = TestApp::with(backend, |c| c.hold_commit = mode).await;
        let settings = app.db.synchronous_commit().await.expect("show");
        match (backend, mode, settings) {
            (Backend::Sqlite, _, None) => {}
            (Backend::Postgres, HoldCommit::Async, Some((holds, _))) => assert_eq!(holds, "off"),
            (Backend::Postgres, HoldCommit::Flushed, Some((holds, rest))) => {
                assert_eq!(holds, rest)
            }
            other => panic!("{mode:?} on {backend:?}: {other:?}"),
        }
        let ids = seat_ids(&app).await;
        let fan = app.admit("demo");
        app.hold_seats(&fan.creds(), &[ids[5]])
            .await
            .expect("a free seat");
        assert_eq!(held(&app).await, [ids[5]].into(), "{mode:?}");
        app.cleanup().await;
    }
}

crate::per_backend!(
    holds_commit_as_configured,
    only_the_hold_whose_seat_is_taken_is_refused,
    a_hold_whose_second_seat_is_taken_gets_none,
    overlapping_pairs_one_winner_per_seat,
    one_hold_per_admission_and_no_oversold_pool,
    the_last_hold_reports_sold_out,
    the_last_seats_taken_at_once_report_sold_out,
);
