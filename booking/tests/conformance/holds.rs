//! Holds: contention, all-or-nothing, expiry, token rules.

use crate::common::{demo, seats, Backend, TestApp};
use booking::holds::HoldRequest;
use booking::{BookingError, Credentials};
use rand::seq::SliceRandom;
use std::collections::HashSet;
use std::sync::Arc;

/// 10,000 distinct admitted fans race for one seat: exactly one wins, every
/// other attempt is a 409 naming that seat, and no other seat changes.
async fn ten_thousand_fans_one_seat(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let before = app.seats().await;
    let seat = before[0].0;
    let fans: Vec<_> = (0..10_000).map(|_| app.admit("demo")).collect();
    let started = std::time::Instant::now();
    let tasks: Vec<_> = fans
        .into_iter()
        .map(|fan| {
            let app = app.clone();
            tokio::spawn(async move {
                app.state
                    .holds()
                    .place_hold(&demo(), &fan.creds(), &seats(&[seat]))
                    .await
            })
        })
        .collect();
    let mut won = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(BookingError::SeatsUnavailable { seats }) => {
                assert_eq!(seats, vec![seat]);
                refused += 1;
            }
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    eprintln!(
        "{backend:?}: 10,000 attempts on one seat in {:?}",
        started.elapsed()
    );
    assert_eq!((won, refused), (1, 9_999));
    let after = app.seats().await;
    for ((id, was), (_, now)) in before.iter().zip(&after) {
        let expected = if *id == seat { "held" } else { was.as_str() };
        assert_eq!(now, expected, "seat {id}");
    }
    Arc::into_inner(app).unwrap().cleanup().await;
}

/// 200 fans each hold 5 random seats out of 40: no seat is held twice and
/// each hold got all its seats or none.
async fn overlapping_holds_all_or_nothing(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let pool: Vec<i64> = app.seats().await.iter().take(40).map(|s| s.0).collect();
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let app = app.clone();
            let mut want: Vec<i64> = pool
                .choose_multiple(&mut rand::thread_rng(), 5)
                .copied()
                .collect();
            want.shuffle(&mut rand::thread_rng());
            let fan = app.admit("demo");
            tokio::spawn(async move {
                let r = app
                    .state
                    .holds()
                    .place_hold(&demo(), &fan.creds(), &seats(&want))
                    .await;
                (want, r)
            })
        })
        .collect();
    let mut held = HashSet::new();
    let mut wins = 0;
    for task in tasks {
        let (want, result) = task.await.unwrap();
        match result {
            Ok(hold) => {
                wins += 1;
                let got: HashSet<i64> = hold.seats.iter().map(|s| s.id).collect();
                assert_eq!(got, want.iter().copied().collect::<HashSet<_>>());
                let detail = app.db.holds().get(&hold.hold_id).await.unwrap().unwrap();
                assert_eq!(detail.seats.len(), 5);
                for id in got {
                    assert!(held.insert(id), "seat {id} held twice");
                }
            }
            Err(BookingError::SeatsUnavailable { seats }) => {
                assert!(!seats.is_empty() && seats.iter().all(|s| want.contains(s)));
            }
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert!(wins >= 1);
    let now_held: HashSet<i64> = app
        .seats()
        .await
        .into_iter()
        .filter(|(_, s)| s == "held")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        now_held, held,
        "database held seats match the successful holds"
    );
    Arc::into_inner(app).unwrap().cleanup().await;
}

/// An expired hold gives its seats back and ends the admitted session.
async fn expiry_returns_seats_and_releases(backend: Backend) {
    let app = TestApp::with(backend, |c| c.hold_ttl_seconds = 1).await;
    let ids: Vec<i64> = app.seats().await.iter().take(2).map(|s| s.0).collect();
    let fan = app.admit("demo");
    app.state
        .holds()
        .place_hold(&demo(), &fan.creds(), &seats(&ids))
        .await
        .unwrap();
    assert_eq!(
        app.state.holds().sweep_expired_holds().await.unwrap(),
        0,
        "not yet due"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    assert_eq!(app.state.holds().sweep_expired_holds().await.unwrap(), 1);
    assert_eq!(app.state.holds().sweep_expired_holds().await.unwrap(), 0);
    let all = app.seats().await;
    assert!(all.iter().all(|(_, s)| s == "available"));
    assert_eq!(
        app.queue.releases(),
        vec![("demo".to_owned(), fan.visitor.clone())]
    );
    app.cleanup().await;
}

/// One admission, one hold: reuse is 409 and changes nothing.
async fn token_reuse_is_409(backend: Backend) {
    let app = TestApp::new(backend).await;
    let all = app.seats().await;
    let fan = app.admit("demo");
    app.state
        .holds()
        .place_hold(&demo(), &fan.creds(), &seats(&[all[0].0]))
        .await
        .unwrap();
    let before = app.seats().await;
    let again = app
        .state
        .holds()
        .place_hold(&demo(), &fan.creds(), &seats(&[all[1].0]))
        .await;
    assert!(matches!(again, Err(BookingError::TokenUsed)), "{again:?}");
    assert_eq!(again.unwrap_err().status().as_u16(), 409);
    assert_eq!(app.seats().await, before);
    app.cleanup().await;
}

/// Wrong session 403, no token 401, bad token 401; nothing changes.
async fn refusals_change_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let before = app.seats().await;
    let req = seats(&[before[0].0, before[1].0]);
    let (a, b) = (app.admit("demo"), app.admit("demo"));
    let stolen = Credentials::with_queue_token(a.creds().bearer, b.queue_token.clone());
    let err = app
        .state
        .holds()
        .place_hold(&demo(), &stolen, &req)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.code()),
        (403, "token_wrong_session")
    );
    let mut anonymous = a.creds();
    anonymous.bearer = None;
    let err = app
        .state
        .holds()
        .place_hold(&demo(), &anonymous, &req)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.code()),
        (401, "admission_required")
    );
    let mut forged = a.creds();
    forged.bearer = Some(format!("{}x", a.token));
    let err = app
        .state
        .holds()
        .place_hold(&demo(), &forged, &req)
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 401, "{err:?}");
    let err = app
        .state
        .holds()
        .place_hold(&demo(), &a.creds(), &seats(&[1, 2, 3, 4, 5, 6, 7]))
        .await
        .unwrap_err();
    assert_eq!((err.status().as_u16(), err.code()), (422, "too_many_seats"));
    let zero = HoldRequest {
        quantity: Some(0),
        ..Default::default()
    };
    let err = app
        .state
        .holds()
        .place_hold(&demo(), &a.creds(), &zero)
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 422);
    let err = app
        .state
        .holds()
        .place_hold(&demo(), &a.creds(), &seats(&[999_999]))
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 422);
    assert_eq!(app.seats().await, before);
    // The same token still works after all those refusals.
    app.state
        .holds()
        .place_hold(&demo(), &a.creds(), &req)
        .await
        .unwrap();
    app.cleanup().await;
}

