//! The operators' side: event edits and publishing, the sales summary and
//! order export, and cancelling a sale (refunds, releases, emails, and no
//! hold slipping in while it runs).

use crate::common::{seats, Backend, TestApp};
use crate::payments::{hold_and_checkout, payment_of, status};
use booking::db::{EventChanges, HoldSeatReq, NewHold, PlaceOutcome, SettleOutcome};
use booking::sales::CSV_HEADER;

/// Three fans: one paid for two seats, one pays later, one only holds.
struct Sale {
    paid: String,
    paid_total: i64,
    pending: String,
    held_seat: i64,
}

async fn sell(app: &TestApp) -> Sale {
    let ids: Vec<i64> = app.seats().await.iter().take(4).map(|s| s.0).collect();
    let (a, b, c) = (app.admit("demo"), app.admit("demo"), app.admit("demo"));
    let (hold, paid) = hold_and_checkout(app, &a, &ids[..2]).await;
    let payment = payment_of(app, &paid.order_id).await;
    app.state
        .payments()
        .payment_succeeded(&payment, None)
        .await
        .unwrap();
    let (_, pending) = hold_and_checkout(app, &b, &ids[2..3]).await;
    app.hold_seats(&c.creds(), &[ids[3]]).await.unwrap();
    Sale {
        paid: paid.order_id,
        paid_total: hold.total,
        pending: pending.order_id,
        held_seat: ids[3],
    }
}

/// The summary counts what was sold, held and paid; the export lists
/// every order once, in pages, with its lines.
async fn summary_and_export(backend: Backend) {
    let app = TestApp::new(backend).await;
    let before = app.state.sales().sales_summary("demo").await.unwrap();
    assert_eq!((before.sold, before.held, before.revenue), (0, 0, 0));
    let capacity = before.capacity;
    assert_eq!(before.available, capacity);
    let sale = sell(&app).await;
    let s = app.state.sales().sales_summary("demo").await.unwrap();
    assert_eq!((s.sold, s.held, s.active_holds), (2, 2, 2));
    assert_eq!(s.available, capacity - 4);
    assert_eq!((s.orders.confirmed, s.orders.pending), (1, 1));
    assert_eq!((s.revenue, s.refunded), (sale.paid_total, 0));
    assert_eq!(
        app.state
            .sales()
            .sales_summary("nope")
            .await
            .unwrap_err()
            .status(),
        404
    );

    let (csv, next) = app.state.sales().export_page("demo", None).await.unwrap();
    assert!(next.is_none());
    let rows: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let paid_row = rows.iter().find(|r| r.starts_with(&sale.paid)).unwrap();
    let fields: Vec<&str> = paid_row.split(',').collect();
    assert_eq!(fields.len(), CSV_HEADER.split(',').count(), "{paid_row}");
    assert_eq!(fields[2], "confirmed");
    assert_eq!(fields[3], "fan@example.com");
    assert_eq!(fields[6], "2", "two places: {paid_row}");
    let total = format!("{}.{:02}", sale.paid_total / 100, sale.paid_total % 100);
    assert_eq!(fields[8], total);
    assert_eq!(
        (fields[15], fields[16]),
        ("2", "0"),
        "two tickets, none checked in: {paid_row}"
    );
    assert_eq!((s.checkins.sold, s.checkins.arrived), (2, 0));

    // Keyset pages of one: each order once, lines only of its own page.
    let sales = app.db.sales();
    let (first, lines) = sales.export_orders("demo", None, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(lines.iter().all(|l| l.order_id == first[0].id));
    let cursor = (first[0].created_at, first[0].id.clone());
    let (second, lines) = sales.export_orders("demo", Some(&cursor), 1).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].id, first[0].id);
    assert!(lines.iter().all(|l| l.order_id == second[0].id));
    let cursor = (second[0].created_at, second[0].id.clone());
    let (third, _) = sales.export_orders("demo", Some(&cursor), 1).await.unwrap();
    assert!(third.is_empty());
    app.cleanup().await;
}