/// Only the owner's session may release; release frees seats and the slot.
async fn release_by_owner_only(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids: Vec<i64> = app.seats().await.iter().take(3).map(|s| s.0).collect();
    let (a, b) = (app.admit("demo"), app.admit("demo"));
    let hold = app
        .state
        .holds()
        .place_hold(&demo(), &a.creds(), &seats(&ids))
        .await
        .unwrap();
    assert_eq!(hold.total, 3 * 8900);
    let err = app
        .state
        .holds()
        .release_hold(&hold.hold_id, &b.session())
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 403);
    app.state
        .holds()
        .release_hold(&hold.hold_id, &a.session())
        .await
        .unwrap();
    assert!(app.seats().await.iter().all(|(_, s)| s == "available"));
    assert_eq!(app.queue.releases().len(), 1);
    let err = app
        .state
        .holds()
        .release_hold(&hold.hold_id, &a.session())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "hold_not_active");
    app.cleanup().await;
}

/// General admission: counted places, never oversold.
async fn general_admission_pool(backend: Backend) {
    let app = TestApp::new(backend).await;
    let fan = app.admit("demo");
    let req = HoldRequest {
        quantity: Some(4),
        ..Default::default()
    };
    let hold = app
        .state
        .holds()
        .place_hold(&demo(), &fan.creds(), &req)
        .await
        .unwrap();
    assert_eq!((hold.quantity, hold.total), (Some(4), 4 * 4900));
    let map = app.db.catalog().seat_map("demo").await.unwrap();
    assert_eq!(map.pools[0].held, 4);
    app.state
        .holds()
        .release_hold(&hold.hold_id, &fan.session())
        .await
        .unwrap();
    let map = app.db.catalog().seat_map("demo").await.unwrap();
    assert_eq!(map.pools[0].held, 0);
    app.cleanup().await;
}

/// What is left to sell, counted in the database, is what the seat map
/// shows as free: the waitlist's "sold out" is decided by it.
async fn available_counts_free_seats_and_places(backend: Backend) {
    let app = TestApp::new(backend).await;
    let catalog = app.db.catalog();
    let from_map = |map: &booking::db::SeatMapData| {
        let seats = map.seats.iter().filter(|s| s.status == "available").count() as i64;
        seats
            + map
                .pools
                .iter()
                .map(|p| p.capacity - p.held - p.sold)
                .sum::<i64>()
    };
    let before = catalog.available("demo").await.unwrap();
    assert_eq!(before, from_map(&catalog.seat_map("demo").await.unwrap()));
    assert!(before > 4);
    let fan = app.admit("demo");
    let req = HoldRequest {
        quantity: Some(4),
        ..Default::default()
    };
    app.state
        .holds()
        .place_hold(&demo(), &fan.creds(), &req)
        .await
        .unwrap();
    assert_eq!(catalog.available("demo").await.unwrap(), before - 4);
    assert_eq!(catalog.available("no-such-event").await.unwrap(), 0);
    app.cleanup().await;
}

crate::per_backend!(
    available_counts_free_seats_and_places,
    ten_thousand_fans_one_seat,
    overlapping_holds_all_or_nothing,
    expiry_returns_seats_and_releases,
    token_reuse_is_409,
    refusals_change_nothing,
    release_by_owner_only,
    general_admission_pool,
);

/// With Redis configured, seat locks shed contention before the database;
/// the outcome is the same: one winner, everyone else 409.
async fn redis_locks_shed_contention(backend: Backend) {
    let redis =
        std::env::var("WR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let app =
        Arc::new(TestApp::with(backend, |c| c.redis_url = Some(booking::Secret::new(redis))).await);
    let seat = app.seats().await[5].0;
    let tasks: Vec<_> = (0..2_000)
        .map(|_| {
            let app = app.clone();
            let fan = app.admit("demo");
            tokio::spawn(async move {
                app.state
                    .holds()
                    .place_hold(&demo(), &fan.creds(), &seats(&[seat]))
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(BookingError::SeatsUnavailable { seats }) => assert_eq!(seats, vec![seat]),
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let held: Vec<i64> = app
        .seats()
        .await
        .into_iter()
        .filter(|(_, s)| s == "held")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(held, vec![seat]);
    Arc::into_inner(app).unwrap().cleanup().await;
}

mod with_redis {
    use super::*;
    crate::per_backend!(redis_locks_shed_contention);
}