/// A draft is invisible until published; a cancelled event cannot change.
async fn publish_and_edit(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut seed = booking::db::seed::demo_catalog(booking::state::now());
    seed.event_id = "draft-one".to_owned();
    seed.status = "draft".to_owned();
    assert!(app.db.catalog().insert_catalog(&seed).await.unwrap());
    assert_eq!(
        app.state
            .catalog()
            .published_event("draft-one")
            .await
            .unwrap_err()
            .status(),
        404
    );
    // A draft's seat map can be replaced whole; the event keeps its id.
    let tiers = vec![("Only".to_owned(), 1_000)];
    let sections = vec![booking::db::SeedSection {
        name: "Floor".to_owned(),
        rows: Vec::new(),
        general: Some((50, 0)),
    }];
    app.state
        .sales()
        .replace_seat_map("draft-one", &tiers, &sections)
        .await
        .unwrap();
    let s = app.state.sales().sales_summary("draft-one").await.unwrap();
    assert_eq!(s.capacity, 50, "only the new map's places");
    let published = app.state.sales().publish_event("draft-one").await.unwrap();
    assert_eq!(published.status, "published");
    assert!(app
        .state
        .catalog()
        .published_event("draft-one")
        .await
        .is_ok());
    let again = app
        .state
        .sales()
        .publish_event("draft-one")
        .await
        .unwrap_err();
    assert_eq!(
        (again.status().as_u16(), again.code()),
        (409, "not_a_draft")
    );
    let on_sale = app
        .state
        .sales()
        .replace_seat_map("draft-one", &tiers, &sections)
        .await
        .unwrap_err();
    assert_eq!(
        (on_sale.status().as_u16(), on_sale.code()),
        (409, "not_a_draft")
    );
    assert_eq!(
        app.state
            .sales()
            .sales_summary("draft-one")
            .await
            .unwrap()
            .capacity,
        50
    );
    let changes = EventChanges {
        name: Some("Renamed".to_owned()),
        ..Default::default()
    };
    let edited = app
        .state
        .sales()
        .update_event("draft-one", &changes)
        .await
        .unwrap();
    assert_eq!(edited.name, "Renamed");
    assert_eq!(
        edited.description, seed.description,
        "unchanged fields stay"
    );
    app.state
        .sales()
        .cancel_event("draft-one", "")
        .await
        .unwrap();
    let err = app
        .state
        .sales()
        .update_event("draft-one", &changes)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.code()),
        (409, "event_cancelled")
    );
    let err = app
        .state
        .sales()
        .update_event("nope", &changes)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    app.cleanup().await;
}

/// Cancelling refunds the paid order (and emails its buyer), cancels the
/// unpaid one, releases the bare hold and frees every seat; a payment that
/// lands afterwards is refunded; cancelling again changes nothing.
async fn cancel_event_refunds_and_releases(backend: Backend) {
    let app = TestApp::new(backend).await;
    let sale = sell(&app).await;
    let report = app
        .state
        .sales()
        .cancel_event("demo", "Venue flooded")
        .await
        .unwrap();
    assert!(report.newly_cancelled);
    assert_eq!(
        (
            report.refunded,
            report.pending_cancelled,
            report.holds_released
        ),
        (1, 1, 1)
    );
    assert!(report.refund_failed.is_empty());
    assert_eq!(status(&app, &sale.paid).await, "cancelled");
    assert_eq!(status(&app, &sale.pending).await, "cancelled");
    assert_eq!(payment_of(&app, &sale.paid).await.status, "refunded");
    assert!(app.seats().await.iter().all(|(_, s)| s == "available"));
    let s = app.state.sales().sales_summary("demo").await.unwrap();
    assert_eq!((s.sold, s.held, s.active_holds, s.revenue), (0, 0, 0, 0));
    assert_eq!(s.refunded, sale.paid_total);
    // One hold per fan told the queue its session ended (3 fans).
    assert_eq!(app.queue.releases().len(), 3);

    let notice = app.queued_emails("event_cancelled").await;
    assert_eq!(notice.len(), 1, "one buyer to tell");
    assert_eq!(notice[0].recipient, "fan@example.com");
    assert!(notice[0].body_text.contains("Venue flooded"));

    // The fan who had not paid pays now: refunded, never confirmed.
    let late = payment_of(&app, &sale.pending).await;
    let outcome = app
        .state
        .payments()
        .payment_succeeded(&late, None)
        .await
        .unwrap();
    assert_eq!(outcome, SettleOutcome::RefundDue);
    assert_eq!(status(&app, &sale.pending).await, "refunded");
    let again = app.state.sales().cancel_event("demo", "").await.unwrap();
    assert!(!again.newly_cancelled);
    assert_eq!((again.refunded, again.holds_released), (0, 0));

    // The database refuses a hold on the cancelled event, whatever a
    // stale cache said.
    let fan = app.admit("demo");
    let at = booking::state::now();
    let hold = NewHold {
        id: "hold_after_cancel".to_owned(),
        event_id: "demo".to_owned(),
        visitor_id: fan.visitor.clone(),
        session_hash: "x".to_owned(),
        jti: "jti_after_cancel".to_owned(),
        seats: vec![HoldSeatReq {
            seat_id: sale.held_seat,
            price: 0,
        }],
        ga: None,
        total: 0,
        currency: "usd".to_owned(),
        now: at,
        expires_at: at + chrono::Duration::seconds(60),
    };
    let placed = app.db.holds().place(&hold).await.unwrap();
    assert_eq!(placed, PlaceOutcome::EventClosed);
    let err = app
        .hold_seats(&fan.creds(), &[sale.held_seat])
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404, "a cancelled event is not on sale");
    app.cleanup().await;
}

/// Holds racing a cancellation: each either commits before the cancel
/// (and is then released by it) or is refused. None is left active. Five
/// events, so the race is run five times.
async fn cancel_racing_holds_leaves_nothing_held(backend: Backend) {
    let app = std::sync::Arc::new(TestApp::new(backend).await);
    for round in 0..5 {
        let event = format!("race-{round}");
        let mut seed = booking::db::seed::demo_catalog(booking::state::now());
        seed.event_id = event.clone();
        assert!(app.db.catalog().insert_catalog(&seed).await.unwrap());
        let map = app.db.catalog().seat_map(&event).await.unwrap();
        let mut tasks = Vec::new();
        for seat in map.seats.iter().take(40) {
            let (app, event, id) = (app.clone(), event.clone(), seat.id);
            tasks.push(tokio::spawn(async move {
                let fan = app.admit(&event);
                let event = queue::EventId::parse(&event).unwrap();
                app.state
                    .holds()
                    .place_hold(&event, &fan.creds(), &seats(&[id]))
                    .await
                    .is_ok()
            }));
        }
        let canceller = {
            let (app, event) = (app.clone(), event.clone());
            tokio::spawn(async move { app.state.sales().cancel_event(&event, "").await.unwrap() })
        };
        let mut placed = 0;
        for t in tasks {
            placed += u64::from(t.await.unwrap());
        }
        let report = canceller.await.unwrap();
        assert_eq!(
            report.holds_released, placed,
            "{event}: every placed hold released"
        );
        let s = app.state.sales().sales_summary(&event).await.unwrap();
        assert_eq!((s.held, s.active_holds), (0, 0), "{event}");
    }
    if let Ok(app) = std::sync::Arc::try_unwrap(app) {
        app.cleanup().await;
    }
}

/// Eight operators create the same event at once: one gets it, the others
/// are told it exists, and exactly one venue and seat map are left.
async fn concurrent_creates_have_one_winner(backend: Backend) {
    let app = std::sync::Arc::new(TestApp::new(backend).await);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut seed = booking::db::seed::demo_catalog(booking::state::now());
                seed.event_id = "twice".to_owned();
                app.state.sales().create_event(&seed).await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if task.await.expect("task").expect("no error, only a refusal") {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    let map = app.db.catalog().seat_map("twice").await.unwrap();
    let single = booking::db::seed::demo_catalog(booking::state::now());
    assert_eq!(
        map.sections.len(),
        single.sections.len(),
        "one seat map, not one per attempt"
    );
    assert!(!map.seats.is_empty());
    if let Ok(app) = std::sync::Arc::try_unwrap(app) {
        app.cleanup().await;
    }
}

crate::per_backend!(
    concurrent_creates_have_one_winner,
    summary_and_export,
    publish_and_edit,
    cancel_event_refunds_and_releases,
    cancel_racing_holds_leaves_nothing_held,
);
